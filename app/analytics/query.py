"""An analytics query: checked against the member table, then built as one SELECT.

Every problem is a VALIDATION_FAILED whose details name the part of the query at fault
(`measures.0`, `timeDimensions.0.granularity`, `filters.1.operator`), so a client learns
which member or word to fix; nothing the client sends reaches SQL but bound values.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, func, literal_column, or_, select

from app.analytics.members import MODELS, Dimension, Measure, Model, SQLColumn
from app.errors import ValidationFailed

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
GRANULARITIES = ("day", "week", "month")
SET_OPERATORS = ("equals", "notEquals")
RANGE_OPERATORS = ("gt", "gte", "lt", "lte")
DIRECTIONS = ("asc", "desc")
# gt and lte of a date compare with the end of its day instead.
WHOLE_DAY = {"gt": "gte", "lte": "lt"}


@dataclass(frozen=True, slots=True)
class TimeDimension:
    key: str
    dimension: Dimension
    granularity: str | None
    start: datetime | None
    end: datetime | None  # exclusive

    @property
    def column(self) -> str:
        """The row key of its buckets: `orders.createdAt.day`."""
        return f"{self.key}.{self.granularity}"


@dataclass(frozen=True, slots=True)
class Filter:
    dimension: Dimension
    operator: str
    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class AnalyticsQuery:
    model: Model
    measures: tuple[tuple[str, Measure], ...]
    dimensions: tuple[tuple[str, Dimension], ...]
    time_dimensions: tuple[TimeDimension, ...]
    filters: tuple[Filter, ...]
    order: tuple[tuple[str, str], ...]
    limit: int


class _Problems:
    """Collects every problem of a query, then refuses it once with all of them."""

    def __init__(self) -> None:
        self.details: dict[str, str] = {}

    def add(self, where: str, message: str) -> None:
        self.details.setdefault(where, message)

    def raise_any(self) -> None:
        if self.details:
            text = "; ".join(f"{where}: {message}" for where, message in self.details.items())
            raise ValidationFailed(text, details=self.details)


def _lookup(
    name: Any, where: str, problems: _Problems, models: set[str]
) -> tuple[Model, Measure | Dimension] | None:
    if not isinstance(name, str) or name.count(".") != 1:
        problems.add(where, f"Unknown member {str(name)[:100]!r}; members look like orders.count.")
        return None
    model_name, short = name.split(".")
    model = MODELS.get(model_name)
    member = model.member(short) if model else None
    if model is None or member is None:
        problems.add(where, f"Unknown member {name[:100]!r}; GET /api/analytics/meta lists them.")
        return None
    models.add(model.name)
    return model, member


def _date_bound(value: Any, where: str, problems: _Problems, *, end: bool) -> datetime | None:
    """A date (`2026-01-31`: the whole day, so an end date is inclusive) or a UTC instant."""
    if isinstance(value, str):
        try:
            if len(value) == 10:
                day = datetime.combine(date.fromisoformat(value), time(), UTC)
                return day + timedelta(days=1) if end else day
            instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if instant.tzinfo is not None:
                return instant.astimezone(UTC)
        except ValueError:
            pass
    problems.add(where, "Expected a date (2026-01-31) or an ISO 8601 instant with a time zone.")
    return None


def _value(dimension: Dimension, value: Any, where: str, problems: _Problems) -> Any:
    if dimension.type == "time":
        return _date_bound(value, where, problems, end=False)
    if not isinstance(value, str):
        problems.add(where, "Expected a string.")
        return None
    if dimension.type == "id":
        try:
            return uuid.UUID(value)
        except ValueError:
            problems.add(where, "Expected a UUID.")
            return None
    return value


def _time_dimension(
    raw: Any, where: str, problems: _Problems, models: set[str]
) -> TimeDimension | None:
    if not isinstance(raw, dict):
        problems.add(where, "Expected an object with dimension, granularity and dateRange.")
        return None
    found = _lookup(raw.get("dimension"), f"{where}.dimension", problems, models)
    if found is None:
        return None
    _, dimension = found
    if not isinstance(dimension, Dimension) or dimension.type != "time":
        problems.add(f"{where}.dimension", f"{raw['dimension']} is not a time dimension.")
        return None
    granularity = raw.get("granularity")
    if granularity is not None and granularity not in GRANULARITIES:
        problems.add(f"{where}.granularity", f"Expected one of {', '.join(GRANULARITIES)}.")
    start = end = None
    if (date_range := raw.get("dateRange")) is not None:
        if not isinstance(date_range, list) or len(date_range) != 2:
            problems.add(f"{where}.dateRange", "Expected [from, to].")
        else:
            start = _date_bound(date_range[0], f"{where}.dateRange.0", problems, end=False)
            end = _date_bound(date_range[1], f"{where}.dateRange.1", problems, end=True)
            if start and end and start >= end:
                problems.add(f"{where}.dateRange", "from must come before to.")
    return TimeDimension(raw["dimension"], dimension, granularity, start, end)


def _filter(raw: Any, where: str, problems: _Problems, models: set[str]) -> Filter | None:
    if not isinstance(raw, dict):
        problems.add(where, "Expected an object with member, operator and values.")
        return None
    found = _lookup(raw.get("member"), f"{where}.member", problems, models)
    operator, values = raw.get("operator"), raw.get("values")
    if operator not in SET_OPERATORS + RANGE_OPERATORS:
        problems.add(
            f"{where}.operator", f"Expected one of {', '.join(SET_OPERATORS + RANGE_OPERATORS)}."
        )
        return None
    if not isinstance(values, list) or not values:
        problems.add(f"{where}.values", "Expected a non-empty list.")
        return None
    if found is None:
        return None
    _, dimension = found
    if not isinstance(dimension, Dimension):
        problems.add(f"{where}.member", "Filters apply to dimensions, not measures.")
        return None
    if operator in RANGE_OPERATORS:
        if dimension.type != "time":
            problems.add(f"{where}.operator", f"{operator} applies to time dimensions only.")
            return None
        if len(values) != 1:
            problems.add(f"{where}.values", f"{operator} takes exactly one value.")
            return None
        if operator in WHOLE_DAY and isinstance(values[0], str) and len(values[0]) == 10:
            # A date means its whole day: after 8 March starts on the 9th, and up to 8 March
            # takes in all of the 8th.
            bound = _date_bound(values[0], f"{where}.values.0", problems, end=True)
            return Filter(dimension, WHOLE_DAY[operator], (bound,))
    parsed = tuple(
        _value(dimension, value, f"{where}.values.{i}", problems) for i, value in enumerate(values)
    )
    return Filter(dimension, operator, parsed)


def _strings(raw: Any, where: str, problems: _Problems) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.add(where, "Expected a list of member names.")
        return []
    return raw


def parse_query(raw: dict[str, Any]) -> AnalyticsQuery:
    """Check a query against the member table; refuse it, naming every fault, or build it."""
    problems = _Problems()
    models: set[str] = set()
    measures: list[tuple[str, Measure]] = []
    dimensions: list[tuple[str, Dimension]] = []
    for i, name in enumerate(_strings(raw.get("measures"), "measures", problems)):
        found = _lookup(name, f"measures.{i}", problems, models)
        if found and not isinstance(found[1], Measure):
            problems.add(f"measures.{i}", f"{name} is a dimension, not a measure.")
        elif found and isinstance(found[1], Measure):
            measures.append((name, found[1]))
    for i, name in enumerate(_strings(raw.get("dimensions"), "dimensions", problems)):
        found = _lookup(name, f"dimensions.{i}", problems, models)
        if found and not isinstance(found[1], Dimension):
            problems.add(f"dimensions.{i}", f"{name} is a measure, not a dimension.")
        elif found and isinstance(found[1], Dimension):
            if found[1].type == "time":
                problems.add(f"dimensions.{i}", f"{name} is a time dimension: use timeDimensions.")
            else:
                dimensions.append((name, found[1]))
    time_dimensions = [
        td
        for i, item in enumerate(_strings(raw.get("timeDimensions"), "timeDimensions", problems))
        if (td := _time_dimension(item, f"timeDimensions.{i}", problems, models))
    ]
    filters = [
        f
        for i, item in enumerate(_strings(raw.get("filters"), "filters", problems))
        if (f := _filter(item, f"filters.{i}", problems, models))
    ]
    if len(models) > 1:
        problems.add(
            "measures", f"One model per query; this one names {', '.join(sorted(models))}."
        )
    if not measures and not dimensions and not any(td.granularity for td in time_dimensions):
        problems.add("measures", "Ask for at least one measure or dimension.")
    limit = raw.get("limit")
    if limit is None:
        limit = DEFAULT_LIMIT
    elif not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        problems.add("limit", f"Expected an integer from 1 to {MAX_LIMIT}.")
    problems.raise_any()
    model = MODELS[next(iter(models))]
    if any(m.type == "money" for _, m in measures) and model.currency:
        key = f"{model.name}.{model.currency}"
        if key not in {k for k, _ in dimensions}:
            dimensions.append((key, model.dimensions[model.currency]))
    order = _order(raw.get("order"), measures, dimensions, time_dimensions, problems)
    problems.raise_any()
    return AnalyticsQuery(
        model,
        tuple(measures),
        tuple(dimensions),
        tuple(time_dimensions),
        tuple(filters),
        order,
        limit,
    )


def _order(
    raw: Any,
    measures: list[tuple[str, Measure]],
    dimensions: list[tuple[str, Dimension]],
    time_dimensions: list[TimeDimension],
    problems: _Problems,
) -> tuple[tuple[str, str], ...]:
    """`{member: asc|desc}` over members of the query; by default the time buckets in order,
    then the first measure largest first."""
    bucketed = [td.key for td in time_dimensions if td.granularity]
    if raw is None:
        default = [(key, "asc") for key in bucketed]
        return tuple(default + [(key, "desc") for key, _ in measures[:1]])
    if not isinstance(raw, dict):
        problems.add("order", "Expected an object of member: asc | desc.")
        return ()
    known = {k for k, _ in measures} | {k for k, _ in dimensions} | set(bucketed)
    for member, direction in raw.items():
        if member not in known:
            problems.add("order", f"{member[:100]!r} is not a member of this query.")
        elif direction not in DIRECTIONS:
            problems.add("order", f"{member}: expected asc or desc.")
    return tuple(raw.items())


def truncate(column: SQLColumn, granularity: str, dialect: str) -> ColumnElement[Any]:
    """The start of the column's day, week (Monday) or month, in UTC, on either database."""
    if dialect == "postgresql":
        return func.date_trunc(granularity, func.timezone("UTC", column))
    # SQLite keeps naive UTC text; 'weekday 0' moves on to Sunday, six days back is Monday.
    if granularity == "week":
        return func.date(column, "weekday 0", "-6 days")
    if granularity == "month":
        return func.strftime("%Y-%m-01", column)
    return func.date(column)


def _condition(item: Filter) -> ColumnElement[bool]:
    column = item.dimension.expression()
    if item.operator == "equals":
        return column.in_(item.values)
    if item.operator == "notEquals":
        return or_(column.is_(None), column.not_in(item.values))
    value = item.values[0]
    if item.operator == "gt":
        return cast(ColumnElement[bool], column > value)
    if item.operator == "gte":
        return cast(ColumnElement[bool], column >= value)
    if item.operator == "lt":
        return cast(ColumnElement[bool], column < value)
    return cast(ColumnElement[bool], column <= value)


def build_select(query: AnalyticsQuery, dialect: str) -> tuple[Select[Any], list[str]]:
    """The one SELECT answering the query (one row more than its limit, to tell that rows
    were left out), and the row key of each of its columns."""
    model = query.model
    keys: list[str] = []
    groups: list[ColumnElement[Any]] = []
    labels: dict[str, str] = {}
    used: set[str] = set()
    for td in query.time_dimensions:
        used.update(td.dimension.joins)
        if td.granularity:
            labels[td.key] = f"c{len(keys)}"
            groups.append(
                truncate(td.dimension.expression(), td.granularity, dialect).label(labels[td.key])
            )
            keys.append(td.column)
    for key, dimension in query.dimensions:
        used.update(dimension.joins)
        labels[key] = f"c{len(keys)}"
        groups.append(dimension.expression().label(labels[key]))
        keys.append(key)
    aggregates = []
    for key, measure in query.measures:
        labels[key] = f"c{len(keys)}"
        aggregates.append(measure.expression().label(labels[key]))
        keys.append(key)
    source = model.base()
    for item in query.filters:
        used.update(item.dimension.joins)
    for name, join in model.joins.items():
        if name in used:
            source = join(source, dialect)
    conditions = [_condition(f) for f in query.filters]
    for td in query.time_dimensions:
        column = td.dimension.expression()
        if td.start is not None:
            conditions.append(column >= td.start)
        if td.end is not None:
            conditions.append(column < td.end)
    statement = select(*groups, *aggregates).select_from(source)
    if conditions:
        statement = statement.where(and_(*conditions))
    if groups:
        statement = statement.group_by(*(g.element for g in groups))
    ordering = [(labels[key], direction) for key, direction in query.order if key in labels]
    # Every group column last, so that equal sort keys still come back in one order.
    ordering += [(g.name, "asc") for g in groups if g.name not in {name for name, _ in ordering}]
    statement = statement.order_by(
        *(
            literal_column(name).desc() if direction == "desc" else literal_column(name).asc()
            for name, direction in ordering
        )
    )
    return statement.limit(query.limit + 1), keys
