"""The one schema: each domain's queries, mutations and subscriptions merged here."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import strawberry
from graphql import ASTValidationRule, MaxIntrospectionDepthRule
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from app.config import Settings
from app.resolvers.aftercare import AftercareMutations, AftercareQueries
from app.resolvers.analytics import AnalyticsQueries
from app.resolvers.apikeys import ApiKeyMutations, ApiKeyQueries
from app.resolvers.audit import AuditQueries
from app.resolvers.auth import AuthMutations, AuthQueries
from app.resolvers.carts import CartMutations, CartQueries
from app.resolvers.catalog.mutations import CatalogMutations
from app.resolvers.catalog.queries import CatalogQueries
from app.resolvers.compiled import CompiledExecutor
from app.resolvers.cost import cost_analysis
from app.resolvers.customers import CustomerMutations, CustomerQueries
from app.resolvers.errors import ErrorCodes
from app.resolvers.events import EventSubscriptions
from app.resolvers.inventory import InventoryMutations, InventoryQueries
from app.resolvers.jobs import JobMutations, JobQueries
from app.resolvers.ledger import LedgerMutations, LedgerQueries
from app.resolvers.limits import document_limits
from app.resolvers.logs import LogQueries
from app.resolvers.marketplace import MarketplaceMutations, MarketplaceQueries
from app.resolvers.me import MeMutations, MeQueries
from app.resolvers.media import MediaMutations, MediaQueries
from app.resolvers.notifications import NotificationMutations, NotificationQueries
from app.resolvers.oauth import OAuthClientMutations, OAuthClientQueries
from app.resolvers.orders import OrderMutations, OrderQueries
from app.resolvers.platform import PlatformQueries
from app.resolvers.pricing import PricingMutations, PricingQueries
from app.resolvers.promotions import PromotionMutations, PromotionQueries
from app.resolvers.scalars import SCALAR_MAP
from app.resolvers.search import SearchQueries
from app.resolvers.users import UserMutations, UserQueries
from app.resolvers.vendor_documents import VendorDocumentMutations, VendorDocumentQueries
from app.resolvers.webhooks import WebhookMutations, WebhookQueries

CACHE_SIZE = 1024


@strawberry.type(description="The root of every read.")
class Query(
    PlatformQueries,
    ApiKeyQueries,
    OAuthClientQueries,
    AuditQueries,
    CatalogQueries,
    InventoryQueries,
    PricingQueries,
    CustomerQueries,
    CartQueries,
    PromotionQueries,
    OrderQueries,
    UserQueries,
    AuthQueries,
    MeQueries,
    LogQueries,
    JobQueries,
    WebhookQueries,
    NotificationQueries,
    AnalyticsQueries,
    SearchQueries,
    MarketplaceQueries,
    LedgerQueries,
    AftercareQueries,
    VendorDocumentQueries,
    MediaQueries,
):
    pass


@strawberry.type(description="The root of every write.")
class Mutation(
    ApiKeyMutations,
    OAuthClientMutations,
    CatalogMutations,
    InventoryMutations,
    PricingMutations,
    CustomerMutations,
    CartMutations,
    PromotionMutations,
    OrderMutations,
    UserMutations,
    AuthMutations,
    MeMutations,
    JobMutations,
    WebhookMutations,
    NotificationMutations,
    MarketplaceMutations,
    LedgerMutations,
    AftercareMutations,
    VendorDocumentMutations,
    MediaMutations,
):
    pass


@strawberry.type(description="The root of every stream.")
class Subscription(EventSubscriptions):
    pass


class CartographSchema(strawberry.Schema):
    def process_errors(self, errors: list[Any], execution_context: Any = None) -> None:
        """Expected errors are answers, not incidents: `ErrorCodes` logs the unexpected ones."""


@cache
def build_schema(
    *,
    max_depth: int = 12,
    max_aliases: int = 30,
    max_tokens: int = 5000,
    introspection: bool = True,
    max_cost: int = 5000,
    max_list_length: int = 100,
    compiled: bool = True,
) -> strawberry.Schema:
    """Build once per set of limits.

    The limit rules are made here, once: the validation cache is keyed by the rules, so rules
    built per request would make every request miss it. `compiled` completes plain subtrees
    by plan (`app.resolvers.compiled`); without it, graphql-core completes every field.
    """
    rules: tuple[type[ASTValidationRule], ...] = (
        # The depth limit skips introspection fields; this bounds `__type { fields { type...`.
        MaxIntrospectionDepthRule,
        # Strawberry's QueryDepthLimiter and MaxAliasesLimiter, in linear time.
        document_limits(max_depth=max_depth, max_aliases=max_aliases),
    )
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: ParserCache(maxsize=CACHE_SIZE),
        lambda: AddValidationRules(list(rules)),
        lambda: ValidationCache(maxsize=CACHE_SIZE),
        # After the validation cache: it prices documents that have validated.
        cost_analysis(max_cost=max_cost, max_list_length=max_list_length, cache_size=CACHE_SIZE),
        lambda: ErrorCodes(hide_suggestions=not introspection),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return CartographSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        execution_context_class=CompiledExecutor if compiled else None,
    )


def schema_for(settings: Settings) -> strawberry.Schema:
    return build_schema(
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        max_tokens=settings.graphql_max_tokens,
        introspection=settings.graphql_introspection,
        max_cost=settings.graphql_max_cost,
        max_list_length=settings.graphql_max_list_length,
        compiled=settings.graphql_compiled,
    )
