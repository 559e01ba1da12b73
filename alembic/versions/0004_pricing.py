"""pricing

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 17:39:22.236357
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('customer_groups',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_groups')),
    sa.UniqueConstraint('name', name=op.f('uq_customer_groups_name'))
    )
    op.create_table('customer_group_members',
    sa.Column('customer_group_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_group_id'], ['customer_groups.id'], name=op.f('fk_customer_group_members_customer_group_id_customer_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_group_id', 'customer_id', name=op.f('pk_customer_group_members'))
    )
    with op.batch_alter_table('customer_group_members', schema=None) as batch_op:
        batch_op.create_index('ix_customer_group_members_customer_id', ['customer_id'], unique=False)

    op.create_table('price_modifiers',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('entity_id', sa.Uuid(), nullable=True),
    sa.Column('customer_group_id', sa.Uuid(), nullable=True),
    sa.Column('min_quantity', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("kind IN ('percentage', 'fixed')", name=op.f('ck_price_modifiers_kind')),
    sa.CheckConstraint('valid_until IS NULL OR valid_from IS NULL OR valid_until > valid_from', name=op.f('ck_price_modifiers_valid_window')),
    sa.CheckConstraint('value >= 0', name=op.f('ck_price_modifiers_value_not_negative')),
    sa.ForeignKeyConstraint(['customer_group_id'], ['customer_groups.id'], name=op.f('fk_price_modifiers_customer_group_id_customer_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entity_id'], ['catalog_entities.id'], name=op.f('fk_price_modifiers_entity_id_catalog_entities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_modifiers'))
    )
    with op.batch_alter_table('price_modifiers', schema=None) as batch_op:
        batch_op.create_index('ix_price_modifiers_active_priority_id', ['active', 'priority', 'id'], unique=False)
        batch_op.create_index('ix_price_modifiers_customer_group_id', ['customer_group_id'], unique=False)
        batch_op.create_index('ix_price_modifiers_entity_id', ['entity_id'], unique=False)

    op.create_table('prices',
    sa.Column('entity_id', sa.Uuid(), nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('customer_group_id', sa.Uuid(), nullable=True),
    sa.Column('min_quantity', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_prices_amount_not_negative')),
    sa.CheckConstraint('min_quantity >= 1', name=op.f('ck_prices_min_quantity_positive')),
    sa.CheckConstraint('valid_until IS NULL OR valid_from IS NULL OR valid_until > valid_from', name=op.f('ck_prices_valid_window')),
    sa.ForeignKeyConstraint(['customer_group_id'], ['customer_groups.id'], name=op.f('fk_prices_customer_group_id_customer_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entity_id'], ['catalog_entities.id'], name=op.f('fk_prices_entity_id_catalog_entities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_prices_variant_id_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prices'))
    )
    with op.batch_alter_table('prices', schema=None) as batch_op:
        batch_op.create_index('ix_prices_currency_id', ['currency', 'id'], unique=False)
        batch_op.create_index('ix_prices_customer_group_id', ['customer_group_id'], unique=False)
        batch_op.create_index('ix_prices_entity_id_variant_id_currency', ['entity_id', 'variant_id', 'currency'], unique=False)
        batch_op.create_index('ix_prices_variant_id', ['variant_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('prices', schema=None) as batch_op:
        batch_op.drop_index('ix_prices_variant_id')
        batch_op.drop_index('ix_prices_entity_id_variant_id_currency')
        batch_op.drop_index('ix_prices_customer_group_id')
        batch_op.drop_index('ix_prices_currency_id')

    op.drop_table('prices')
    with op.batch_alter_table('price_modifiers', schema=None) as batch_op:
        batch_op.drop_index('ix_price_modifiers_entity_id')
        batch_op.drop_index('ix_price_modifiers_customer_group_id')
        batch_op.drop_index('ix_price_modifiers_active_priority_id')

    op.drop_table('price_modifiers')
    with op.batch_alter_table('customer_group_members', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_group_members_customer_id')

    op.drop_table('customer_group_members')
    op.drop_table('customer_groups')
