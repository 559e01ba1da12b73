"""Promotion factories for tests: built through the service, as staff would."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from app.auth.actor import SYSTEM
from app.db import Database
from app.models.promotions import Promotion, PromotionRedemption
from app.services.promotions import PromotionSpec, create_promotion


async def make_promotion(
    database: Database, *, code: str = "SAVE10", type: str = "percentage_off_order", **fields: Any
) -> Promotion:
    fields.setdefault("name", code.title())
    if type in ("percentage_off_order", "percentage_off_items", "fixed_amount_off_order"):
        fields.setdefault("value", 10)
    async with database.unit_of_work() as uow:
        row = await create_promotion(
            uow, SYSTEM, code=code, spec=PromotionSpec(type=type, **fields)
        )
        await uow.commit()
    return row


async def redeem(database: Database, promotion: Promotion, *, customer_id: str | None) -> None:
    """A redemption as checkout will write it (one per order)."""
    async with database.unit_of_work() as uow:
        uow.session.add(
            PromotionRedemption(
                promotion_id=promotion.id, order_id=f"order-{customer_id}", customer_id=customer_id
            )
        )
        await uow.commit()


async def set_usage_count(database: Database, promotion: Promotion, count: int) -> None:
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Promotion).where(Promotion.id == promotion.id).values(usage_count=count)
        )
        await uow.commit()
