"""marketplace: vendors, sub-orders, and the vendor links of users, catalog entities and
order lines

Revision ID: 0021_marketplace
Revises: 0018_search
Create Date: 2026-11-30 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0021_marketplace"
down_revision: str | None = "0020_search_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


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


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    op.create_table(
        "vendors",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("address", json, nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.String(length=500), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendors")),
        sa.UniqueConstraint("slug", name=op.f("uq_vendors_slug")),
    )
    op.create_index("ix_vendors_status_id", "vendors", ["status", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_vendors_name_trgm", "vendors", ["name"], unique=False,
            postgresql_using="gin", postgresql_ops={"name": f"{_trigram_schema()}.gin_trgm_ops"},
        )  # fmt: skip
    op.create_table(
        "sub_orders",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("order_number", sa.String(length=20), nullable=False),
        sa.Column("shipping_address", json, nullable=True),
        sa.Column("vendor_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("tracking_number", sa.String(length=200), nullable=True),
        sa.Column("carrier", sa.String(length=100), nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_sub_orders_order_id_orders"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendors.id"], name=op.f("fk_sub_orders_vendor_id_vendors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sub_orders")),
    )
    with op.batch_alter_table("sub_orders", schema=None) as batch_op:
        batch_op.create_index("ix_sub_orders_order_id", ["order_id"], unique=False)
        batch_op.create_index("ix_sub_orders_status_id", ["status", "id"], unique=False)
        batch_op.create_index("ix_sub_orders_vendor_id_id", ["vendor_id", "id"], unique=False)
        batch_op.create_index(
            "ix_sub_orders_vendor_id_status_id", ["vendor_id", "status", "id"], unique=False
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vendor_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_vendor_id"), ["vendor_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_users_vendor_id_vendors"), "vendors", ["vendor_id"], ["id"]
        )
    with op.batch_alter_table("catalog_entities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vendor_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            "ix_catalog_entities_vendor_id_id", ["vendor_id", "id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_catalog_entities_vendor_id_vendors"), "vendors", ["vendor_id"], ["id"]
        )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sub_order_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_order_lines_sub_order_id"), ["sub_order_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_order_lines_sub_order_id_sub_orders"), "sub_orders",
            ["sub_order_id"], ["id"], ondelete="CASCADE",
        )  # fmt: skip


def downgrade() -> None:
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_order_lines_sub_order_id_sub_orders"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_order_lines_sub_order_id"))
        batch_op.drop_column("sub_order_id")
    with op.batch_alter_table("catalog_entities", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_catalog_entities_vendor_id_vendors"), type_="foreignkey"
        )
        batch_op.drop_index("ix_catalog_entities_vendor_id_id")
        batch_op.drop_column("vendor_id")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_users_vendor_id_vendors"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_users_vendor_id"))
        batch_op.drop_column("vendor_id")
    op.drop_table("sub_orders")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_vendors_name_trgm", table_name="vendors")
    op.drop_index("ix_vendors_status_id", table_name="vendors")
    op.drop_table("vendors")
