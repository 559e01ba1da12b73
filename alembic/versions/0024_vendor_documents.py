"""vendor documents

Revision ID: 0024_vendor_documents
Revises: 0023_marketplace_aftercare
Create Date: 2026-11-30 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_vendor_documents"
down_revision: str | None = "0023_marketplace_aftercare"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vendor_documents",
        sa.Column("vendor_id", sa.Uuid(), nullable=False),
        sa.Column("media_asset_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["media_asset_id"], ["media_assets.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendors.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_vendor_documents_media_asset_id", "vendor_documents", ["media_asset_id"]
    )
    op.create_index(
        "ix_vendor_documents_vendor_id_id", "vendor_documents", ["vendor_id", "id"]
    )
    op.create_index(
        "ix_vendor_documents_vendor_id_status_id",
        "vendor_documents",
        ["vendor_id", "status", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_vendor_documents_vendor_id_status_id", table_name="vendor_documents")
    op.drop_index("ix_vendor_documents_vendor_id_id", table_name="vendor_documents")
    op.drop_index("ix_vendor_documents_media_asset_id", table_name="vendor_documents")
    op.drop_table("vendor_documents")
