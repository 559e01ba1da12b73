"""Promotion rules: what each type takes off a cart priced by the server, and every reason
a code gives nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.auth.actor import ANONYMOUS, SYSTEM, Actor
from app.db import Database
from app.errors import ValidationFailed
from app.models.catalog import CatalogEntity
from app.services.promotions import LineItem, Validation, can_combine, validate_code
from tests.support.catalog import make_category, make_entity
from tests.support.factories import customer
from tests.support.pricing import make_group, make_price
from tests.support.promotions import make_promotion, redeem, set_usage_count

NOW = datetime.now(UTC)


@pytest.fixture
async def mug(database: Database) -> CatalogEntity:
    entity = await make_entity(database, slug="mug")
    await make_price(database, entity, amount=1000)
    return entity


@pytest.fixture
async def pen(database: Database) -> CatalogEntity:
    entity = await make_entity(database, slug="pen")
    await make_price(database, entity, amount=250)
    return entity


def line(entity: CatalogEntity, quantity: int = 1) -> LineItem:
    return LineItem(entity_id=str(entity.id), quantity=quantity)


async def check(
    database: Database,
    *lines: LineItem,
    code: str = "SAVE10",
    currency: str = "USD",
    actor: Actor = ANONYMOUS,
    **extra: Any,
) -> Validation:
    async with database.read_session() as session:
        return await validate_code(
            session, actor, code=code, currency=currency, line_items=list(lines), **extra
        )


def reason_of(result: Validation) -> str | None:
    assert result.evaluation.valid is (result.evaluation.reason is None)
    return result.evaluation.reason


# --- arithmetic per type ------------------------------------------------------------------


async def test_percentage_off_order_takes_a_share_of_the_server_subtotal(
    database: Database, mug: CatalogEntity, pen: CatalogEntity
) -> None:
    await make_promotion(database, code="save10", value=10)
    result = await check(database, line(mug, 2), line(pen, 1), code="save10")
    evaluation = result.evaluation
    assert evaluation.valid and result.code == "SAVE10"
    assert (evaluation.subtotal, evaluation.discount) == (2250, 225)
    assert [d.discount for d in evaluation.lines] == [200, 25]
    assert result.promotion is not None and result.promotion.code == "SAVE10"


async def test_percentage_rounds_half_up_and_lines_add_up(
    database: Database, pen: CatalogEntity
) -> None:
    await make_promotion(database, value=15)
    result = await check(database, line(pen, 1))
    assert result.evaluation.discount == 38  # 37.5 rounds up
    assert sum(d.discount for d in result.evaluation.lines) == 38


async def test_fixed_amount_never_exceeds_the_subtotal(
    database: Database, pen: CatalogEntity, mug: CatalogEntity
) -> None:
    await make_promotion(
        database, code="FIVE", type="fixed_amount_off_order", value=500, currency="USD"
    )
    await make_promotion(
        database, code="HUGE", type="fixed_amount_off_order", value=99_999, currency="USD"
    )
    assert (await check(database, line(mug), code="FIVE")).evaluation.discount == 500
    huge = (await check(database, line(pen), line(mug), code="HUGE")).evaluation
    assert huge.discount == huge.subtotal == 1250
    assert [d.discount for d in huge.lines] == [250, 1000]


async def test_percentage_off_items_by_entity_touches_only_those_lines(
    database: Database, mug: CatalogEntity, pen: CatalogEntity
) -> None:
    await make_promotion(database, type="percentage_off_items", value=50, entity_ids=[str(mug.id)])
    result = (await check(database, line(mug, 2), line(pen, 4))).evaluation
    assert result.discount == 1000
    assert [d.discount for d in result.lines] == [1000, 0]


async def test_percentage_off_items_by_category(database: Database, pen: CatalogEntity) -> None:
    kitchen = await make_category(database, slug="kitchen")
    cup = await make_entity(database, slug="cup", category=kitchen)
    await make_price(database, cup, amount=800)
    await make_promotion(
        database, type="percentage_off_items", value=25, category_ids=[str(kitchen.id)]
    )
    result = (await check(database, line(cup, 1), line(pen, 1))).evaluation
    assert (result.discount, [d.discount for d in result.lines]) == (200, [200, 0])


async def test_percentage_off_items_without_a_qualifying_line_is_refused(
    database: Database, mug: CatalogEntity, pen: CatalogEntity
) -> None:
    await make_promotion(database, type="percentage_off_items", value=50, entity_ids=[str(mug.id)])
    assert reason_of(await check(database, line(pen))) == "no_qualifying_items"


async def test_buy_two_get_one_frees_the_cheapest_units(
    database: Database, mug: CatalogEntity, pen: CatalogEntity
) -> None:
    await make_promotion(database, type="buy_x_get_y", buy_quantity=2, get_quantity=1)
    # Six units make two groups of three: the two cheapest units (pens) are free.
    result = (await check(database, line(mug, 4), line(pen, 2))).evaluation
    assert (result.discount, [d.discount for d in result.lines]) == (500, [0, 500])
    # Five units make one group: one pen free.
    assert (await check(database, line(mug, 3), line(pen, 2))).evaluation.discount == 250


async def test_buy_x_get_y_scoped_to_entities_and_short_of_a_group(
    database: Database, mug: CatalogEntity, pen: CatalogEntity
) -> None:
    await make_promotion(
        database,
        type="buy_x_get_y",
        buy_quantity=1,
        get_quantity=1,
        value=50,
        entity_ids=[str(mug.id)],
    )
    result = (await check(database, line(mug, 2), line(pen, 5))).evaluation
    assert (result.discount, [d.discount for d in result.lines]) == (500, [500, 0])
    assert reason_of(await check(database, line(mug, 1), line(pen, 5))) == "no_qualifying_items"


async def test_free_shipping_gives_no_discount_on_goods(
    database: Database, mug: CatalogEntity
) -> None:
    await make_promotion(database, code="SHIPFREE", type="free_shipping")
    result = (await check(database, line(mug), code="shipfree")).evaluation
    assert result.valid and result.free_shipping and result.discount == 0


# --- the server's prices only ---------------------------------------------------------------


async def test_the_cart_is_priced_by_the_server_not_the_client(
    database: Database, mug: CatalogEntity
) -> None:
    """LineItem has no price to tamper with; the API test sends one and shows it ignored."""
    await make_promotion(database, value=10)
    result = (await check(database, line(mug, 3))).evaluation
    assert (result.subtotal, result.discount) == (3000, 300)
    assert result.lines[0].line.unit_price == 1000


async def test_an_unpriced_line_makes_the_code_invalid(
    database: Database, mug: CatalogEntity
) -> None:
    await make_promotion(database)
    bare = await make_entity(database, slug="bare")
    assert reason_of(await check(database, line(mug), line(bare))) == "item_not_priced"
    assert reason_of(await check(database, line(mug), currency="EUR")) == "item_not_priced"


async def test_a_draft_entity_is_not_priced_for_a_shopper(database: Database) -> None:
    await make_promotion(database)
    draft = await make_entity(database, slug="draft", status="draft")
    await make_price(database, draft, amount=100)
    assert reason_of(await check(database, line(draft))) == "item_not_priced"
    assert reason_of(await check(database, line(draft), actor=SYSTEM)) is None


async def test_a_malformed_cart_is_a_validation_error(database: Database) -> None:
    await make_promotion(database)
    bad = [LineItem(entity_id="nope", quantity=1), LineItem(entity_id=str(NOW), quantity=0)]
    with pytest.raises(ValidationFailed) as caught:
        await check(database, *bad)
    assert set(caught.value.details or {}) >= {"lineItems[0].entityId", "lineItems[1].quantity"}
    with pytest.raises(ValidationFailed):
        await check(database, currency="usd")


# --- reasons ------------------------------------------------------------------------------


async def test_an_unknown_code_is_refused(database: Database, mug: CatalogEntity) -> None:
    result = await check(database, line(mug), code="NOPE")
    assert reason_of(result) == "unknown_code" and result.promotion is None
    assert result.evaluation.message == "No promotion has this code."


async def test_the_window_and_active_flag(database: Database, mug: CatalogEntity) -> None:
    await make_promotion(database, code="LATER", valid_from=NOW + timedelta(days=1))
    await make_promotion(database, code="GONE", valid_until=NOW - timedelta(seconds=1))
    await make_promotion(database, code="OFF", active=False)
    await make_promotion(
        database,
        code="NOW",
        valid_from=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=1),
    )
    assert reason_of(await check(database, line(mug), code="LATER")) == "not_started"
    assert reason_of(await check(database, line(mug), code="GONE")) == "expired"
    assert reason_of(await check(database, line(mug), code="OFF")) == "inactive"
    assert reason_of(await check(database, line(mug), code="NOW")) is None
    later = await check(database, line(mug), code="LATER", at=NOW + timedelta(days=2))
    assert reason_of(later) is None


async def test_the_total_usage_limit(database: Database, mug: CatalogEntity) -> None:
    promotion = await make_promotion(database, usage_limit=2)
    await set_usage_count(database, promotion, 1)
    assert reason_of(await check(database, line(mug))) is None
    await set_usage_count(database, promotion, 2)
    assert reason_of(await check(database, line(mug))) == "usage_limit_reached"


async def test_the_per_customer_limit_counts_redemptions(
    database: Database, mug: CatalogEntity
) -> None:
    promotion = await make_promotion(database, per_customer_limit=1)
    await redeem(database, promotion, customer_id="cus_1")
    assert reason_of(await check(database, line(mug), customer_id="cus_1")) == (
        "customer_limit_reached"
    )
    assert reason_of(await check(database, line(mug), customer_id="cus_2")) is None
    assert reason_of(await check(database, line(mug))) == "customer_required"


async def test_the_minimum_subtotal_uses_server_prices(
    database: Database, mug: CatalogEntity
) -> None:
    await make_promotion(database, min_subtotal=2000, currency="USD")
    assert reason_of(await check(database, line(mug, 1))) == "min_subtotal_not_met"
    assert reason_of(await check(database, line(mug, 2))) is None


async def test_a_currency_bound_promotion_refuses_other_currencies(
    database: Database, mug: CatalogEntity
) -> None:
    await make_price(database, mug, amount=900, currency="EUR")
    await make_promotion(database, type="fixed_amount_off_order", value=100, currency="USD")
    assert reason_of(await check(database, line(mug), currency="EUR")) == "currency_mismatch"


async def test_customer_groups_come_from_membership_or_staff(
    database: Database, mug: CatalogEntity
) -> None:
    vip = await make_group(database, name="VIP")
    member = str((await customer(database, groups=(vip,))).id)
    await make_promotion(database, customer_group_ids=[str(vip.id)])
    claimed = {"customer_group_ids": [str(vip.id)]}
    assert reason_of(await check(database, line(mug))) == "customer_group_not_eligible"
    # A shopper naming the group is not believed; membership and staff are.
    assert reason_of(await check(database, line(mug), **claimed)) == "customer_group_not_eligible"
    assert reason_of(await check(database, line(mug), customer_id=member)) is None
    assert reason_of(await check(database, line(mug), actor=SYSTEM, **claimed)) is None


async def test_stacking_needs_every_promotion_stackable(database: Database) -> None:
    a = await make_promotion(database, code="AAA", stackable=True)
    b = await make_promotion(database, code="BBB", stackable=True)
    c = await make_promotion(database, code="CCC")
    assert can_combine([c]) and can_combine([a, b])
    assert not can_combine([a, c])
