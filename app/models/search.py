"""The search index: one document per catalog entity, the texts search ranks (app.search).

The service keeps it in step with the catalog in the same transaction (`app.search.reindex`).
PostgreSQL ranks `document`, a weighted tsvector (GIN), and falls back to trigram similarity
on `title` for typos; SQLite mirrors the texts into the FTS5 table `search_fts` by triggers
(migration 0018), keyed by the integer `id`: FTS5 rows are addressed by an integer rowid, and
only an INTEGER PRIMARY KEY keeps its value across a VACUUM.

`search_title_words` serves PostgreSQL's suggestions (migration 0020): each distinct word of
a document's `title`, with what suggestions filter and order by, written with the document.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, postgresql_only, utcnow


class SearchDocument(Base):
    __tablename__ = "search_documents"
    __table_args__ = (
        Index("ix_search_documents_status_type", "status", "type"),
        # Browsing without a query: the first titles in order (migration 0020).
        Index("ix_search_documents_title", "title", "id"),
        postgresql_only(Index("ix_search_documents_document", "document", postgresql_using="gin")),
        postgresql_only(
            Index(
                "ix_search_documents_title_trgm",
                "title",
                postgresql_using="gin",
                postgresql_ops={"title": "gin_trgm_ops"},
            )
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("catalog_entities.id", ondelete="CASCADE"), unique=True
    )
    type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20))
    slug: Mapped[str] = mapped_column(String(200))
    # The English title (else any locale's): what a hit shows and suggestions complete.
    title: Mapped[str] = mapped_column(String(500), default="")
    # Every locale's title and description, the variants' SKUs, brand and category names.
    titles: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    skus: Mapped[str] = mapped_column(Text, default="")
    brands: Mapped[str] = mapped_column(Text, default="")
    categories: Mapped[str] = mapped_column(Text, default="")
    # PostgreSQL only: the weighted tsvector (title A, SKUs A, brands/categories B,
    # description C); a text column left empty on SQLite.
    document: Mapped[str | None] = mapped_column(Text().with_variant(TSVECTOR(), "postgresql"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# A title word longer than this is kept by its first WORD_LENGTH characters.
WORD_LENGTH = 100


class SearchTitleWord(Base):
    """One distinct word of a search document's `title`, lower-cased (PostgreSQL only: the
    table stays empty on SQLite, whose FTS5 table completes prefixes itself).

    Suggestions walk `ix_search_title_words_suggest`: the words a prefix completes (a range
    of `word`, bytewise in the "C" collation), then for each word its documents already in
    suggestion order (titles starting with the word first, then shorter, then
    alphabetically), so a prefix costs a few short index scans however many titles hold it.
    `status`, `type`, `title` and `title_length` copy the document's, which `reindex`
    rewrites with its words in the same transaction.
    """

    __tablename__ = "search_title_words"
    __table_args__ = (
        Index(
            "ix_search_title_words_suggest",
            "word",
            "later",
            "title_length",
            "title",
            "document_id",
        ),
    )

    document_id: Mapped[int] = mapped_column(
        ForeignKey("search_documents.id", ondelete="CASCADE"), primary_key=True
    )
    word: Mapped[str] = mapped_column(
        String(WORD_LENGTH).with_variant(String(WORD_LENGTH, collation="C"), "postgresql"),
        primary_key=True,
    )
    # False when the title starts with the word.
    later: Mapped[bool] = mapped_column(Boolean)
    title_length: Mapped[int] = mapped_column(SmallInteger)
    title: Mapped[str] = mapped_column(String(500))
    type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20))
