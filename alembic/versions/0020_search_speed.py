"""search speed: the title words PostgreSQL's suggestions walk, a title index for browsing

Revision ID: 0020_search_speed
Revises: 0018_search
Create Date: 2026-11-30 19:00:00.000000
"""

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from alembic import op

revision: str = "0020_search_speed"
down_revision: str | None = "0019_media"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000
WORD = re.compile(r"\w+")


def _rows(documents: Sequence[Any]) -> list[dict[str, Any]]:
    """As `app.search.index.word_rows` (copied: a migration keeps what it did)."""
    rows = []
    for id, title, type, status in documents:
        seen: dict[str, bool] = {}
        for position, word in enumerate(WORD.findall(title.lower())):
            seen.setdefault(word[:100], position > 0)
        rows += [
            {
                "document_id": id, "word": word, "later": later, "title_length": len(title),
                "title": title, "type": type, "status": status,
            }
            for word, later in seen.items()
        ]  # fmt: skip
    return rows


def _fill(words: sa.Table) -> None:
    """The words of every existing document's title (PostgreSQL; as `reindex` writes them)."""
    bind = op.get_bind()
    last = 0
    while True:
        documents = bind.execute(
            sa.text(
                "SELECT id, title, type, status FROM search_documents WHERE id > :last "
                "ORDER BY id LIMIT :batch"
            ),
            {"last": last, "batch": BATCH},
        ).all()
        if not documents:
            return
        rows = _rows(documents)
        if rows:
            bind.execute(words.insert(), rows)
        last = documents[-1][0]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    word = sa.String(length=100)
    words = op.create_table(
        "search_title_words",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column(
            "word",
            word.with_variant(sa.String(length=100, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("later", sa.Boolean(), nullable=False),
        sa.Column("title_length", sa.SmallInteger(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["search_documents.id"],
            name=op.f("fk_search_title_words_document_id_search_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", "word", name=op.f("pk_search_title_words")),
    )
    assert words is not None
    if postgres:
        _fill(words)
    op.create_index(
        "ix_search_title_words_suggest",
        "search_title_words",
        ["word", "later", "title_length", "title", "document_id"],
        unique=False,
    )
    # Browsing without a query ranks the first titles in order (`app.search.backend`).
    op.create_index("ix_search_documents_title", "search_documents", ["title", "id"], unique=False)
    if postgres:
        op.execute("ANALYZE search_title_words")


def downgrade() -> None:
    op.drop_index("ix_search_documents_title", table_name="search_documents")
    op.drop_index("ix_search_title_words_suggest", table_name="search_title_words")
    op.drop_table("search_title_words")
