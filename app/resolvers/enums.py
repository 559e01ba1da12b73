"""The schema's closed sets, each a GraphQL enum whose every value says what it means.

A member is a `StrEnum` whose value is the word stored in the database and sent by the REST
dialects (`partially_fulfilled`, `digitalDownload`); GraphQL shows its name
(`PARTIALLY_FULFILLED`). Resolvers may hand back the stored word as it is: GraphQL serialises
it by value. Arguments arrive as members, which are `str`s equal to the stored word, so
services take them unchanged. The REST executor maps between the two spellings
(`app/rest/enums.py`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from enum import StrEnum
from typing import Self, TypeVar, overload

import strawberry

from app.analytics.members import MEMBER_TYPES
from app.auth.actor import ActorKind
from app.media.sniff import KNOWN_KINDS
from app.models.aftercare import (
    DISPUTE_OUTCOMES,
    DISPUTE_REASONS,
    DISPUTE_STATUSES,
    RETURN_STATUSES,
)
from app.models.catalog import ENTITY_STATUSES, ENTITY_TYPES
from app.models.inventory import MOVEMENT_TYPES, RESERVATION_STATUSES
from app.models.jobs import JOB_STATUSES
from app.models.ledger import (
    COMMISSION_STATUSES,
    ENTRY_KINDS,
    PAYOUT_STATUSES,
    RULE_KINDS,
    RULE_SCOPES,
)
from app.models.logs import LOG_LEVELS
from app.models.marketplace import (
    DOCUMENT_KINDS,
    DOCUMENT_STATUSES,
    SUB_ORDER_STATUSES,
    VENDOR_STATUSES,
)
from app.models.media import MEDIA_ROLES, PROCESSING_STATES
from app.models.notifications import CHANNELS, NOTIFICATION_KINDS, NOTIFICATION_STATUSES
from app.models.oauth import GRANT_TYPES as OAUTH_GRANT_TYPES
from app.models.orders import ORDER_STATUSES, PAYMENT_STATUSES
from app.models.pricing import MODIFIER_KINDS
from app.models.promotions import PROMOTION_TYPES
from app.models.users import USER_STATUSES
from app.models.webhooks import DELIVERY_STATUSES, ENDPOINT_STATUSES
from app.services.inventory.levels import ADJUST_SIGNS
from app.services.me import SKIP_REASONS
from app.services.promotions.evaluation import REASONS

E = TypeVar("E", bound="Described")


class Described(StrEnum):
    """A member written `NAME = "word", "What it means."`."""

    description: str

    def __new__(cls, value: str, description: str) -> Described:
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    @classmethod
    def of(cls, word: str) -> Self:
        """The member stored as `word` (ValueError for a word it does not know)."""
        # A lookup by value (EnumMeta.__call__); mypy checks it against `__new__` above.
        return cls(word)  # type: ignore[call-arg]


@overload
def graphql_enum(cls: type[E], *, matches: tuple[str, ...] | None = None) -> type[E]: ...
@overload
def graphql_enum(
    cls: None = None, *, matches: tuple[str, ...] | None = None
) -> Callable[[type[E]], type[E]]: ...
def graphql_enum(
    cls: type[E] | None = None, *, matches: tuple[str, ...] | None = None
) -> type[E] | Callable[[type[E]], type[E]]:
    """`cls` as a GraphQL enum, described by its docstring and its members' descriptions.

    With `matches`, the stored words the model allows, the enum must name each of them once.
    """
    if cls is None:
        return lambda enum_cls: graphql_enum(enum_cls, matches=matches)
    if matches is not None and sorted(cls) != sorted(matches):
        raise AssertionError(f"{cls.__name__} does not match the model's {matches}")
    enum = strawberry.enum(cls, description=inspect.getdoc(cls))
    # `strawberry.enum` sets its definition on the class at run time, unseen by mypy.
    for value in enum.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = cls.of(value.value).description
    return enum


@graphql_enum(matches=ENTITY_TYPES)
class EntityType(Described):
    """What kind of thing a catalog entity is."""

    PRODUCT = "product", "A physical product, shipped to the buyer."
    DIGITAL_DOWNLOAD = "digitalDownload", "A file the buyer downloads."
    SERVICE = "service", "Work done for the buyer; nothing is shipped."
    BUNDLE = "bundle", "Several entities sold together as one."
    GIFT_CARD = "giftCard", "A card holding an amount to spend later."


@graphql_enum(matches=ENTITY_STATUSES)
class EntityStatus(Described):
    """Where a catalog entity stands; only active entities are public."""

    DRAFT = "draft", "Being prepared; seen only with catalog:read."
    ACTIVE = "active", "Public and for sale."
    ARCHIVED = "archived", "Put away; kept for history, not public."
    DISCONTINUED = "discontinued", "No longer sold; not public."


@graphql_enum(matches=ORDER_STATUSES)
class OrderStatus(Described):
    """Where an order stands; `updateOrderStatus` moves it only along allowed transitions."""

    PENDING = "pending", "Placed; not yet confirmed."
    CONFIRMED = "confirmed", "Accepted by the merchant."
    PROCESSING = "processing", "Being picked and packed."
    PARTIALLY_FULFILLED = "partially_fulfilled", "Some of its units have shipped."
    FULFILLED = "fulfilled", "Every unit has shipped."
    CANCELLED = "cancelled", "Called off; its stock went back on sale."
    REFUNDED = "refunded", "Its whole amount was given back."


@graphql_enum(matches=PAYMENT_STATUSES)
class OrderPaymentStatus(Described):
    """Where an order's money stands."""

    PENDING = "pending", "Not paid yet (an order placed unpaid)."
    PROCESSING = "processing", "A payment is with the provider; no answer yet."
    PAID = "paid", "Paid in full."
    REFUND_PENDING = "refund_pending", "A refund is with the provider; no answer yet."
    PARTIALLY_REFUNDED = "partially_refunded", "Part of the amount was given back."
    REFUNDED = "refunded", "The whole amount was given back."


@graphql_enum
class PaymentKind(Described):
    """What a payment record is for."""

    CHECKOUT = "checkout", "The charge made at checkout."
    PAYMENT = "payment", "The payment of an order placed unpaid."
    REFUND = "refund", "Money given back to the buyer."


@graphql_enum
class PaymentStatus(Described):
    """Where one payment record stands with the provider."""

    PENDING = "pending", "Sent to the provider; no answer yet."
    SUCCEEDED = "succeeded", "The provider took the money."
    FAILED = "failed", "The provider declined."
    REFUND_PENDING = "refund_pending", "A refund was asked of the provider; no answer yet."
    REFUNDED = "refunded", "The provider gave the money back."
    REFUND_FAILED = "refund_failed", "The provider refused the refund."


@graphql_enum
class FulfillmentStatus(Described):
    """Where a shipment stands."""

    SHIPPED = "shipped", "Handed to the carrier."


@graphql_enum(matches=RESERVATION_STATUSES)
class ReservationStatus(Described):
    """Where a stock reservation stands."""

    ACTIVE = "active", "Holds its units until it expires."
    RELEASED = "released", "Given back before it was used."
    CONSUMED = "consumed", "Turned into a sale."
    EXPIRED = "expired", "Lapsed; its units went back on sale."


@graphql_enum(matches=MOVEMENT_TYPES)
class MovementType(Described):
    """Why a stock level changed."""

    RESTOCK = "restock", "Units received."
    SALE = "sale", "Units sold."
    RETURN = "return", "Units a buyer sent back."
    DAMAGE = "damage", "Units written off as damaged."
    CORRECTION = "correction", "A count corrected by a signed amount."
    RESERVATION = "reservation", "Units held by a reservation."
    RELEASE = "release", "A reservation's units given back."
    TRANSFER = "transfer", "Units moved between warehouses."


@graphql_enum(matches=tuple(ADJUST_SIGNS))
class AdjustmentType(Described):
    """The kind of a manual stock adjustment."""

    RESTOCK = "restock", "Adds `quantity`: units received."
    RETURN = "return", "Adds `quantity`: units a buyer sent back."
    SALE = "sale", "Removes `quantity`: units sold outside the API."
    DAMAGE = "damage", "Removes `quantity`: units written off."
    CORRECTION = "correction", "Adds `quantity`, which may be negative: a count corrected."


@graphql_enum
class ApiKeyStatus(Described):
    """Whether an API key is accepted."""

    ACTIVE = "active", "Accepted."
    REVOKED = "revoked", "Refused: it was revoked."
    EXPIRED = "expired", "Refused: its expiry has passed."


@graphql_enum(matches=USER_STATUSES)
class UserStatus(Described):
    """Whether a user may sign in."""

    ACTIVE = "active", "May sign in; their sessions work."
    INACTIVE = "inactive", "May not sign in; every session of theirs was ended."


@graphql_enum(matches=OAUTH_GRANT_TYPES)
class OAuthGrantType(Described):
    """An OAuth 2.0 grant type a client may use at the token endpoint."""

    AUTHORIZATION_CODE = (
        "authorization_code",
        "An app acting for a signed-in user, who consents (PKCE with S256 required).",
    )
    CLIENT_CREDENTIALS = (
        "client_credentials",
        "An integrator acting for itself with its secret (confidential clients only).",
    )
    REFRESH_TOKEN = (
        "refresh_token",
        "New tokens for a user's grant without asking again; each refresh token works once.",
    )


@graphql_enum
class OAuthClientStatus(Described):
    """Whether an OAuth client may still get and use tokens."""

    ACTIVE = "active", "It gets tokens, and its tokens are accepted."
    REVOKED = "revoked", "Refused: it was revoked, and every token it held with it."


@graphql_enum
class CartStatus(Described):
    """Whether a cart can still change."""

    ACTIVE = "active", "Open: lines can be added, changed and removed."
    CHECKED_OUT = "checked_out", "An order was placed from it; it no longer changes."


@graphql_enum(matches=MODIFIER_KINDS)
class AdjustmentKind(Described):
    """How a price modifier's or a group discount's value is read."""

    PERCENTAGE = "percentage", "A percentage of the price, e.g. 10 for 10% off."
    FIXED = "fixed", "An amount of money in minor units, taken off the price."


@graphql_enum(matches=PROMOTION_TYPES)
class PromotionKind(Described):
    """What a promotion takes off."""

    PERCENTAGE_OFF_ORDER = "percentage_off_order", "A percentage of the whole subtotal."
    FIXED_AMOUNT_OFF_ORDER = "fixed_amount_off_order", "A fixed amount off the subtotal."
    PERCENTAGE_OFF_ITEMS = "percentage_off_items", "A percentage of the qualifying lines."
    BUY_X_GET_Y = "buy_x_get_y", "Some qualifying units free for every so many bought."
    FREE_SHIPPING = "free_shipping", "The shipping charge."


@graphql_enum(matches=ActorKind.__args__)  # type: ignore[attr-defined]
class ActorType(Described):
    """Who made a change."""

    ANONYMOUS = "anonymous", "A caller without a credential."
    API_KEY = "api_key", "An API key."
    USER = "user", "A signed-in user, or an OAuth client acting for one."
    OAUTH_CLIENT = "oauth_client", "An OAuth 2.0 client acting for itself (client credentials)."
    SYSTEM = "system", "The server itself, e.g. its sweeper releasing expired holds."


@graphql_enum(matches=tuple(REASONS))
class PromotionRejection(Described):
    """Why a promotion code does not apply, a stable word."""

    UNKNOWN_CODE = "unknown_code", "No promotion has this code."
    INACTIVE = "inactive", "The promotion is switched off."
    NOT_STARTED = "not_started", "Its window has not opened yet."
    EXPIRED = "expired", "Its window has closed."
    USAGE_LIMIT_REACHED = "usage_limit_reached", "It has been used as often as it may be."
    CURRENCY_MISMATCH = "currency_mismatch", "Its amount is in another currency than the cart's."
    CUSTOMER_GROUP_NOT_ELIGIBLE = (
        "customer_group_not_eligible",
        "The customer is in none of its groups.",
    )
    CUSTOMER_REQUIRED = "customer_required", "It needs a known customer."
    CUSTOMER_LIMIT_REACHED = (
        "customer_limit_reached",
        "This customer has used it as often as one customer may.",
    )
    ITEM_NOT_PRICED = "item_not_priced", "A line has no price in the cart's currency."
    MIN_SUBTOTAL_NOT_MET = "min_subtotal_not_met", "The subtotal is below its minimum."
    NO_QUALIFYING_ITEMS = "no_qualifying_items", "No line is one it applies to."


@graphql_enum(matches=tuple(SKIP_REASONS))
class ReorderSkipReason(Described):
    """Why reorder left a line of the past order out of the new cart."""

    DISCONTINUED = "discontinued", "The product or variant no longer exists."
    NOT_FOR_SALE = "not_for_sale", "The product is not on sale now (not active)."
    NO_PRICE = "no_price", "The product has no price in the cart's currency now."
    OUT_OF_STOCK = "out_of_stock", "Not enough stock to sell the quantity ordered."


@graphql_enum(matches=LOG_LEVELS)
class LogLevel(Described):
    """How an access-log entry's request went, by its status."""

    INFO = "info", "Answered below 400: it went as asked."
    WARN = "warn", "Answered 4xx: the caller's request was refused."
    ERROR = "error", "Answered 5xx: the server failed."


@graphql_enum(matches=JOB_STATUSES)
class JobStatus(Described):
    """Where a background job is in its life."""

    PENDING = "pending", "Waiting for its run time (queued, or retrying after a failed attempt)."
    RUNNING = "running", "Claimed by a worker, under a lease."
    SUCCEEDED = "succeeded", "Finished."
    FAILED = "failed", "Out of attempts, or its handler gave up; retrying queues it again."


@graphql_enum(matches=ENDPOINT_STATUSES)
class WebhookEndpointStatus(Described):
    """Whether a webhook endpoint is sent events."""

    ACTIVE = "active", "Events it subscribes to are delivered to it."
    DISABLED = "disabled", "Nothing is delivered; `disabledReason` says why."


@graphql_enum(matches=DELIVERY_STATUSES)
class WebhookDeliveryStatus(Described):
    """How one delivery attempt went."""

    SUCCEEDED = "succeeded", "The endpoint answered 2xx."
    FAILED = "failed", "It failed, and no attempt follows (the last, or the endpoint disabled)."
    PENDING = "pending", "It failed, and another attempt is scheduled."


@graphql_enum(matches=CHANNELS)
class NotificationChannel(Described):
    """How a notification reaches its recipient."""

    EMAIL = "email", "An e-mail to the user's address."
    SMS = "sms", "A text message to the phone of the user's customer record."


@graphql_enum(matches=NOTIFICATION_STATUSES)
class NotificationStatus(Described):
    """Where the sending of a notification stands."""

    QUEUED = "queued", "Waiting to be sent, or to be tried again after a failed try."
    SENT = "sent", "Handed to the mail server or SMS provider."
    FAILED = "failed", "Every try failed (see lastError), or it was no longer to be sent."


@graphql_enum(matches=NOTIFICATION_KINDS)
class NotificationKind(Described):
    """Why a notification was sent."""

    PASSWORD_RESET = "password_reset", "A password-reset link the user asked for."
    EMAIL_VERIFICATION = "email_verification", "A link that verifies the user's address."
    ORDER_CONFIRMATION = "order_confirmation", "The confirmation of an order placed."
    CUSTOM = "custom", "A message written by staff (sendNotification)."


@graphql_enum(matches=MEMBER_TYPES)
class AnalyticsMemberKind(Described):
    """What the values of an analytics member are."""

    COUNT = "count", "A measure counting rows."
    NUMBER = "number", "A measure summing quantities (units)."
    MONEY = "money", "A measure in minor units, each row beside the currency it is in."
    STRING = "string", "A dimension of words: a status, a code, a slug or a name."
    ID = "id", "A dimension of ids (UUIDs)."
    TIME = "time", "A time dimension: bucketed by granularity, bounded by a date range."


@graphql_enum(matches=VENDOR_STATUSES)
class VendorStatus(Described):
    """Where a marketplace vendor stands; only an active vendor sells."""

    PENDING = "pending", "Registered; waiting for approval."
    ACTIVE = "active", "Approved (or reinstated): it sells and fulfils its sub-orders."
    REJECTED = "rejected", "Not approved; `statusReason` says why. Final."
    SUSPENDED = "suspended", "Stopped from selling; `statusReason` says why. May be reinstated."


@graphql_enum(matches=DOCUMENT_KINDS)
class VendorDocumentKind(Described):
    """What a vendor's document proves."""

    BUSINESS_LICENSE = "business_license", "A business licence or registration."
    TAX_CERTIFICATE = "tax_certificate", "A tax registration certificate."
    IDENTITY = "identity", "An identity document of the vendor's owner."
    BANK_STATEMENT = "bank_statement", "A bank statement proving the payout account."
    OTHER = "other", "Anything else the marketplace asked for."


@graphql_enum(matches=DOCUMENT_STATUSES)
class VendorDocumentStatus(Described):
    """Where the review of a vendor's document stands."""

    PENDING = "pending", "Handed in; waiting for review."
    APPROVED = "approved", "Accepted by marketplace:admin. Final."
    REJECTED = "rejected", "Refused; `reason` says why. Final."


@graphql_enum(matches=SUB_ORDER_STATUSES)
class SubOrderStatus(Described):
    """Where one vendor's part of an order stands."""

    PENDING = "pending", "Placed; the vendor has not confirmed it yet."
    CONFIRMED = "confirmed", "Accepted by the vendor."
    SHIPPED = "shipped", "Handed to a carrier, with a tracking number."
    DELIVERED = "delivered", "Delivered to the buyer."
    CANCELLED = "cancelled", "Cancelled before shipping; its stock was given back."


@graphql_enum(matches=RULE_KINDS)
class CommissionRuleKind(Described):
    """How a commission rule takes its share of a sale."""

    PERCENTAGE = "percentage", "A share of the line's total, in basis points (1000 = 10 %)."
    FLAT = "flat", "A fixed amount per unit sold, in the rule's currency."


@graphql_enum(matches=RULE_SCOPES)
class CommissionRuleScope(Described):
    """Which sales a commission rule covers."""

    GLOBAL = "global", "Every vendor's sales."
    CATEGORY = "category", "Sales of products in one category."
    VENDOR = "vendor", "One vendor's sales."


@graphql_enum(matches=COMMISSION_STATUSES)
class CommissionStatus(Described):
    """Where a commission stands."""

    ACCRUED = "accrued", "Taken when its sub-order was delivered."
    REVERSED = "reversed", "Given back: its sub-order was refunded in full."


@graphql_enum(matches=ENTRY_KINDS)
class BalanceEntryKind(Described):
    """What moved a vendor's balance (amounts are signed)."""

    SALE_CREDIT = "sale_credit", "A delivered line's total, credited."
    COMMISSION_DEBIT = (
        "commission_debit",
        ("The marketplace's commission on a sale; positive when given back on a refund."),
    )
    REFUND_DEBIT = "refund_debit", "Money given back to the shopper out of a delivered sale."
    PAYOUT_DEBIT = "payout_debit", "A payout sent or in flight; positive when one failed."
    ADJUSTMENT = "adjustment", "A correction by marketplace:admin, with a reason."


@graphql_enum(matches=PAYOUT_STATUSES)
class PayoutStatus(Described):
    """Where a payout stands."""

    PENDING = "pending", "Debited; the payout provider is being asked."
    PAID = "paid", "The provider sent the money."
    FAILED = "failed", "The provider refused; the debit was reversed. It may be retried."


@graphql_enum(matches=DISPUTE_STATUSES)
class DisputeStatus(Described):
    """Where a dispute about a delivered sub-order stands."""

    OPEN = "open", "Opened by the customer; the vendor has not answered."
    RESPONDED = "responded", "The vendor has answered."
    ESCALATED = "escalated", "The customer or the vendor asked the marketplace to decide."
    RESOLVED = "resolved", "Decided by marketplace:admin, with an outcome."


@graphql_enum(matches=DISPUTE_REASONS)
class DisputeReason(Described):
    """What a dispute is about."""

    NOT_RECEIVED = "not_received", "The customer says the goods never arrived."
    NOT_AS_DESCRIBED = "not_as_described", "The goods are not what the listing said."
    DAMAGED = "damaged", "The goods arrived damaged."
    OTHER = "other", "Anything else (the message says what)."


@graphql_enum(matches=DISPUTE_OUTCOMES)
class DisputeOutcome(Described):
    """How marketplace:admin settled a dispute."""

    REFUND_FULL = "refund_full", "Everything left to refund on the sub-order was refunded."
    REFUND_PARTIAL = "refund_partial", "An amount was refunded."
    NO_REFUND = "no_refund", "Nothing was refunded."


@graphql_enum(matches=("customer", "vendor"))
class DisputeParty(Described):
    """Which side of a dispute acted."""

    CUSTOMER = "customer", "The customer who opened it."
    VENDOR = "vendor", "The vendor of the sub-order."


@graphql_enum(matches=RETURN_STATUSES)
class ReturnStatus(Described):
    """Where a return of delivered units stands."""

    REQUESTED = "requested", "Asked for by the customer."
    SHIPPED_BACK = "shipped_back", "Sent back by the customer, with a tracking number."
    RECEIVED = "received", "Received by the vendor: restocked and refunded."


@graphql_enum(matches=KNOWN_KINDS)
class MediaKind(Described):
    """What an uploaded file is, as detected from its bytes."""

    JPEG = "jpeg", "A JPEG image."
    PNG = "png", "A PNG image."
    GIF = "gif", "A GIF image."
    WEBP = "webp", "A WebP image."
    PDF = "pdf", "A PDF document."
    ZIP = "zip", "A ZIP archive."


@graphql_enum(matches=MEDIA_ROLES)
class MediaRole(Described):
    """What a media asset is for on a catalog entity."""

    THUMBNAIL = "thumbnail", "The picture shown in lists."
    GALLERY = "gallery", "One of the entity's pictures."
    DOWNLOAD = "download", "The file a buyer downloads (never public: signed links from /me)."
    DOCUMENT = "document", "A document about the entity (a manual, a data sheet)."


@graphql_enum(matches=PROCESSING_STATES)
class MediaProcessing(Described):
    """Where the job that measures an image and makes its thumbnails stands."""

    PENDING = "pending", "Not run yet: no dimensions or thumbnails."
    READY = "ready", "Done (for an image: dimensions and thumbnails recorded)."
    FAILED = "failed", "The bytes did not decode as the image they looked like."
