"""The marketplace's money (issue 14, parts 3 and 4): commission rules, the commission taken on
each delivered sub-order line, the vendors' balance ledger, and payouts.

A vendor's balance is the sum of its `balance_entries`, per currency, always: there is no
balance column to drift. Entries are appended, never changed or deleted; each carries a
unique `key` naming the fact it records (`sale:<line id>`, `payout:<payout id>:<attempt>`),
so that recording the same fact twice is a unique violation, not a second credit.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, utcnow

RULE_KINDS = ("percentage", "flat")
RULE_SCOPES = ("global", "category", "vendor")
COMMISSION_STATUSES = ("accrued", "reversed")
ENTRY_KINDS = ("sale_credit", "commission_debit", "refund_debit", "payout_debit", "adjustment")
PAYOUT_STATUSES = ("pending", "paid", "failed")
NAME_LENGTH = 200
REASON_LENGTH = 500
KEY_LENGTH = 200
MESSAGE_LENGTH = 500
REFERENCE_LENGTH = 200


class CommissionRule(IdMixin, Base):
    """What the marketplace takes of a sale: a percentage (basis points) or a flat amount per
    unit, for every vendor (`global`), one category's products, or one vendor."""

    __tablename__ = "commission_rules"
    __table_args__ = (
        Index("ix_commission_rules_scope_id", "scope", "id"),
        Index("ix_commission_rules_vendor_id", "vendor_id"),
        Index("ix_commission_rules_category_id", "category_id"),
    )

    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    kind: Mapped[str] = mapped_column(String(20))
    # percentage: 1 = 0.01 %, 10000 = 100 %.
    rate_bps: Mapped[int | None] = mapped_column(Integer)
    # flat: minor units of `currency` per unit sold.
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    scope: Mapped[str] = mapped_column(String(20))
    category_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE")
    )
    vendor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vendors.id", ondelete="CASCADE")
    )
    priority: Mapped[int] = mapped_column(Integer, default=0)
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Commission(IdMixin, Base):
    """The commission on one delivered sub-order line. `rule_id` names the rule that decided it
    (null: none applied, the commission is 0); a deleted rule leaves its commissions as they
    were, so it is no foreign key."""

    __tablename__ = "commissions"
    __table_args__ = (
        Index("ix_commissions_vendor_id_id", "vendor_id", "id"),
        Index("ix_commissions_vendor_id_status_id", "vendor_id", "status", "id"),
        Index("ix_commissions_status_id", "status", "id"),
        Index("ix_commissions_sub_order_id", "sub_order_id"),
    )

    sub_order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sub_orders.id", ondelete="CASCADE"))
    # One commission per line, ever: delivering twice cannot take it twice.
    order_line_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("order_lines.id", ondelete="CASCADE"), unique=True
    )
    vendor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vendors.id"))
    rule_id: Mapped[uuid.UUID | None]
    # The line's total (after discounts) the commission is taken on, and the commission.
    basis: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default="accrued")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Payout(IdMixin, Base):
    """Money sent to a vendor through the payout provider: pending while the provider is asked
    (its id is the idempotency key), then paid or failed."""

    __tablename__ = "payouts"
    __table_args__ = (
        Index("ix_payouts_vendor_id_id", "vendor_id", "id"),
        Index("ix_payouts_status_id", "status", "id"),
        Index("ix_payouts_vendor_id_status_id", "vendor_id", "status", "id"),
        # At most one payout per vendor and currency in flight: the backstop of the row lock.
        Index(
            "uq_payouts_vendor_id_currency_pending",
            "vendor_id",
            "currency",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    vendor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vendors.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    # 1 for the first try; each retry adds one (the provider's key is `<id>:<attempt>`).
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    provider: Mapped[str] = mapped_column(String(40))
    provider_reference: Mapped[str | None] = mapped_column(String(REFERENCE_LENGTH))
    failure_message: Mapped[str | None] = mapped_column(String(MESSAGE_LENGTH))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]


class BalanceEntry(IdMixin, Base):
    """One movement of a vendor's balance (signed minor units), appended and never changed."""

    __tablename__ = "balance_entries"
    __table_args__ = (
        Index("ix_balance_entries_vendor_id_id", "vendor_id", "id"),
        Index("ix_balance_entries_vendor_id_currency", "vendor_id", "currency"),
        Index("ix_balance_entries_payout_id", "payout_id"),
        Index("ix_balance_entries_sub_order_id", "sub_order_id"),
    )

    vendor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vendors.id"))
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # What it records, unique: the same fact recorded twice is refused.
    key: Mapped[str] = mapped_column(String(KEY_LENGTH), unique=True)
    sub_order_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sub_orders.id", ondelete="SET NULL")
    )
    commission_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("commissions.id", ondelete="SET NULL")
    )
    payout_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payouts.id"))
    reason: Mapped[str | None] = mapped_column(String(REASON_LENGTH))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
