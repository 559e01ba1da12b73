"""Every model module is imported here so that the metadata (and Alembic) sees all tables."""

from app.models.apikeys import ApiKey
from app.models.audit import AuditEntry, Event
from app.models.base import Base
from app.models.carts import Cart, CartItem
from app.models.catalog import (
    Brand,
    CatalogAttributes,
    CatalogEntity,
    Category,
    OptionType,
    OptionValue,
    Variant,
)
from app.models.customers import Address, Customer
from app.models.inventory import InventoryLevel, InventoryMovement, Reservation, Warehouse
from app.models.jobs import Job
from app.models.logs import AccessLogEntry
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
from app.models.search import SearchDocument
from app.models.users import OneTimeToken, Role, User, UserSession, user_roles
from app.models.webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "AccessLogEntry",
    "Address",
    "ApiKey",
    "AuditEntry",
    "Base",
    "Brand",
    "Cart",
    "CartItem",
    "CatalogAttributes",
    "CatalogEntity",
    "Category",
    "Customer",
    "CustomerGroup",
    "Event",
    "Fulfillment",
    "InventoryLevel",
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
    "Price",
    "PriceModifier",
    "Promotion",
    "PromotionRedemption",
    "Reservation",
    "Role",
    "SearchDocument",
    "User",
    "UserSession",
    "Variant",
    "Warehouse",
    "WebhookDelivery",
    "WebhookEndpoint",
    "customer_group_members",
    "user_roles",
]
