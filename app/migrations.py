"""Run Alembic from code (`cartograph migrate`, `serve`, the tests)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic.config import Config

from alembic import command

ROOT = Path(__file__).resolve().parent.parent
# SQLite's FTS5 search table and the shadow tables FTS5 keeps for it (migration 0018_search):
# built by hand, described by no model.
SQLITE_SEARCH_TABLES = frozenset(
    {"search_fts", "search_fts_data", "search_fts_idx", "search_fts_docsize", "search_fts_config"}
)


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to `revision`. Call outside a running event loop."""
    command.upgrade(alembic_config(database_url), revision)


def include_object(dialect: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """Alembic's `include_object` for `dialect`: an index declared for other databases only
    (`app.models.base.postgresql_only`) is neither expected nor generated there; nor are
    SQLite's `SQLITE_SEARCH_TABLES`."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table" and reflected and name in SQLITE_SEARCH_TABLES:
            return False
        dialects = obj.info.get("dialects") if type_ == "index" else None
        return dialects is None or dialect in dialects

    return include
