"""promotions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 18:10:20.093546
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('promotions',
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=30), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('usage_limit', sa.Integer(), nullable=True),
    sa.Column('per_customer_limit', sa.Integer(), nullable=True),
    sa.Column('usage_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('min_subtotal', sa.Integer(), nullable=True),
    sa.Column('customer_group_ids', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column('entity_ids', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column('category_ids', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column('buy_quantity', sa.Integer(), nullable=True),
    sa.Column('get_quantity', sa.Integer(), nullable=True),
    sa.Column('stackable', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("type IN ('percentage_off_order', 'fixed_amount_off_order', 'percentage_off_items', 'buy_x_get_y', 'free_shipping')", name=op.f('ck_promotions_type')),
    sa.CheckConstraint('usage_count >= 0', name=op.f('ck_promotions_usage_count_not_negative')),
    sa.CheckConstraint('valid_until IS NULL OR valid_from IS NULL OR valid_until > valid_from', name=op.f('ck_promotions_valid_window')),
    sa.CheckConstraint('value >= 0', name=op.f('ck_promotions_value_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotions')),
    sa.UniqueConstraint('code', name=op.f('uq_promotions_code'))
    )
    with op.batch_alter_table('promotions', schema=None) as batch_op:
        batch_op.create_index('ix_promotions_active_id', ['active', 'id'], unique=False)
        batch_op.create_index('ix_promotions_active_valid_until', ['active', 'valid_until'], unique=False)

    op.create_table('promotion_redemptions',
    sa.Column('promotion_id', sa.Uuid(), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotions.id'], name=op.f('fk_promotion_redemptions_promotion_id_promotions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotion_redemptions'))
    )
    with op.batch_alter_table('promotion_redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_promotion_redemptions_promotion_id_customer_id', ['promotion_id', 'customer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('promotion_redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_promotion_redemptions_promotion_id_customer_id')

    op.drop_table('promotion_redemptions')
    with op.batch_alter_table('promotions', schema=None) as batch_op:
        batch_op.drop_index('ix_promotions_active_valid_until')
        batch_op.drop_index('ix_promotions_active_id')

    op.drop_table('promotions')
