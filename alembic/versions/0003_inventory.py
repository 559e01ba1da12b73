"""inventory

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 17:36:45.616449
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('warehouses',
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_warehouses')),
    sa.UniqueConstraint('code', name=op.f('uq_warehouses_code'))
    )
    op.create_table('inventory_levels',
    sa.Column('entity_id', sa.Uuid(), nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=True),
    sa.Column('warehouse_id', sa.Uuid(), nullable=False),
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('reserved_quantity', sa.Integer(), nullable=False),
    sa.Column('reorder_point', sa.Integer(), nullable=False),
    sa.Column('reorder_quantity', sa.Integer(), nullable=False),
    sa.Column('last_updated', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('reserved_quantity >= 0', name=op.f('ck_inventory_levels_reserved_not_negative')),
    sa.ForeignKeyConstraint(['entity_id'], ['catalog_entities.id'], name=op.f('fk_inventory_levels_entity_id_catalog_entities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_inventory_levels_variant_id_variants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_inventory_levels_warehouse_id_warehouses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_levels')),
    sa.UniqueConstraint('warehouse_id', 'sku', name=op.f('uq_inventory_levels_warehouse_id_sku'))
    )
    with op.batch_alter_table('inventory_levels', schema=None) as batch_op:
        batch_op.create_index('ix_inventory_levels_entity_id', ['entity_id'], unique=False)
        batch_op.create_index('ix_inventory_levels_sku_warehouse_id', ['sku', 'warehouse_id'], unique=False)
        batch_op.create_index('ix_inventory_levels_variant_id', ['variant_id'], unique=False)

    op.create_table('inventory_movements',
    sa.Column('level_id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.Column('reserved_delta', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('reference_id', sa.String(length=200), nullable=True),
    sa.Column('actor_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['level_id'], ['inventory_levels.id'], name=op.f('fk_inventory_movements_level_id_inventory_levels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_movements'))
    )
    with op.batch_alter_table('inventory_movements', schema=None) as batch_op:
        batch_op.create_index('ix_inventory_movements_level_id_id', ['level_id', 'id'], unique=False)

    op.create_table('inventory_reservations',
    sa.Column('level_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reference_id', sa.String(length=200), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['level_id'], ['inventory_levels.id'], name=op.f('fk_inventory_reservations_level_id_inventory_levels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_reservations'))
    )
    with op.batch_alter_table('inventory_reservations', schema=None) as batch_op:
        batch_op.create_index('ix_inventory_reservations_reference_id', ['reference_id'], unique=False)
        batch_op.create_index('ix_inventory_reservations_status_expires_at', ['status', 'expires_at'], unique=False)

    with op.batch_alter_table('catalog_entities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allow_backorder', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('catalog_entities', schema=None) as batch_op:
        batch_op.drop_column('allow_backorder')

    with op.batch_alter_table('inventory_reservations', schema=None) as batch_op:
        batch_op.drop_index('ix_inventory_reservations_status_expires_at')
        batch_op.drop_index('ix_inventory_reservations_reference_id')

    op.drop_table('inventory_reservations')
    with op.batch_alter_table('inventory_movements', schema=None) as batch_op:
        batch_op.drop_index('ix_inventory_movements_level_id_id')

    op.drop_table('inventory_movements')
    with op.batch_alter_table('inventory_levels', schema=None) as batch_op:
        batch_op.drop_index('ix_inventory_levels_variant_id')
        batch_op.drop_index('ix_inventory_levels_sku_warehouse_id')
        batch_op.drop_index('ix_inventory_levels_entity_id')

    op.drop_table('inventory_levels')
    op.drop_table('warehouses')
