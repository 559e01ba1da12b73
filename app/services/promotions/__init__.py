"""Promotions: discount codes, their rules, and what they give a cart.

Records (create, update, deactivate, list) live in `records`, the definition's checks in
`rules`, and what a code gives a cart in `evaluation`; the names callers need are here.
"""

from app.services.promotions.evaluation import (
    REASONS,
    CartContext,
    CartLine,
    Evaluation,
    LineDiscount,
    LineItem,
    Validation,
    can_combine,
    evaluate,
    validate_code,
)
from app.services.promotions.records import (
    create_promotion,
    deactivate_promotion,
    get_promotion,
    list_promotions,
    update_promotion,
)
from app.services.promotions.rules import PromotionSpec

__all__ = [
    "REASONS",
    "CartContext",
    "CartLine",
    "Evaluation",
    "LineDiscount",
    "LineItem",
    "PromotionSpec",
    "Validation",
    "can_combine",
    "create_promotion",
    "deactivate_promotion",
    "evaluate",
    "get_promotion",
    "list_promotions",
    "update_promotion",
    "validate_code",
]
