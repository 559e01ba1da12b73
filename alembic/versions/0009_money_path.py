"""money path: non-blocking order numbers, payment kinds, refunds by line, list prices

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('modifier_discount_total', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('list_price', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('refunded_quantity', sa.Integer(), server_default='0', nullable=False))
    op.execute('UPDATE order_lines SET list_price = unit_price')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), server_default='checkout', nullable=False))
        batch_op.add_column(sa.Column('reason', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_payments_status_created_at', ['status', 'created_at'], unique=False)
    op.execute('UPDATE payments SET updated_at = created_at')
    op.execute("UPDATE payments SET kind = 'refund' WHERE amount < 0")
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.alter_column('updated_at', nullable=False)
    if op.get_bind().dialect.name == 'postgresql':
        # Order numbers from a sequence: nextval never waits and is never rolled back (a
        # failed checkout leaves a gap). It starts past every number handed out so far.
        op.execute('CREATE SEQUENCE order_number_seq')
        op.execute(
            "SELECT setval('order_number_seq', "
            "GREATEST((SELECT COALESCE(MAX(last), 0) FROM order_sequences), 1), "
            "(SELECT COALESCE(MAX(last), 0) > 0 FROM order_sequences))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP SEQUENCE IF EXISTS order_number_seq')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_status_created_at')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('reason')
        batch_op.drop_column('kind')
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_column('refunded_quantity')
        batch_op.drop_column('list_price')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('modifier_discount_total')
