"""The declarative base: naming convention, portable column types and audit snapshots."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Index, MetaData, Table, Uuid
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from app.ids import uuid7

# Stable constraint names, so migrations name the same thing the same way on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on every database (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        uuid.UUID: Uuid(),
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[str]: JSONType,
    }

    # Every model maps a table (none maps a join or a subquery), so say so to the type checker:
    # DeclarativeBase types `__table__` as any FromClause.
    __table__: ClassVar[Table]

    # Columns never copied into audit snapshots (secrets, hashes).
    __audit_exclude__: ClassVar[frozenset[str]] = frozenset()

    def snapshot(self) -> dict[str, Any]:
        """The row's columns as JSON-safe camelCase values, for audit before/after."""
        result: dict[str, Any] = {}
        for attribute in sa_inspect(type(self)).column_attrs:
            if attribute.key in self.__audit_exclude__:
                continue
            # Named after the column (`metadata`), read through the attribute (`meta`).
            name = attribute.columns[0].name
            result[_camel(name)] = _json_safe(getattr(self, attribute.key))
        return result


def postgresql_only(index: Index) -> Index:
    """An index only PostgreSQL can build (a GIN trigram index, say): other databases go
    without it, and the migration check (`app.migrations.include_object`) skips it there."""
    index.info["dialects"] = ("postgresql",)
    return index.ddl_if(dialect="postgresql")


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _json_safe(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value
