"""Every model module is imported here so that the metadata (and Alembic) sees all tables."""

from app.models.aftercare import Dispute, Return, ReturnLine, Review
from app.models.apikeys import ApiKey
from app.models.audit import AuditEntry, Event
from app.models.base import Base
from app.models.carts import Cart, CartItem
from app.models.catalog import (
    Brand,
    CatalogAttributes,
    CatalogEntity,
    CatalogEntityCount,
    Category,
    OptionType,
    OptionValue,
    Variant,
)
from app.models.customers import Address, Customer
from app.models.inventory import (
    InventoryLevel,
    InventoryLevelCount,
    InventoryMovement,
    Reservation,
    Warehouse,
)
from app.models.jobs import Job
from app.models.ledger import BalanceEntry, Commission, CommissionRule, Payout
from app.models.logs import AccessLogEntry
from app.models.marketplace import SubOrder, Vendor, VendorDocument
from app.models.media import MediaAsset, MediaAttachment
from app.models.notifications import Notification
from app.models.oauth import OAuthAuthorizationCode, OAuthClient, OAuthToken
from app.models.orders import (
    Fulfillment,
    Order,
    OrderLine,
    OrderSequence,
    Payment,
    PaymentWebhookEvent,
)
from app.models.pricing import CustomerGroup, Price, PriceModifier, customer_group_members
from app.models.promotions import Promotion, PromotionRedemption
from app.models.search import SearchDocument, SearchTitleWord
from app.models.users import OneTimeToken, Role, User, UserSession, user_roles
from app.models.webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "AccessLogEntry",
    "Address",
    "ApiKey",
    "AuditEntry",
    "BalanceEntry",
    "Base",
    "Brand",
    "Cart",
    "CartItem",
    "CatalogAttributes",
    "CatalogEntity",
    "CatalogEntityCount",
    "Category",
    "Commission",
    "CommissionRule",
    "Customer",
    "CustomerGroup",
    "Dispute",
    "Event",
    "Fulfillment",
    "InventoryLevel",
    "InventoryLevelCount",
    "InventoryMovement",
    "Job",
    "MediaAsset",
    "MediaAttachment",
    "Notification",
    "OAuthAuthorizationCode",
    "OAuthClient",
    "OAuthToken",
    "OneTimeToken",
    "OptionType",
    "OptionValue",
    "Order",
    "OrderLine",
    "OrderSequence",
    "Payment",
    "PaymentWebhookEvent",
    "Payout",
    "Price",
    "PriceModifier",
    "Promotion",
    "PromotionRedemption",
    "Reservation",
    "Return",
    "ReturnLine",
    "Review",
    "Role",
    "SearchDocument",
    "SearchTitleWord",
    "SubOrder",
    "User",
    "UserSession",
    "Variant",
    "Vendor",
    "VendorDocument",
    "Warehouse",
    "WebhookDelivery",
    "WebhookEndpoint",
    "customer_group_members",
    "user_roles",
]
