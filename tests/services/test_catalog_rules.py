"""Catalog rules at the service level: the status machine and the attribute fallback."""

from __future__ import annotations

import itertools
import uuid

import pytest

from app.auth.actor import SYSTEM
from app.db import Database
from app.errors import Conflict, ValidationFailed
from app.models.catalog import CatalogAttributes
from app.services.catalog import entities
from app.services.catalog.attributes import localize
from app.services.catalog.entities import ACTIONS, TRANSITIONS

ALLOWED = {
    ("draft", "publish"), ("draft", "archive"),
    ("active", "archive"), ("active", "discontinue"),
    ("archived", "publish"), ("archived", "discontinue"),
}  # fmt: skip


@pytest.mark.parametrize(("start", "action"), list(itertools.product(TRANSITIONS, ACTIONS)))
async def test_status_machine(database: Database, start: str, action: str) -> None:
    async with database.unit_of_work() as uow:
        entity = await entities.create_entity(
            uow, SYSTEM, type="product", slug=f"e-{start}-{action}", status=start
        )
        await uow.commit()
    async with database.unit_of_work() as uow:
        if (start, action) in ALLOWED:
            moved = await entities.transition(uow, SYSTEM, id=str(entity.id), action=action)
            assert moved.status == ACTIONS[action]
        else:
            with pytest.raises(Conflict) as refused:
                await entities.transition(uow, SYSTEM, id=str(entity.id), action=action)
            allowed = ", ".join(TRANSITIONS[start]) or "none"
            assert allowed in refused.value.message


def _row(locale: str, **texts: str | None) -> CatalogAttributes:
    values = {"title": None, "description": None, "seo_title": None, "seo_description": None}
    return CatalogAttributes(entity_id=uuid.UUID(int=1), locale=locale, **(values | texts))


def test_localize_falls_back_field_by_field_to_the_default_locale() -> None:
    rows = [_row("en", title="Mug", description="A mug."), _row("de", title="Becher")]
    german = localize(rows, "de")
    assert german is not None
    assert (german.locale, german.title, german.description) == ("de", "Becher", "A mug.")
    french = localize(rows, "fr")
    assert french is not None and (french.locale, french.title) == ("en", "Mug")
    assert localize([_row("de", title="Becher")], "fr") is None


def _nested(levels: int) -> dict[str, object]:
    value: dict[str, object] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("metadata", "problem"),
    [
        (_nested(33), "Nested more than 32 levels deep."),
        (_nested(300), "Nested more than 32 levels deep."),
        ({"n": "\ud800"}, "Not storable as JSON"),
        ({"n": 10**23}, "Not storable as JSON"),
    ],
    ids=["33-deep", "300-deep", "lone-surrogate", "int-over-64-bits"],
)
async def test_metadata_no_response_could_encode_is_refused_by_the_service(
    database: Database, metadata: dict[str, object], problem: str
) -> None:
    """The service refuses it too, whoever calls (the GraphQL scalar refuses it first)."""
    async with database.unit_of_work() as uow:
        with pytest.raises(ValidationFailed) as refused:
            await entities.create_entity(
                uow, SYSTEM, type="product", slug="deep", status="draft", metadata=metadata
            )
    assert refused.value.details is not None
    assert refused.value.details["metadata"].startswith(problem)


async def test_metadata_32_levels_deep_is_stored(database: Database) -> None:
    async with database.unit_of_work() as uow:
        entity = await entities.create_entity(
            uow, SYSTEM, type="product", slug="deep", status="draft", metadata=_nested(32)
        )
        await uow.commit()
    assert entity.meta == _nested(32)
