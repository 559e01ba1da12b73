"""search: the search documents, PostgreSQL's tsvector + trigram indexes, SQLite's FTS5

Revision ID: 0018_search
Revises: 0017
Create Date: 2026-11-30 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0018_search"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FTS_COLUMNS = "titles, skus, brands, categories, description"


def _trigram_schema() -> str:
    """The schema holding pg_trgm (as in 0008), installed in `public` when absent."""
    bind = op.get_bind()
    bind.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('cartograph:pg_trgm'))"))
    find = sa.text(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
    )
    schema = bind.scalar(find)
    if schema is None:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
        schema = bind.scalar(find)
    return schema


def _fill(postgresql: bool) -> None:
    """One document per existing entity (the same texts `app.search.index.reindex` writes)."""
    agg = "string_agg({0}, ' ')" if postgresql else "group_concat({0}, ' ')"
    op.execute(
        f"""
        INSERT INTO search_documents
            (entity_id, type, status, slug, title, titles, description, skus, brands,
             categories, updated_at)
        SELECT e.id, e.type, e.status, e.slug,
            coalesce((SELECT a.title FROM catalog_attributes a
                      WHERE a.entity_id = e.id AND a.title IS NOT NULL
                      ORDER BY a.locale <> 'en', a.locale LIMIT 1), ''),
            coalesce((SELECT {agg.format("a.title")} FROM catalog_attributes a
                      WHERE a.entity_id = e.id), ''),
            coalesce((SELECT {agg.format("a.description")} FROM catalog_attributes a
                      WHERE a.entity_id = e.id), ''),
            coalesce((SELECT {agg.format("v.sku")} FROM variants v
                      WHERE v.entity_id = e.id), ''),
            coalesce((SELECT {agg.format("b.name")} FROM entity_brands l
                      JOIN brands b ON b.id = l.brand_id WHERE l.entity_id = e.id), ''),
            coalesce((SELECT {agg.format("c.name")} FROM entity_categories l
                      JOIN categories c ON c.id = l.category_id WHERE l.entity_id = e.id), ''),
            e.updated_at
        FROM catalog_entities e
        """
    )
    if postgresql:
        op.execute(
            """
            UPDATE search_documents SET document =
                setweight(to_tsvector('english', titles), 'A')
                || setweight(to_tsvector('simple', skus), 'A')
                || setweight(to_tsvector('english', brands), 'B')
                || setweight(to_tsvector('english', categories), 'B')
                || setweight(to_tsvector('english', description), 'C')
            """
        )


def upgrade() -> None:
    op.create_table(
        "search_documents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("titles", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("skus", sa.Text(), nullable=False),
        sa.Column("brands", sa.Text(), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column(
            "document", sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql"), nullable=True
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["catalog_entities.id"],
            name=op.f("fk_search_documents_entity_id_catalog_entities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_documents")),
        sa.UniqueConstraint("entity_id", name=op.f("uq_search_documents_entity_id")),
    )
    op.create_index(
        "ix_search_documents_status_type", "search_documents", ["status", "type"], unique=False
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.create_index(
            "ix_search_documents_document",
            "search_documents",
            ["document"],
            unique=False,
            postgresql_using="gin",
        )
        op.create_index(
            "ix_search_documents_title_trgm",
            "search_documents",
            ["title"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"title": f"{_trigram_schema()}.gin_trgm_ops"},
        )
    else:
        # An external-content FTS5 table over search_documents, kept in step by triggers
        # (the FTS5 documentation's recipe). No porter stemmer: it would break prefix
        # queries ("runn*" does not reach the stem "run"); every search term is a prefix.
        op.execute(
            f"CREATE VIRTUAL TABLE search_fts USING fts5({FTS_COLUMNS}, "
            "content='search_documents', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 2')"
        )
        new = ", ".join(f"new.{c}" for c in FTS_COLUMNS.split(", "))
        old = ", ".join(f"old.{c}" for c in FTS_COLUMNS.split(", "))
        delete = (
            f"INSERT INTO search_fts(search_fts, rowid, {FTS_COLUMNS}) "
            f"VALUES ('delete', old.id, {old});"
        )
        insert = f"INSERT INTO search_fts(rowid, {FTS_COLUMNS}) VALUES (new.id, {new});"
        for name, event, body in (("ai", "INSERT", insert), ("ad", "DELETE", delete)):
            op.execute(
                f"CREATE TRIGGER search_documents_{name} AFTER {event} ON search_documents "
                f"BEGIN {body} END"
            )
        op.execute(
            "CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents "
            f"BEGIN {delete} {insert} END"
        )
    _fill(postgres)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_search_documents_title_trgm", table_name="search_documents")
        op.drop_index("ix_search_documents_document", table_name="search_documents")
    else:
        for trigger in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER search_documents_{trigger}")
        op.execute("DROP TABLE search_fts")
    op.drop_index("ix_search_documents_status_type", table_name="search_documents")
    op.drop_table("search_documents")
