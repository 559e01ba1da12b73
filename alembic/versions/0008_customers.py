"""customers

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _trigram_schema() -> str:
    """The schema holding pg_trgm, installed in `public` when absent. Concurrent migrations
    (test workers, several servers) queue on a lock: CREATE EXTENSION IF NOT EXISTS races."""
    bind = op.get_bind()
    bind.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('cartograph:pg_trgm'))"))
    find = sa.text(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
    )
    schema = bind.scalar(find)
    if schema is None:
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public')
        schema = bind.scalar(find)
    return schema


def upgrade() -> None:
    op.create_table('customers',
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=True),
    sa.Column('last_name', sa.String(length=100), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('email', name=op.f('uq_customers_email'))
    )
    # `emailContains` on PostgreSQL: a trigram index (SQLite has none that serves a substring).
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index(
            'ix_customers_email_trgm', 'customers', ['email'], unique=False,
            postgresql_using='gin', postgresql_ops={'email': f'{_trigram_schema()}.gin_trgm_ops'},
        )


def downgrade() -> None:
    # pg_trgm stays: other schemas in the database may use it.
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_customers_email_trgm', table_name='customers')
    op.drop_table('customers')
