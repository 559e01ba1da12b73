"""Price resolution: tiers, customer groups, validity windows, variants, currencies and
modifiers, and a batch that costs the same statements for 5 items as for 50."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from app.db import Database
from app.errors import ValidationFailed
from app.models.base import utcnow
from app.models.catalog import CatalogEntity
from app.services.pricing import PriceQuery, ResolvedPrice, resolve_price, resolve_prices
from tests.support.catalog import make_entity
from tests.support.pricing import make_group, make_modifier, make_price, variants_of
from tests.support.queries import count_queries

NOW = utcnow()
DAY = timedelta(days=1)


async def resolve(
    database: Database, entity: CatalogEntity, currency: str = "USD", **options: Any
) -> ResolvedPrice | None:
    async with database.read_session() as session:
        return await resolve_price(session, entity_id=entity.id, currency=currency, **options)


async def amount_of(database: Database, entity: CatalogEntity, **options: Any) -> int | None:
    resolved = await resolve(database, entity, **options)
    return resolved.amount if resolved else None


@pytest.fixture
async def mug(database: Database) -> CatalogEntity:
    return await make_entity(database, slug="mug")


# --- tiers ----------------------------------------------------------------------------------


async def test_tiers_give_each_quantity_the_price_of_the_highest_tier_it_reaches(
    database: Database, mug: CatalogEntity
) -> None:
    await make_price(database, mug, amount=1000, min_quantity=1)
    await make_price(database, mug, amount=900, min_quantity=10)
    await make_price(database, mug, amount=800, min_quantity=100)
    amounts = [await amount_of(database, mug, quantity=q) for q in (1, 9, 10, 99, 100, 500)]
    assert amounts == [1000, 1000, 900, 900, 800, 800]


async def test_a_tier_alone_prices_nothing_below_its_minimum(
    database: Database, mug: CatalogEntity
) -> None:
    await make_price(database, mug, amount=900, min_quantity=10)
    assert await resolve(database, mug, quantity=9) is None
    assert await amount_of(database, mug, quantity=10) == 900


async def test_the_resolved_price_names_the_record_it_used(
    database: Database, mug: CatalogEntity
) -> None:
    await make_price(database, mug, amount=1000)
    tier = await make_price(database, mug, amount=900, min_quantity=10)
    resolved = await resolve(database, mug, quantity=12)
    assert resolved is not None
    assert resolved.price.id == tier.id
    assert (resolved.currency, resolved.base_amount, resolved.amount) == ("USD", 900, 900)
    assert resolved.modifiers == () and resolved.discount == 0


# --- customer groups ------------------------------------------------------------------------


async def test_a_group_price_applies_only_to_members_of_that_group(
    database: Database, mug: CatalogEntity
) -> None:
    wholesale = await make_group(database, name="Wholesale")
    staff = await make_group(database, name="Staff")
    await make_price(database, mug, amount=1000)
    await make_price(database, mug, amount=700, group=wholesale)
    assert await amount_of(database, mug) == 1000
    assert await amount_of(database, mug, customer_group_ids=[staff.id]) == 1000
    assert await amount_of(database, mug, customer_group_ids=[wholesale.id]) == 700
    assert await amount_of(database, mug, customer_group_ids=[staff.id, wholesale.id]) == 700


async def test_a_dearer_group_price_never_beats_a_cheaper_public_one(
    database: Database, mug: CatalogEntity
) -> None:
    vip = await make_group(database, name="VIP")
    await make_price(database, mug, amount=1000)
    await make_price(database, mug, amount=1100, group=vip)
    assert await amount_of(database, mug, customer_group_ids=[vip.id]) == 1000


async def test_a_group_price_without_a_public_one_is_unpriced_for_everyone_else(
    database: Database, mug: CatalogEntity
) -> None:
    trade = await make_group(database, name="Trade")
    await make_price(database, mug, amount=500, group=trade)
    assert await resolve(database, mug) is None
    assert await amount_of(database, mug, customer_group_ids=[trade.id]) == 500


async def test_group_tiers_combine_with_quantity(database: Database, mug: CatalogEntity) -> None:
    trade = await make_group(database, name="Trade")
    await make_price(database, mug, amount=1000)
    await make_price(database, mug, amount=950, min_quantity=10)
    await make_price(database, mug, amount=800, group=trade, min_quantity=10)
    assert await amount_of(database, mug, customer_group_ids=[trade.id], quantity=9) == 1000
    assert await amount_of(database, mug, customer_group_ids=[trade.id], quantity=10) == 800
    assert await amount_of(database, mug, quantity=10) == 950


# --- validity windows -----------------------------------------------------------------------


async def test_expired_and_not_yet_valid_prices_are_ignored(
    database: Database, mug: CatalogEntity
) -> None:
    await make_price(database, mug, amount=1000)
    await make_price(database, mug, amount=600, valid_from=NOW - 10 * DAY, valid_until=NOW - DAY)
    await make_price(database, mug, amount=500, valid_from=NOW + DAY)
    assert await amount_of(database, mug) == 1000


async def test_a_current_sale_window_wins_while_it_lasts(
    database: Database, mug: CatalogEntity
) -> None:
    await make_price(database, mug, amount=1000)
    await make_price(database, mug, amount=750, valid_from=NOW - DAY, valid_until=NOW + DAY)
    assert await amount_of(database, mug) == 750


async def test_the_at_parameter_prices_another_moment(
    database: Database, mug: CatalogEntity
) -> None:
    await make_price(database, mug, amount=1000)
    await make_price(database, mug, amount=600, valid_from=NOW - 10 * DAY, valid_until=NOW - DAY)
    await make_price(database, mug, amount=500, valid_from=NOW + DAY)
    assert await amount_of(database, mug, at=NOW - 5 * DAY) == 600
    assert await amount_of(database, mug, at=NOW + 2 * DAY) == 500
    assert await amount_of(database, mug, at=NOW) == 1000


async def test_a_window_includes_its_start_and_excludes_its_end(
    database: Database, mug: CatalogEntity
) -> None:
    start, end = NOW + DAY, NOW + 2 * DAY
    await make_price(database, mug, amount=900, valid_from=start, valid_until=end)
    assert await resolve(database, mug, at=start - timedelta(microseconds=1)) is None
    assert await amount_of(database, mug, at=start) == 900
    assert await amount_of(database, mug, at=end - timedelta(microseconds=1)) == 900
    assert await resolve(database, mug, at=end) is None


# --- variants and currencies ----------------------------------------------------------------


async def test_a_variant_price_beats_the_entity_price_and_the_entity_price_is_the_fallback(
    database: Database,
) -> None:
    shirt = await make_entity(database, slug="shirt", sizes=("S", "M"))
    variants = await variants_of(database, shirt)
    small, medium = variants["SHIRT-S"], variants["SHIRT-M"]
    await make_price(database, shirt, amount=1000)
    own = await make_price(database, shirt, variant=small, amount=1200)
    resolved = await resolve(database, shirt, variant_id=small.id)
    assert resolved is not None and resolved.price.id == own.id
    assert resolved.amount == 1200  # the variant's own price, though dearer
    assert await amount_of(database, shirt, variant_id=medium.id) == 1000
    assert await amount_of(database, shirt) == 1000


async def test_an_expired_variant_price_falls_back_to_the_entity_price(
    database: Database,
) -> None:
    shirt = await make_entity(database, slug="shirt", sizes=("S",))
    small = (await variants_of(database, shirt))["SHIRT-S"]
    await make_price(database, shirt, amount=1000)
    await make_price(database, shirt, variant=small, amount=800, valid_until=NOW - DAY)
    assert await amount_of(database, shirt, variant_id=small.id) == 1000


async def test_variant_prices_do_not_price_the_entity_itself(database: Database) -> None:
    shirt = await make_entity(database, slug="shirt", sizes=("S",))
    small = (await variants_of(database, shirt))["SHIRT-S"]
    await make_price(database, shirt, variant=small, amount=800)
    assert await resolve(database, shirt) is None
    assert await amount_of(database, shirt, variant_id=small.id) == 800


async def test_another_currency_is_not_a_price(database: Database, mug: CatalogEntity) -> None:
    await make_price(database, mug, amount=1000, currency="USD")
    assert await resolve(database, mug, currency="EUR") is None
    await make_price(database, mug, amount=950, currency="EUR")
    assert await amount_of(database, mug, currency="EUR") == 950
    assert await amount_of(database, mug, currency="USD") == 1000


async def test_an_unpriced_or_unknown_entity_resolves_to_none(
    database: Database, mug: CatalogEntity
) -> None:
    assert await resolve(database, mug) is None
    async with database.read_session() as session:
        unknown = await resolve_price(session, entity_id=uuid.uuid4(), currency="USD")
    assert unknown is None


async def test_statuses_limit_resolution_to_entities_the_caller_may_see(
    database: Database,
) -> None:
    draft = await make_entity(database, slug="secret", status="draft")
    await make_price(database, draft, amount=1000)
    assert await resolve(database, draft, statuses=("active",)) is None
    assert await amount_of(database, draft, statuses=None) == 1000


@pytest.mark.parametrize(
    ("currency", "quantity", "field"), [("usd", 1, "currency"), ("USD", 0, "quantity")]
)
async def test_a_bad_currency_or_quantity_is_refused(
    database: Database, mug: CatalogEntity, currency: str, quantity: int, field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await resolve(database, mug, currency=currency, quantity=quantity)
    assert refused.value.details is not None and field in refused.value.details


# --- modifiers ------------------------------------------------------------------------------


async def test_a_percentage_modifier_takes_whole_percent_off(
    database: Database, mug: CatalogEntity
) -> None:
    await make_price(database, mug, amount=1000)
    modifier = await make_modifier(database, kind="percentage", value=10, name="Ten off")
    resolved = await resolve(database, mug)
    assert resolved is not None
    assert (resolved.base_amount, resolved.amount, resolved.discount) == (1000, 900, 100)
    [applied] = resolved.modifiers
    assert (applied.modifier.id, applied.discount) == (modifier.id, 100)


async def test_a_percentage_discount_rounds_half_up_to_the_minor_unit(
    database: Database, mug: CatalogEntity
) -> None:
    await make_price(database, mug, amount=999)
    await make_modifier(database, kind="percentage", value=15)
    assert await amount_of(database, mug) == 849  # 149.85 off -> 150


async def test_a_fixed_modifier_takes_minor_units_off_in_its_own_currency_only(
    database: Database, mug: CatalogEntity
) -> None:
    await make_price(database, mug, amount=1000, currency="USD")
    await make_price(database, mug, amount=1000, currency="EUR")
    await make_modifier(database, kind="fixed", value=150, currency="USD")
    assert await amount_of(database, mug, currency="USD") == 850
    assert await amount_of(database, mug, currency="EUR") == 1000


async def test_a_percentage_modifier_with_a_currency_applies_to_that_currency_only(
    database: Database, mug: CatalogEntity
) -> None:
    await make_price(database, mug, amount=1000, currency="USD")
    await make_price(database, mug, amount=1000, currency="EUR")
    await make_modifier(database, kind="percentage", value=20, currency="EUR")
    assert await amount_of(database, mug, currency="USD") == 1000
    assert await amount_of(database, mug, currency="EUR") == 800


async def test_a_modifier_scoped_to_a_group_applies_to_its_members_only(
    database: Database, mug: CatalogEntity
) -> None:
    vip = await make_group(database, name="VIP")
    await make_price(database, mug, amount=1000)
    await make_modifier(database, kind="percentage", value=25, group=vip)
    assert await amount_of(database, mug) == 1000
    assert await amount_of(database, mug, customer_group_ids=[vip.id]) == 750


async def test_a_modifier_scoped_by_quantity_applies_from_its_minimum(
    database: Database, mug: CatalogEntity
) -> None:
    await make_price(database, mug, amount=1000)
    await make_modifier(database, kind="fixed", value=100, currency="USD", min_quantity=5)
    assert await amount_of(database, mug, quantity=4) == 1000
    assert await amount_of(database, mug, quantity=5) == 900


async def test_a_modifier_applies_only_inside_its_window(
    database: Database, mug: CatalogEntity
) -> None:
    await make_price(database, mug, amount=1000)
    await make_modifier(
        database, kind="percentage", value=50, valid_from=NOW + DAY, valid_until=NOW + 2 * DAY
    )
    await make_modifier(database, kind="percentage", value=10, valid_until=NOW - DAY)
    assert await amount_of(database, mug) == 1000
    assert await amount_of(database, mug, at=NOW + DAY) == 500
    assert await amount_of(database, mug, at=NOW - 2 * DAY) == 900


async def test_a_modifier_scoped_to_an_entity_leaves_others_alone(
    database: Database, mug: CatalogEntity
) -> None:
    cup = await make_entity(database, slug="cup")
    await make_price(database, mug, amount=1000)
    await make_price(database, cup, amount=1000)
    await make_modifier(database, kind="percentage", value=30, entity=mug)
    assert await amount_of(database, mug) == 700
    assert await amount_of(database, cup) == 1000


async def test_an_inactive_modifier_is_ignored(database: Database, mug: CatalogEntity) -> None:
    await make_price(database, mug, amount=1000)
    await make_modifier(database, kind="percentage", value=30, active=False)
    assert await amount_of(database, mug) == 1000


@pytest.mark.parametrize(
    ("fixed_priority", "percentage_priority", "expected"),
    [(0, 1, 810), (1, 0, 800)],  # 1000 -100 -10% = 810; 1000 -10% -100 = 800
)
async def test_modifiers_apply_in_ascending_priority_each_to_the_result_before(
    database: Database,
    mug: CatalogEntity,
    fixed_priority: int,
    percentage_priority: int,
    expected: int,
) -> None:
    await make_price(database, mug, amount=1000)
    await make_modifier(
        database, kind="fixed", value=100, currency="USD", priority=fixed_priority, name="fixed"
    )
    await make_modifier(
        database, kind="percentage", value=10, priority=percentage_priority, name="percentage"
    )
    resolved = await resolve(database, mug)
    assert resolved is not None and resolved.amount == expected
    names = [applied.modifier.name for applied in resolved.modifiers]
    first_fixed = fixed_priority < percentage_priority
    assert names == (["fixed", "percentage"] if first_fixed else ["percentage", "fixed"])
    assert sum(applied.discount for applied in resolved.modifiers) == 1000 - expected


async def test_modifiers_never_take_a_price_below_zero(
    database: Database, mug: CatalogEntity
) -> None:
    await make_price(database, mug, amount=1000)
    await make_modifier(database, kind="fixed", value=5000, currency="USD", name="huge")
    await make_modifier(database, kind="percentage", value=10, priority=1, name="after")
    resolved = await resolve(database, mug)
    assert resolved is not None
    assert (resolved.amount, resolved.discount) == (0, 1000)
    # Nothing is left for the second one to take.
    assert [(a.modifier.name, a.discount) for a in resolved.modifiers] == [("huge", 1000)]


async def test_a_hundred_percent_makes_it_free(database: Database, mug: CatalogEntity) -> None:
    await make_price(database, mug, amount=1234)
    await make_modifier(database, kind="percentage", value=100)
    assert await amount_of(database, mug) == 0


# --- batches --------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [5, 50])
async def test_a_batch_costs_the_same_statements_for_5_and_50_items(
    database: Database, count: int
) -> None:
    trade = await make_group(database, name="Trade")
    await make_modifier(database, kind="percentage", value=10)
    await make_modifier(database, kind="fixed", value=50, currency="USD", group=trade)
    queries: list[PriceQuery] = []
    for i in range(count):
        entity = await make_entity(database, slug=f"item-{i:03d}", sizes=("S",))
        small = (await variants_of(database, entity))[f"ITEM-{i:03d}-S"]
        await make_price(database, entity, amount=1000 + i)
        await make_price(database, entity, variant=small, amount=2000 + i)
        await make_price(database, entity, amount=900 + i, group=trade, min_quantity=3)
        queries.append(PriceQuery(entity_id=entity.id, currency="USD"))
        queries.append(
            PriceQuery(
                entity_id=entity.id,
                variant_id=small.id,
                currency="USD",
                customer_group_ids=frozenset({trade.id}),
                quantity=3,
            )
        )
        queries.append(
            PriceQuery(
                entity_id=entity.id,
                currency="USD",
                customer_group_ids=frozenset({trade.id}),
                quantity=3,
            )
        )
    async with database.read_session() as session:
        with count_queries(database) as statements:
            resolved = await resolve_prices(session, queries)
    assert statements.count == 2, statements.statements  # the prices, the modifiers
    assert len(resolved) == 3 * count
    last = count - 1
    public, variant, group = (resolved[q] for q in queries[3 * last : 3 * last + 3])
    assert public is not None and public.amount == (1000 + last) - (1000 + last + 5) // 10
    assert variant is not None and variant.base_amount == 2000 + last  # the variant's own
    assert group is not None and group.base_amount == 900 + last
    assert group.amount == (900 + last) - (900 + last + 5) // 10 - 50


async def test_a_batch_answers_every_query_even_unpriced_ones(
    database: Database, mug: CatalogEntity
) -> None:
    await make_price(database, mug, amount=1000)
    priced = PriceQuery(entity_id=mug.id, currency="USD")
    other_currency = PriceQuery(entity_id=mug.id, currency="EUR")
    unknown = PriceQuery(entity_id=uuid.uuid4(), currency="USD")
    async with database.read_session() as session:
        resolved = await resolve_prices(session, [priced, other_currency, unknown, priced])
    assert set(resolved) == {priced, other_currency, unknown}
    assert resolved[priced] is not None and resolved[priced].amount == 1000
    assert resolved[other_currency] is None and resolved[unknown] is None


async def test_an_empty_batch_sends_no_statement(database: Database) -> None:
    async with database.read_session() as session:
        with count_queries(database) as statements:
            assert await resolve_prices(session, []) == {}
    assert statements.count == 0


async def test_the_modifiers_statement_is_sent_only_when_one_may_apply(
    database: Database, mug: CatalogEntity
) -> None:
    other = await make_entity(database, slug="bowl")
    await make_price(database, mug, amount=1000)
    # Modifiers that cannot apply to the mug in USD: another entity's, another currency's,
    # an inactive one.
    await make_modifier(database, kind="percentage", value=10, entity=other)
    await make_modifier(database, kind="fixed", value=100, currency="EUR")
    await make_modifier(database, kind="percentage", value=10, active=False)
    query = PriceQuery(entity_id=mug.id, currency="USD")
    async with database.read_session() as session:
        with count_queries(database) as statements:
            resolved = (await resolve_prices(session, [query]))[query]
    assert statements.count == 1, statements.statements  # the prices, none may be modified
    assert resolved is not None and (resolved.amount, resolved.modifiers) == (1000, ())

    await make_modifier(database, kind="fixed", value=100, currency="USD", entity=mug)
    async with database.read_session() as session:
        with count_queries(database) as statements:
            resolved = (await resolve_prices(session, [query]))[query]
    assert statements.count == 2, statements.statements  # the prices, the modifiers
    assert resolved is not None and resolved.amount == 900
