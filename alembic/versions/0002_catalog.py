"""catalog

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 17:03:08.771284
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('brands',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('slug', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_brands')),
    sa.UniqueConstraint('slug', name=op.f('uq_brands_slug'))
    )
    op.create_table('catalog_entities',
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('slug', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_entities')),
    sa.UniqueConstraint('slug', name=op.f('uq_catalog_entities_slug'))
    )
    with op.batch_alter_table('catalog_entities', schema=None) as batch_op:
        batch_op.create_index('ix_catalog_entities_created_at_id', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_catalog_entities_status_id', ['status', 'id'], unique=False)
        batch_op.create_index('ix_catalog_entities_type_id', ['type', 'id'], unique=False)
        batch_op.create_index('ix_catalog_entities_updated_at_id', ['updated_at', 'id'], unique=False)

    op.create_table('categories',
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('slug', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['categories.id'], name=op.f('fk_categories_parent_id_categories'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categories')),
    sa.UniqueConstraint('slug', name=op.f('uq_categories_slug'))
    )
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.create_index('ix_categories_parent_id_position', ['parent_id', 'position'], unique=False)

    op.create_table('catalog_attributes',
    sa.Column('entity_id', sa.Uuid(), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('seo_title', sa.String(length=500), nullable=True),
    sa.Column('seo_description', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['entity_id'], ['catalog_entities.id'], name=op.f('fk_catalog_attributes_entity_id_catalog_entities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_attributes')),
    sa.UniqueConstraint('entity_id', 'locale', name=op.f('uq_catalog_attributes_entity_id_locale'))
    )
    op.create_table('entity_brands',
    sa.Column('entity_id', sa.Uuid(), nullable=False),
    sa.Column('brand_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_entity_brands_brand_id_brands'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entity_id'], ['catalog_entities.id'], name=op.f('fk_entity_brands_entity_id_catalog_entities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('entity_id', 'brand_id', name=op.f('pk_entity_brands'))
    )
    with op.batch_alter_table('entity_brands', schema=None) as batch_op:
        batch_op.create_index('ix_entity_brands_brand_id_entity_id', ['brand_id', 'entity_id'], unique=False)

    op.create_table('entity_categories',
    sa.Column('entity_id', sa.Uuid(), nullable=False),
    sa.Column('category_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_entity_categories_category_id_categories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entity_id'], ['catalog_entities.id'], name=op.f('fk_entity_categories_entity_id_catalog_entities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('entity_id', 'category_id', name=op.f('pk_entity_categories'))
    )
    with op.batch_alter_table('entity_categories', schema=None) as batch_op:
        batch_op.create_index('ix_entity_categories_category_id_entity_id', ['category_id', 'entity_id'], unique=False)

    op.create_table('option_types',
    sa.Column('entity_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['entity_id'], ['catalog_entities.id'], name=op.f('fk_option_types_entity_id_catalog_entities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_option_types')),
    sa.UniqueConstraint('entity_id', 'name', name=op.f('uq_option_types_entity_id_name'))
    )
    op.create_table('variants',
    sa.Column('entity_id', sa.Uuid(), nullable=False),
    sa.Column('sku', sa.String(length=100), nullable=False),
    sa.Column('option_key', sa.String(length=1000), nullable=False),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['entity_id'], ['catalog_entities.id'], name=op.f('fk_variants_entity_id_catalog_entities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_variants')),
    sa.UniqueConstraint('entity_id', 'option_key', name=op.f('uq_variants_entity_id_option_key')),
    sa.UniqueConstraint('sku', name=op.f('uq_variants_sku'))
    )
    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_variants_entity_id'), ['entity_id'], unique=False)

    op.create_table('option_values',
    sa.Column('option_type_id', sa.Uuid(), nullable=False),
    sa.Column('value', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['option_type_id'], ['option_types.id'], name=op.f('fk_option_values_option_type_id_option_types'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_option_values')),
    sa.UniqueConstraint('option_type_id', 'value', name=op.f('uq_option_values_option_type_id_value'))
    )
    op.create_table('variant_option_values',
    sa.Column('variant_id', sa.Uuid(), nullable=False),
    sa.Column('option_value_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['option_value_id'], ['option_values.id'], name=op.f('fk_variant_option_values_option_value_id_option_values'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_variant_option_values_variant_id_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('variant_id', 'option_value_id', name=op.f('pk_variant_option_values'))
    )


def downgrade() -> None:
    op.drop_table('variant_option_values')
    op.drop_table('option_values')
    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_variants_entity_id'))

    op.drop_table('variants')
    op.drop_table('option_types')
    with op.batch_alter_table('entity_categories', schema=None) as batch_op:
        batch_op.drop_index('ix_entity_categories_category_id_entity_id')

    op.drop_table('entity_categories')
    with op.batch_alter_table('entity_brands', schema=None) as batch_op:
        batch_op.drop_index('ix_entity_brands_brand_id_entity_id')

    op.drop_table('entity_brands')
    op.drop_table('catalog_attributes')
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_index('ix_categories_parent_id_position')

    op.drop_table('categories')
    with op.batch_alter_table('catalog_entities', schema=None) as batch_op:
        batch_op.drop_index('ix_catalog_entities_updated_at_id')
        batch_op.drop_index('ix_catalog_entities_type_id')
        batch_op.drop_index('ix_catalog_entities_status_id')
        batch_op.drop_index('ix_catalog_entities_created_at_id')

    op.drop_table('catalog_entities')
    op.drop_table('brands')
