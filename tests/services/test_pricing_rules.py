"""Pricing rules at the service level: what a price, modifier or group may be, who may ask
for group prices, and the audit entry and event each change records."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.auth.actor import ANONYMOUS, SYSTEM, Actor
from app.db import Database
from app.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from app.models.audit import AuditEntry, Event
from app.models.base import utcnow
from app.services.pricing import groups, modifiers, prices
from tests.support.catalog import make_entity
from tests.support.factories import customer
from tests.support.pricing import make_group, make_price, variants_of

UNKNOWN_ID = "0190b6a2-0000-7000-8000-000000000000"


async def create_price(database: Database, **values: Any) -> Any:
    async with database.unit_of_work() as uow:
        price = await prices.create_price(uow, SYSTEM, **values)
        await uow.commit()
    return price


async def create_modifier(database: Database, **values: Any) -> Any:
    async with database.unit_of_work() as uow:
        modifier = await modifiers.create_modifier(uow, SYSTEM, **values)
        await uow.commit()
    return modifier


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"currency": "usd"}, "currency"),
        ({"currency": "US"}, "currency"),
        ({"currency": "EURO"}, "currency"),
        ({"currency": "XYZ"}, "currency"),
        ({"amount": -1}, "amount"),
        ({"min_quantity": 0}, "minQuantity"),
        ({"valid_from": utcnow(), "valid_until": utcnow() - timedelta(seconds=1)}, "validUntil"),
    ],
)
async def test_create_price_refuses_bad_values_naming_the_field(
    database: Database, values: dict[str, Any], field: str
) -> None:
    entity = await make_entity(database, slug="mug")
    given = {"entity_id": str(entity.id), "currency": "USD", "amount": 1000, **values}
    with pytest.raises(ValidationFailed) as refused:
        await create_price(database, **given)
    assert refused.value.details is not None and field in refused.value.details


async def test_create_price_needs_an_existing_entity_variant_and_group(
    database: Database,
) -> None:
    entity = await make_entity(database, slug="mug")
    for values, message in (
        ({"entity_id": UNKNOWN_ID}, "Entity"),
        ({"entity_id": "not-a-uuid"}, "Entity"),
        ({"variant_id": UNKNOWN_ID}, "Variant"),
        ({"customer_group_id": UNKNOWN_ID}, "Customer group"),
    ):
        given = {"entity_id": str(entity.id), "currency": "USD", "amount": 1, **values}
        with pytest.raises(NotFound) as missing:
            await create_price(database, **given)
        assert missing.value.message.startswith(message)


async def test_a_variant_of_another_entity_cannot_be_priced_under_this_one(
    database: Database,
) -> None:
    mug = await make_entity(database, slug="mug")
    shirt = await make_entity(database, slug="shirt", sizes=("S",))
    small = (await variants_of(database, shirt))["SHIRT-S"]
    with pytest.raises(ValidationFailed) as refused:
        await create_price(
            database, entity_id=str(mug.id), variant_id=str(small.id), currency="USD", amount=1
        )
    assert refused.value.details == {"variantId": "Not a variant of this entity."}


async def test_create_price_records_pricing_create_with_the_row(database: Database) -> None:
    entity = await make_entity(database, slug="mug")
    price = await create_price(database, entity_id=str(entity.id), currency="USD", amount=2999)
    async with database.read_session() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.entity_id == str(price.id))
        )
        event = await session.scalar(select(Event).where(Event.entity_id == str(price.id)))
    assert entry is not None and event is not None
    assert (entry.event, entry.entity_type, entry.before) == ("pricing.create", "price", None)
    assert entry.after is not None and entry.after["amount"] == 2999
    assert (event.type, event.data["after"]["currency"]) == ("pricing.create", "USD")


async def test_update_price_checks_the_window_it_would_leave(database: Database) -> None:
    entity = await make_entity(database, slug="mug")
    start = utcnow()
    price = await make_price(database, entity, amount=1000, valid_from=start)
    async with database.unit_of_work() as uow:
        with pytest.raises(ValidationFailed) as refused:
            await prices.update_price(uow, SYSTEM, id=str(price.id), valid_until=start)
    assert refused.value.details == {"validUntil": "Must be after validFrom."}
    async with database.unit_of_work() as uow:
        changed = await prices.update_price(
            uow, SYSTEM, id=str(price.id), valid_from=None, valid_until=start, amount=900
        )
        await uow.commit()
    assert (changed.amount, changed.valid_from, changed.valid_until) == (900, None, start)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"kind": "surcharge", "value": 5}, "kind"),
        ({"kind": "percentage", "value": 0}, "value"),
        ({"kind": "percentage", "value": 101}, "value"),
        ({"kind": "fixed", "value": 100}, "currency"),
        ({"kind": "fixed", "value": 0, "currency": "USD"}, "value"),
        ({"kind": "percentage", "value": 5, "min_quantity": 0}, "minQuantity"),
        ({"kind": "percentage", "value": 5, "name": "  "}, "name"),
    ],
)
async def test_create_modifier_refuses_bad_values_naming_the_field(
    database: Database, values: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await create_modifier(database, **{"name": "Sale", **values})
    assert refused.value.details is not None and field in refused.value.details


async def test_update_modifier_deactivates_and_records_pricing_update(database: Database) -> None:
    modifier = await create_modifier(database, name="Sale", kind="percentage", value=10)
    async with database.unit_of_work() as uow:
        changed = await modifiers.update_modifier(uow, SYSTEM, id=str(modifier.id), active=False)
        await uow.commit()
    assert changed.active is False
    async with database.read_session() as session:
        events = (
            await session.scalars(
                select(Event.type).where(Event.entity_id == str(modifier.id)).order_by(Event.id)
            )
        ).all()
    assert events == ["pricing.create", "pricing.update"]


async def test_a_group_name_in_use_is_a_conflict(database: Database) -> None:
    await make_group(database, name="Wholesale")
    async with database.unit_of_work() as uow:
        with pytest.raises(Conflict):
            await groups.create_customer_group(uow, SYSTEM, name="Wholesale")


async def test_membership_adds_once_and_removing_a_non_member_is_not_found(
    database: Database,
) -> None:
    member, other = str((await customer(database)).id), str((await customer(database)).id)
    group = await make_group(database, name="Trade", members=(member,))
    async with database.unit_of_work() as uow:
        await groups.add_customer_to_group(
            uow, SYSTEM, customer_group_id=str(group.id), customer_id=member
        )
        await uow.commit()
    async with database.read_session() as session:
        assert await groups.customer_group_ids(session, member) == {group.id}
        assert await groups.customer_group_ids(session, member.upper()) == {group.id}
        changes = (
            await session.scalars(
                select(AuditEntry.event)
                .where(AuditEntry.entity_id == str(group.id))
                .order_by(AuditEntry.id)
            )
        ).all()
    assert changes == ["pricing.create", "pricing.update"]  # the second add recorded nothing
    async with database.unit_of_work() as uow:
        with pytest.raises(NotFound):
            await groups.remove_customer_from_group(
                uow, SYSTEM, customer_group_id=str(group.id), customer_id=other
            )


@pytest.mark.parametrize("unknown", [UNKNOWN_ID, "cus_made_up"])
async def test_membership_refuses_an_unknown_customer(database: Database, unknown: str) -> None:
    group = await make_group(database, name="Trade")
    async with database.unit_of_work() as uow:
        with pytest.raises(NotFound) as refused:
            await groups.add_customer_to_group(
                uow, SYSTEM, customer_group_id=str(group.id), customer_id=unknown
            )
    assert refused.value.details == {"customerId": "Unknown."}
    async with database.read_session() as session:
        assert await groups.customer_group_ids(session, unknown) == frozenset()
        events = await session.scalars(select(Event.type).where(Event.entity_id == str(group.id)))
        assert events.all() == ["pricing.create"]


async def test_naming_groups_for_a_price_needs_pricing_update(database: Database) -> None:
    group = await make_group(database, name="Trade")
    requested = [str(group.id)]
    key = Actor(kind="api_key", id="k1", permissions=frozenset({"pricing:create"}))
    staff = Actor(kind="api_key", id="k2", permissions=frozenset({"pricing:update"}))
    async with database.read_session() as session:
        with pytest.raises(Unauthorized):
            await groups.groups_for(session, ANONYMOUS, requested)
        with pytest.raises(Forbidden):
            await groups.groups_for(session, key, requested)
        assert await groups.groups_for(session, staff, requested) == {group.id}
        # Asking for no group at all is asking for the public prices: anyone may.
        assert await groups.groups_for(session, ANONYMOUS, []) == frozenset()
        assert await groups.groups_for(session, ANONYMOUS, None) == frozenset()


async def test_a_signed_in_customer_resolves_with_their_own_groups(database: Database) -> None:
    group = await make_group(database, name="Trade")
    member = await customer(database, groups=(group,))
    signed_in = Actor(kind="user", id=str(member.id), customer_id=str(member.id))
    stranger_id = str((await customer(database)).id)
    stranger = Actor(kind="user", id=stranger_id, customer_id=stranger_id)
    async with database.read_session() as session:
        assert await groups.groups_for(session, signed_in, None) == {group.id}
        assert await groups.groups_for(session, stranger, None) == frozenset()
