"""inventory level counts: how many levels each warehouse holds, kept by triggers

The total of an inventory listing (the gateway's `GET /api/v1/inventory`, GraphQL
`inventoryLevels { totalCount }`, the engine's REST listing) was a `count(*)` over the page's
statement as a subquery, levels joined to their warehouse and outer-joined to their product's
texts: at 900,000 levels about 200 ms of PostgreSQL's time on every request (bench scenario
(e) served 10-17 requests a second because of it). When at most a warehouse or "active
warehouses only" narrows the listing, the total is the sum of a few rows of
`inventory_level_counts` instead (`app.services.inventory.queries`); other filters count the
levels alone, without the joins.

As `catalog_entity_counts` (0025): the database keeps the table itself, in the transaction
of the write, whoever writes (the services, bulk `INSERT ... SELECT`, a `DELETE` of levels or
of the entities they cascade from). On PostgreSQL, statement triggers read the statement's
transition tables and add one difference per warehouse the statement changed; SQLite's row
triggers add per row. An update counts only when it moves a level to another warehouse.
Unlike 0025's, a warehouse's count is the sum of its rows: on PostgreSQL each transaction
writes a row of its own and folds the other, committed ones into it (see UPSERT below: one
shared row per warehouse deadlocked two bulk updates over overlapping new SKUs). No foreign
key to warehouses: a warehouse with levels cannot be deleted, and the rows of one without
levels sum to zero, which no total minds.

The one limit: not the wait of 0025 (writers creating levels in the same warehouse never
wait for each other's commit here: each skips the rows another holds), but its price: every
statement that creates, deletes or moves levels also rewrites the committed counter rows of
other transactions (a few rows; as many as transactions that did so since the last fold),
and a total sums a warehouse's few rows instead of reading one. A statement that changes no
count (the stock updates of every hold, sale and release) writes no counter row; it pays for
the UPDATE trigger's transition tables, which PostgreSQL cannot limit to a column.

Revision ID: 0026_inventory_level_counts
Revises: 0025_catalog_entity_counts
Create Date: 2026-12-01 02:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_inventory_level_counts"
down_revision: str | None = "0025_catalog_entity_counts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENTS = ("insert", "update", "delete")

# PostgreSQL: each transaction adds its differences to rows of its own, (warehouse_id, its
# transaction id), so no writer waits for another's counter row. A writer holding it until
# its commit while it goes on creating levels would deadlock with one that made, uncommitted,
# a level the first then meets (two bulk updates over overlapping new SKUs). Each statement
# then folds the committed rows of other transactions into its own: those another folder
# holds are skipped (never waited for), so a warehouse keeps about one row per transaction
# in flight, and readers sum a handful of rows either way (MVCC: before or after the fold).
UPSERT = """
    INSERT INTO inventory_level_counts AS c (warehouse_id, tx, levels)
    SELECT warehouse_id, txid_current(), sum(difference) FROM ({changes}) AS changes
    GROUP BY warehouse_id HAVING sum(difference) <> 0
    ON CONFLICT (warehouse_id, tx) DO UPDATE SET levels = c.levels + EXCLUDED.levels
"""
FOLD = """
    WITH taken AS (
        DELETE FROM inventory_level_counts
        WHERE ctid = ANY(ARRAY(
            SELECT ctid FROM inventory_level_counts WHERE tx <> txid_current()
            FOR UPDATE SKIP LOCKED
        ))
        RETURNING warehouse_id, levels
    )
    INSERT INTO inventory_level_counts AS c (warehouse_id, tx, levels)
    SELECT warehouse_id, txid_current(), sum(levels) FROM taken
    GROUP BY warehouse_id HAVING sum(levels) <> 0
    ON CONFLICT (warehouse_id, tx) DO UPDATE SET levels = c.levels + EXCLUDED.levels
"""
ADDED = "SELECT warehouse_id, 1 AS difference FROM added"
REMOVED = "SELECT warehouse_id, -1 AS difference FROM removed"

# One function for the three statement triggers. `SET search_path FROM CURRENT`: the table
# is the one of the schema this migration ran in, whatever the search_path of the writer.
POSTGRESQL_FUNCTION = f"""
CREATE FUNCTION inventory_level_counts_apply() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    changed integer;
BEGIN
    IF TG_OP = 'INSERT' THEN
        {UPSERT.format(changes=ADDED)};
    ELSIF TG_OP = 'DELETE' THEN
        {UPSERT.format(changes=REMOVED)};
    ELSE
        {UPSERT.format(changes=f"{ADDED} UNION ALL {REMOVED}")};
    END IF;
    -- Only a statement that changed a count folds: the updates of stock (every hold, sale
    -- and release) move no level between warehouses and write no counter row.
    GET DIAGNOSTICS changed = ROW_COUNT;
    IF changed > 0 THEN
        {FOLD};
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


# SQLite has one writer at a time: one row per warehouse, `tx` 0.
def _sqlite_upsert(row: str, difference: int) -> str:
    return (
        "INSERT INTO inventory_level_counts (warehouse_id, tx, levels) "
        f"VALUES ({row}.warehouse_id, 0, {difference}) "
        "ON CONFLICT (warehouse_id, tx) DO UPDATE "
        "SET levels = inventory_level_counts.levels + excluded.levels;"
    )


SQLITE_TRIGGERS = {
    "insert": f"AFTER INSERT ON inventory_levels BEGIN {_sqlite_upsert('new', 1)} END",
    "update": (
        "AFTER UPDATE OF warehouse_id ON inventory_levels "
        "WHEN old.warehouse_id IS NOT new.warehouse_id "
        f"BEGIN {_sqlite_upsert('old', -1)} {_sqlite_upsert('new', 1)} END"
    ),
    "delete": f"AFTER DELETE ON inventory_levels BEGIN {_sqlite_upsert('old', -1)} END",
}


def upgrade() -> None:
    op.create_table(
        "inventory_level_counts",
        sa.Column("warehouse_id", sa.Uuid(), nullable=False),
        sa.Column("tx", sa.BigInteger(), nullable=False),
        sa.Column("levels", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("warehouse_id", "tx", name=op.f("pk_inventory_level_counts")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_FUNCTION)
        for event in EVENTS:
            op.execute(
                f"CREATE TRIGGER inventory_level_counts_{event} AFTER {event.upper()} "
                f"ON inventory_levels REFERENCING {TRANSITIONS[event]} "
                "FOR EACH STATEMENT EXECUTE FUNCTION inventory_level_counts_apply()"
            )
    else:
        for event in EVENTS:
            op.execute(f"CREATE TRIGGER inventory_level_counts_{event} {SQLITE_TRIGGERS[event]}")
    # After the triggers: creating one locks out writers of inventory_levels until this
    # migration commits, so no write falls between the count and the triggers.
    op.execute(
        "INSERT INTO inventory_level_counts (warehouse_id, tx, levels) "
        "SELECT warehouse_id, 0, count(*) FROM inventory_levels GROUP BY warehouse_id"
    )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for event in EVENTS:
        on = " ON inventory_levels" if postgresql else ""
        op.execute(f"DROP TRIGGER inventory_level_counts_{event}{on}")
    if postgresql:
        op.execute("DROP FUNCTION inventory_level_counts_apply()")
    op.drop_table("inventory_level_counts")
