"""catalog entity counts: how many entities there are per (status, type), kept by triggers

The total of a catalog listing (`catalogEntities { totalCount }`, the REST listings) was a
`count(*)` over every matching entity: at 100,000 entities 10-15 ms of PostgreSQL's CPU on
every request. When no category, brand or vendor narrows the listing, the total is the sum of
a few rows of `catalog_entity_counts` instead (`app.services.catalog.entities`).

The database keeps the table itself, in the transaction of the write, whoever writes: the
services, bulk `INSERT ... SELECT` (bench/dataset.py), any `DELETE`. On PostgreSQL, statement
triggers read the statement's transition tables and upsert one row per (status, type) the
statement changed (a row trigger would update one counter row 100,000 times in one bulk
insert: quadratic in its version chain); SQLite has no statement triggers, so its row
triggers upsert per row.

The one limit: a write that changes an entity's status or type updates that counter row, so
concurrent writes of the same (status, type), e.g. two creates of draft products, wait for
each other's commit (not for each other's whole request: only the commit).

Revision ID: 0025_catalog_entity_counts
Revises: 0024_vendor_documents
Create Date: 2026-12-01 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_catalog_entity_counts"
down_revision: str | None = "0024_vendor_documents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENTS = ("insert", "update", "delete")

# Adds (status, type, difference) rows, `changes`, to the counters; zero differences touch
# nothing. Sorted, so that two statements lock counter rows in the same order.
UPSERT = """
    INSERT INTO catalog_entity_counts AS c (status, type, entities)
    SELECT status, type, sum(difference) FROM ({changes}) AS changes
    GROUP BY status, type HAVING sum(difference) <> 0 ORDER BY status, type
    ON CONFLICT (status, type) DO UPDATE SET entities = c.entities + EXCLUDED.entities
"""
ADDED = "SELECT status, type, 1 AS difference FROM added"
REMOVED = "SELECT status, type, -1 AS difference FROM removed"

# One function for the three statement triggers. `SET search_path FROM CURRENT`: the table
# is the one of the schema this migration ran in (each test worker's, the bench's), whatever
# the search_path of the session that writes.
POSTGRESQL_FUNCTION = f"""
CREATE FUNCTION catalog_entity_counts_apply() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {UPSERT.format(changes=ADDED)};
    ELSIF TG_OP = 'DELETE' THEN
        {UPSERT.format(changes=REMOVED)};
    ELSE
        {UPSERT.format(changes=f"{ADDED} UNION ALL {REMOVED}")};
    END IF;
    RETURN NULL;
END
$$
"""
TRANSITIONS = {
    "insert": "NEW TABLE AS added",
    "update": "NEW TABLE AS added OLD TABLE AS removed",
    "delete": "OLD TABLE AS removed",
}


def _sqlite_upsert(row: str, difference: int) -> str:
    return (
        "INSERT INTO catalog_entity_counts (status, type, entities) "
        f"VALUES ({row}.status, {row}.type, {difference}) "
        "ON CONFLICT (status, type) DO UPDATE "
        "SET entities = catalog_entity_counts.entities + excluded.entities;"
    )


SQLITE_TRIGGERS = {
    "insert": f"AFTER INSERT ON catalog_entities BEGIN {_sqlite_upsert('new', 1)} END",
    "update": (
        "AFTER UPDATE OF status, type ON catalog_entities "
        "WHEN old.status IS NOT new.status OR old.type IS NOT new.type "
        f"BEGIN {_sqlite_upsert('old', -1)} {_sqlite_upsert('new', 1)} END"
    ),
    "delete": f"AFTER DELETE ON catalog_entities BEGIN {_sqlite_upsert('old', -1)} END",
}


def upgrade() -> None:
    op.create_table(
        "catalog_entity_counts",
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("entities", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("status", "type", name=op.f("pk_catalog_entity_counts")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_FUNCTION)
        for event in EVENTS:
            op.execute(
                f"CREATE TRIGGER catalog_entity_counts_{event} AFTER {event.upper()} "
                f"ON catalog_entities REFERENCING {TRANSITIONS[event]} "
                "FOR EACH STATEMENT EXECUTE FUNCTION catalog_entity_counts_apply()"
            )
    else:
        for event in EVENTS:
            op.execute(f"CREATE TRIGGER catalog_entity_counts_{event} {SQLITE_TRIGGERS[event]}")
    # After the triggers: creating one locks out writers of catalog_entities until this
    # migration commits, so no write falls between the count and the triggers.
    op.execute(
        "INSERT INTO catalog_entity_counts (status, type, entities) "
        "SELECT status, type, count(*) FROM catalog_entities GROUP BY status, type"
    )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for event in EVENTS:
        on = " ON catalog_entities" if postgresql else ""
        op.execute(f"DROP TRIGGER catalog_entity_counts_{event}{on}")
    if postgresql:
        op.execute("DROP FUNCTION catalog_entity_counts_apply()")
    op.drop_table("catalog_entity_counts")
