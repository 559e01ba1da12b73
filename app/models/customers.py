"""Customers: the people who buy, and their saved postal addresses. This is the record carts,
checkout and customer groups name; a signed-in customer's user links to it (`users.customer_id`)
and reads and edits it, with its addresses, through `/me`.

Other tables (`carts`, `orders`, `customer_group_members`) name a customer by its id as a
string of their own, without a foreign key: they predate this table and hold ids that are
not customers' (a signed-in user's, earlier made-up ones). The services that write them check
the customer exists (`app.services.customers.require_customer`); customers are never deleted.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, JSONType, postgresql_only, utcnow

EMAIL_LENGTH = 254
NAME_LENGTH = 100
PHONE_LENGTH = 32
ADDRESS_LINE_LENGTH = 200
COMPANY_LENGTH = 200
CITY_LENGTH = 100
STATE_LENGTH = 100
POSTAL_CODE_LENGTH = 20


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


class Address(IdMixin, Base):
    """A postal address a customer saved, for shipping and billing. The field names are the
    checkout's `AddressInput` (line1, line2, city, state, postalCode, country) plus the
    addressee; `country` is an ISO 3166-1 alpha-2 code. At most one of a customer's
    addresses is the default for shipping, and one for billing."""

    __tablename__ = "addresses"
    # The customer's addresses, oldest first, are the one listing (`/me/addresses`).
    __table_args__ = (Index("ix_addresses_customer_id_id", "customer_id", "id"),)

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    first_name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    last_name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    company: Mapped[str | None] = mapped_column(String(COMPANY_LENGTH))
    line1: Mapped[str] = mapped_column(String(ADDRESS_LINE_LENGTH))
    line2: Mapped[str | None] = mapped_column(String(ADDRESS_LINE_LENGTH))
    city: Mapped[str] = mapped_column(String(CITY_LENGTH))
    state: Mapped[str | None] = mapped_column(String(STATE_LENGTH))
    postal_code: Mapped[str | None] = mapped_column(String(POSTAL_CODE_LENGTH))
    country: Mapped[str] = mapped_column(String(2))
    phone: Mapped[str | None] = mapped_column(String(PHONE_LENGTH))
    default_shipping: Mapped[bool] = mapped_column(default=False)
    default_billing: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
