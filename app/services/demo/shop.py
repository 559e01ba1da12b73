"""The demo shop's people and codes: customer groups, customers in them (each with a user
who signs in as them), and promotions.

All go through their domain services (validated, audited, with their events) and are found
again by their natural keys (group name, e-mail address, code), so a rerun creates nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.auth.actor import SYSTEM
from app.db import UnitOfWork
from app.models.customers import Address, Customer
from app.models.pricing import CustomerGroup, customer_group_members
from app.models.promotions import Promotion
from app.models.users import User
from app.services.addresses import NewAddress, add_address
from app.services.customers import create_customer
from app.services.demo.report import SeedReport
from app.services.pricing.groups import add_customer_to_group, create_customer_group
from app.services.promotions.records import create_promotion
from app.services.promotions.rules import PromotionSpec
from app.services.users import create_customer_user

VIP = "VIP"
WHOLESALE = "Wholesale"
GROUPS = (
    (VIP, "Our best customers: the VIP20 code is theirs alone."),
    (WHOLESALE, "Trade buyers: physical products at wholesale prices (80% of list)."),
)


@dataclass(frozen=True, slots=True)
class DemoCustomer:
    email: str
    first_name: str
    last_name: str
    phone: str
    groups: tuple[str, ...]
    address: dict[str, str]
    company: str | None = None


CUSTOMERS = (
    DemoCustomer(
        "ada.lovelace@example.com", "Ada", "Lovelace", "+44 20 7946 0001", (VIP,),
        {"line1": "12 St James's Square", "city": "London", "postalCode": "SW1Y 4JH",
         "country": "GB"},
    ),
    DemoCustomer(
        "grace.hopper@example.com", "Grace", "Hopper", "+1 703 555 0102", (VIP,),
        {"line1": "401 Navy Yard Ave", "city": "Arlington", "state": "VA",
         "postalCode": "22202", "country": "US"},
    ),
    DemoCustomer(
        "alan.turing@example.com", "Alan", "Turing", "+44 161 496 0003", (),
        {"line1": "7 Sackville Street", "city": "Manchester", "postalCode": "M1 3BB",
         "country": "GB"},
    ),
    DemoCustomer(
        "katherine.johnson@example.com", "Katherine", "Johnson", "+1 757 555 0104", (),
        {"line1": "1 Langley Blvd", "city": "Hampton", "state": "VA", "postalCode": "23681",
         "country": "US"},
    ),
    DemoCustomer(
        "hedy.lamarr@example.com", "Hedy", "Lamarr", "+43 1 555 0105", (),
        {"line1": "Mariahilfer Strasse 5", "city": "Vienna", "postalCode": "1060",
         "country": "AT"},
    ),
    DemoCustomer(
        "morgan.reyes@harborsupply.example.com", "Morgan", "Reyes", "+1 206 555 0106",
        (WHOLESALE,),
        {"line1": "88 Pier Road", "city": "Seattle", "state": "WA", "postalCode": "98101",
         "country": "US"},
        company="Harbor Supply Co.",
    ),
    DemoCustomer(
        "sam.okafor@trailhead.example.com", "Sam", "Okafor", "+1 303 555 0107",
        (WHOLESALE, VIP),
        {"line1": "250 Canyon Blvd", "city": "Boulder", "state": "CO", "postalCode": "80302",
         "country": "US"},
        company="Trailhead Outfitters",
    ),
)  # fmt: skip


def promotion_specs(group_ids: dict[str, uuid.UUID]) -> dict[str, PromotionSpec]:
    return {
        "WELCOME10": PromotionSpec(
            name="Welcome: 10% off your first order",
            type="percentage_off_order",
            value=10,
            per_customer_limit=1,
        ),
        "SAVE15": PromotionSpec(
            name="$15 off orders of $100 or more",
            type="fixed_amount_off_order",
            value=1500,
            currency="USD",
            min_subtotal=10000,
        ),
        "VIP20": PromotionSpec(
            name="VIP: 20% off",
            type="percentage_off_order",
            value=20,
            customer_group_ids=[str(group_ids[VIP])],
        ),
    }


async def ensure_groups(uow: UnitOfWork, report: SeedReport) -> dict[str, uuid.UUID]:
    """VIP and Wholesale, by name."""
    names = [name for name, _ in GROUPS]
    rows = await uow.session.execute(
        select(CustomerGroup.name, CustomerGroup.id).where(CustomerGroup.name.in_(names))
    )
    ids = {name: id for name, id in rows.all()}
    for name, description in GROUPS:
        if name not in ids:
            group = await create_customer_group(uow, SYSTEM, name=name, description=description)
            ids[name] = group.id
            report.customer_groups_created += 1
    return ids


async def ensure_customers(
    uow: UnitOfWork, group_ids: dict[str, uuid.UUID], report: SeedReport
) -> dict[str, uuid.UUID]:
    """The demo customers by e-mail address, each in their groups."""
    emails = [c.email for c in CUSTOMERS]
    rows = await uow.session.execute(
        select(Customer.email, Customer.id).where(Customer.email.in_(emails))
    )
    ids = {email: id for email, id in rows.all()}
    for customer in CUSTOMERS:
        if customer.email in ids:
            continue
        metadata: dict[str, Any] = {"demo": True}
        if customer.company:
            metadata["company"] = customer.company
        created = await create_customer(
            uow,
            SYSTEM,
            email=customer.email,
            first_name=customer.first_name,
            last_name=customer.last_name,
            phone=customer.phone,
            metadata=metadata,
        )
        ids[customer.email] = created.id
        report.customers_created += 1
    members = customer_group_members.c
    present = set(
        (
            await uow.session.execute(
                select(members.customer_group_id, members.customer_id).where(
                    members.customer_id.in_([str(id) for id in ids.values()])
                )
            )
        ).all()
    )
    for customer in CUSTOMERS:
        for name in customer.groups:
            key = (group_ids[name], str(ids[customer.email]))
            if key in present:
                continue
            await add_customer_to_group(
                uow, SYSTEM, customer_group_id=str(key[0]), customer_id=key[1]
            )
            report.memberships_created += 1
    return ids


async def ensure_customer_users(
    uow: UnitOfWork, customer_ids: dict[str, uuid.UUID], report: SeedReport
) -> None:
    """A user for every demo customer: role customer, e-mail address verified, linked to the
    customer record, and no password (the README tour sets one with `cartograph user
    set-password`; there is no default password anywhere)."""
    # A customer with a user already, or an address a user has (a staff member's), is left.
    rows = await uow.session.execute(
        select(User.customer_id, User.email).where(
            User.customer_id.in_(list(customer_ids.values())) | User.email.in_(list(customer_ids))
        )
    )
    taken = {value for row in rows.all() for value in row if value is not None}
    for demo in CUSTOMERS:
        id = customer_ids[demo.email]
        if id in taken or demo.email in taken:
            continue
        customer = await uow.session.get(Customer, id)
        assert customer is not None
        await create_customer_user(
            uow,
            SYSTEM,
            customer=customer,
            name=f"{demo.first_name} {demo.last_name}",
            email_verified=True,
        )
        report.users_created += 1


async def ensure_addresses(
    uow: UnitOfWork, customer_ids: dict[str, uuid.UUID], report: SeedReport
) -> None:
    """Each demo customer's address, saved (`/me/addresses`) as their default for shipping
    and billing, unless they have one already."""
    having = set(
        await uow.session.scalars(
            select(Address.customer_id).where(Address.customer_id.in_(customer_ids.values()))
        )
    )
    for customer in CUSTOMERS:
        id = customer_ids[customer.email]
        if id in having:
            continue
        first, last = customer.first_name, customer.last_name
        await add_address(
            uow, SYSTEM, id,
            NewAddress(first_name=first, last_name=last, company=customer.company,
                       phone=customer.phone, default_shipping=True, default_billing=True,
                       line1=customer.address["line1"], city=customer.address["city"],
                       state=customer.address.get("state"),
                       postal_code=customer.address.get("postalCode"),
                       country=customer.address["country"]),
        )  # fmt: skip
        report.addresses_created += 1


async def ensure_promotions(
    uow: UnitOfWork, group_ids: dict[str, uuid.UUID], report: SeedReport
) -> None:
    specs = promotion_specs(group_ids)
    found = set(await uow.session.scalars(select(Promotion.code).where(Promotion.code.in_(specs))))
    for code, spec in specs.items():
        if code not in found:
            await create_promotion(uow, SYSTEM, code=code, spec=spec)
            report.promotions_created += 1
