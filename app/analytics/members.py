"""The semantic layer's table: each model's measures and dimensions, named `model.member`,
mapped to SQLAlchemy expressions and the joins they need (DESIGN §10, "Analytics query").

Only what is listed here can be asked for: a query names members, never columns, so no SQL
comes from the client. A query reads one model (its measures and dimensions together); a
join is added only when a member of the query needs it.

Money measures are integers in minor units of one currency (DESIGN §4): a query that asks for
one is grouped by its model's currency member as well, so every row's amounts share the
currency the row names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import ColumnElement, FromClause, Integer, String, cast, distinct, func, type_coerce
from sqlalchemy.orm import QueryableAttribute

from app.models.catalog import Brand, Category, entity_brands, entity_categories
from app.models.customers import Customer
from app.models.inventory import InventoryLevel, Warehouse
from app.models.orders import Order, OrderLine
from app.models.pricing import CustomerGroup, customer_group_members

MeasureType = Literal["count", "number", "money"]
DimensionType = Literal["string", "id", "time"]
MEMBER_TYPES = ("count", "number", "money", "string", "id", "time")
# Extends the FROM clause, for the database's dialect (`postgresql`, `sqlite`).
Joiner = Callable[[FromClause, str], FromClause]
# A mapped column (`Order.status`) or an expression over columns.
SQLColumn = ColumnElement[Any] | QueryableAttribute[Any]


@dataclass(frozen=True, slots=True)
class Measure:
    name: str
    title: str
    type: MeasureType
    expression: Callable[[], ColumnElement[Any]]
    # What the measure reads over no rows at all (SQL's SUM answers NULL there).
    empty: int | None = 0


@dataclass(frozen=True, slots=True)
class Dimension:
    name: str
    title: str
    type: DimensionType
    expression: Callable[[], SQLColumn]
    # The model's joins this member reads through, in the order they apply.
    joins: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    title: str
    base: Callable[[], FromClause]
    measures: Mapping[str, Measure]
    dimensions: Mapping[str, Dimension]
    # Join name -> how it extends the FROM clause (outer joins: no row is lost by a join).
    joins: Mapping[str, Joiner] = field(default_factory=dict)
    # The dimension every money measure is grouped by.
    currency: str | None = None

    def member(self, short: str) -> Measure | Dimension | None:
        return self.measures.get(short) or self.dimensions.get(short)


def _measures(*items: Measure) -> dict[str, Measure]:
    return {m.name: m for m in items}


def _dimensions(*items: Dimension) -> dict[str, Dimension]:
    return {d.name: d for d in items}


ORDERS = Model(
    name="orders",
    title="Orders",
    base=lambda: Order.__table__,
    measures=_measures(
        Measure("count", "Orders", "count", lambda: func.count(Order.id)),
        Measure("revenue", "Revenue (sum of order totals)", "money", lambda: func.sum(Order.total)),
        Measure(
            "averageOrderValue",
            "Average order total, rounded to the minor unit",
            "money",
            lambda: cast(func.round(func.avg(Order.total)), Integer),
            empty=None,
        ),
    ),
    dimensions=_dimensions(
        Dimension("status", "Order status", "string", lambda: Order.status),
        Dimension("paymentStatus", "Payment status", "string", lambda: Order.payment_status),
        Dimension("currency", "Currency (ISO 4217)", "string", lambda: Order.currency),
        Dimension("createdAt", "Placed at", "time", lambda: Order.created_at),
    ),
    currency="currency",
)


def _line_orders(source: FromClause, dialect: str) -> FromClause:
    return source.join(Order.__table__, Order.id == OrderLine.order_id)


def _line_categories(source: FromClause, dialect: str) -> FromClause:
    return source.outerjoin(
        entity_categories, entity_categories.c.entity_id == OrderLine.entity_id
    ).outerjoin(Category.__table__, Category.id == entity_categories.c.category_id)


def _line_brands(source: FromClause, dialect: str) -> FromClause:
    return source.outerjoin(
        entity_brands, entity_brands.c.entity_id == OrderLine.entity_id
    ).outerjoin(Brand.__table__, Brand.id == entity_brands.c.brand_id)


ORDER_LINES = Model(
    name="orderLines",
    title="Order lines (a line in two categories counts in each of them)",
    base=lambda: OrderLine.__table__,
    measures=_measures(
        Measure("count", "Order lines", "count", lambda: func.count(OrderLine.id)),
        Measure("unitsSold", "Units sold", "number", lambda: func.sum(OrderLine.quantity)),
        Measure(
            "revenue", "Revenue (sum of line totals)", "money", lambda: func.sum(OrderLine.total)
        ),
    ),
    dimensions=_dimensions(
        Dimension("entity", "Catalog entity id", "id", lambda: OrderLine.entity_id),
        Dimension("sku", "SKU", "string", lambda: OrderLine.sku),
        Dimension("category", "Category slug", "string", lambda: Category.slug, ("categories",)),
        Dimension("brand", "Brand slug", "string", lambda: Brand.slug, ("brands",)),
        Dimension("status", "Order status", "string", lambda: Order.status, ("orders",)),
        Dimension("currency", "Currency (ISO 4217)", "string", lambda: Order.currency, ("orders",)),
        Dimension("createdAt", "Order placed at", "time", lambda: Order.created_at, ("orders",)),
    ),
    joins={"orders": _line_orders, "categories": _line_categories, "brands": _line_brands},
    currency="currency",
)


def _customer_groups(source: FromClause, dialect: str) -> FromClause:
    # Memberships name a customer by the text of its UUID (`str(uuid)`), which SQLite's
    # UUID column keeps as 32 hex digits and PostgreSQL's as a native uuid.
    member = customer_group_members.c.customer_id
    if dialect == "sqlite":
        same = func.replace(member, "-", "") == type_coerce(Customer.id, String)
    else:
        same = member == cast(Customer.id, String)
    return source.outerjoin(customer_group_members, same).outerjoin(
        CustomerGroup.__table__, CustomerGroup.id == customer_group_members.c.customer_group_id
    )


CUSTOMERS = Model(
    name="customers",
    title="Customers (one in two groups counts in each of them)",
    base=lambda: Customer.__table__,
    measures=_measures(
        Measure("count", "Customers", "count", lambda: func.count(distinct(Customer.id))),
    ),
    dimensions=_dimensions(
        Dimension(
            "group", "Customer group name", "string", lambda: CustomerGroup.name, ("groups",)
        ),
        Dimension("createdAt", "Signed up at", "time", lambda: Customer.created_at),
    ),
    joins={"groups": _customer_groups},
)


def _level_warehouses(source: FromClause, dialect: str) -> FromClause:
    return source.join(Warehouse.__table__, Warehouse.id == InventoryLevel.warehouse_id)


INVENTORY = Model(
    name="inventory",
    title="Inventory levels (one per variant and warehouse)",
    base=lambda: InventoryLevel.__table__,
    measures=_measures(
        Measure("onHand", "Units on hand", "number", lambda: func.sum(InventoryLevel.quantity)),
        Measure("levels", "Inventory levels", "count", lambda: func.count(InventoryLevel.id)),
    ),
    dimensions=_dimensions(
        Dimension("warehouse", "Warehouse code", "string", lambda: Warehouse.code, ("warehouses",)),
        Dimension("entity", "Catalog entity id", "id", lambda: InventoryLevel.entity_id),
        Dimension("sku", "SKU", "string", lambda: InventoryLevel.sku),
    ),
    joins={"warehouses": _level_warehouses},
)

MODELS: Mapping[str, Model] = {m.name: m for m in (ORDERS, ORDER_LINES, CUSTOMERS, INVENTORY)}
