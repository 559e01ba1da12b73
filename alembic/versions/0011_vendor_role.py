"""the built-in vendor role

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 13:40:00.000000

"""
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DESCRIPTION = 'A marketplace seller: their own vendor records (scoped by vendor id).'


def upgrade() -> None:
    # No schema change: the marketplace's built-in role, beside 0010's customer and admin.
    roles = sa.table(
        'roles',
        sa.column('id', sa.Uuid()),
        sa.column('name', sa.String()),
        sa.column('description', sa.String()),
        sa.column('permissions', sa.JSON()),
        sa.column('built_in', sa.Boolean()),
        sa.column('created_at', sa.DateTime(timezone=True)),
        sa.column('updated_at', sa.DateTime(timezone=True)),
    )
    taken = op.get_bind().execute(sa.select(roles.c.id).where(roles.c.name == 'vendor')).first()
    if taken is not None:
        return
    now = datetime.now(UTC)
    op.bulk_insert(roles, [
        {'id': uuid.uuid4(), 'name': 'vendor', 'description': DESCRIPTION, 'permissions': [],
         'built_in': True, 'created_at': now, 'updated_at': now},
    ])


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM roles WHERE name = 'vendor' AND built_in"))
