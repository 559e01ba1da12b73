"""Customers: the people who buy. This is the minimal record carts, checkout and customer
groups name; sign-in, addresses and the customer's own views (`/me`) extend it later.

Other tables (`carts`, `orders`, `customer_group_members`) name a customer by its id as a
string of their own, without a foreign key: they predate this table and hold ids that are
not customers' (a signed-in user's, earlier made-up ones). The services that write them check
the customer exists (`app.services.customers.require_customer`); customers are never deleted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, JSONType, postgresql_only, utcnow

EMAIL_LENGTH = 254
NAME_LENGTH = 100
PHONE_LENGTH = 32


class Customer(IdMixin, Base):
    """A customer: an e-mail address (stored lower-case, unique), names, a phone number."""

    __tablename__ = "customers"
    __table_args__ = (
        # The unique index on `email` serves the exact filter; `emailContains` is a
        # substring match, which only a trigram index serves (PostgreSQL; SQLite scans).
        postgresql_only(
            Index(
                "ix_customers_email_trgm",
                "email",
                postgresql_using="gin",
                postgresql_ops={"email": "gin_trgm_ops"},
            )
        ),
    )

    email: Mapped[str] = mapped_column(String(EMAIL_LENGTH), unique=True)
    first_name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    last_name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    phone: Mapped[str | None] = mapped_column(String(PHONE_LENGTH))
    # `metadata` is taken by SQLAlchemy's declarative base; the column keeps the name.
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
