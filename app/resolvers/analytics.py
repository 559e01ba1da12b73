"""GraphQL for analytics (`analytics:read`): `analyticsMeta` lists the members,
`analytics(query:)` answers a query in the shape of DESIGN §10.

The query is an input type, so that GraphQL tools can complete it; its `order` is a JSON
object (`{"orders.revenue": "desc"}`: member names hold dots, which GraphQL field names
cannot), and its filter values JSON, as a REST body sends them. Rows are JSON objects keyed
by member for the same reason.
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry import Info

from app.resolvers.enums import AnalyticsMemberKind
from app.resolvers.permissions import requires
from app.resolvers.scalars import JSON
from app.services import analytics as service

READ = "analytics:read"


@strawberry.type(name="AnalyticsMember", description="A measure or dimension a query may name.")
class AnalyticsMemberType:
    name: str = strawberry.field(description="Its full name, e.g. orders.revenue.")
    title: str = strawberry.field(description="What it means.")
    type: AnalyticsMemberKind = strawberry.field(
        description="Measures: count, number or money (minor units, grouped by the model's "
        "currency). Dimensions: string, id or time."
    )


@strawberry.type(
    name="AnalyticsModel", description="One model: the members a query reads together."
)
class AnalyticsModelType:
    name: str = strawberry.field(description="e.g. orders, orderLines, customers, inventory.")
    title: str = strawberry.field(description="What one row of the model is.")
    measures: list[AnalyticsMemberType] = strawberry.field(description="Its measures.")
    dimensions: list[AnalyticsMemberType] = strawberry.field(description="Its dimensions.")


@strawberry.type(name="AnalyticsMeta", description="What an analytics query may ask for.")
class AnalyticsMetaType:
    models: list[AnalyticsModelType] = strawberry.field(
        description="The models; a query names members of one of them."
    )
    granularities: list[str] = strawberry.field(description="Time buckets: day, week, month.")
    operators: list[str] = strawberry.field(description="Filter operators.")
    default_limit: int = strawberry.field(description="Rows answered when no limit is given.")
    max_limit: int = strawberry.field(description="The most rows one query may answer.")


@strawberry.input(description="A time dimension: buckets by granularity, within a date range.")
class AnalyticsTimeDimensionInput:
    dimension: str = strawberry.field(description="A time dimension, e.g. orders.createdAt.")
    granularity: str | None = strawberry.field(
        default=None, description="day, week (starting Monday) or month, in UTC; none: no buckets."
    )
    date_range: list[str] | None = strawberry.field(
        default=None,
        description="[from, to]: dates (to inclusive, e.g. [2026-01-01, 2026-12-31]) or ISO 8601 "
        "instants (to exclusive).",
    )


@strawberry.input(description="A condition on a dimension.")
class AnalyticsFilterInput:
    member: str = strawberry.field(description="A dimension, e.g. orders.currency.")
    operator: str = strawberry.field(
        description="equals (any of the values), notEquals (none of them; null passes), or "
        "gt, gte, lt, lte on a time dimension (one value)."
    )
    values: list[JSON] = strawberry.field(description="Strings; dates for a time dimension.")


@strawberry.input(description="An analytics query (DESIGN §10); members of one model only.")
class AnalyticsQueryInput:
    measures: list[str] | None = strawberry.field(default=None, description="e.g. orders.count.")
    dimensions: list[str] | None = strawberry.field(
        default=None, description="Group by these, e.g. orders.status."
    )
    time_dimensions: list[AnalyticsTimeDimensionInput] | None = strawberry.field(
        default=None, description="Time buckets and date ranges."
    )
    filters: list[AnalyticsFilterInput] | None = strawberry.field(
        default=None, description="Conditions; every one holds."
    )
    order: JSON | None = strawberry.field(
        default=None,
        description='Member -> asc | desc, e.g. {"orders.revenue": "desc"}; by default time '
        "buckets ascending, then the first measure descending.",
    )
    limit: int | None = strawberry.field(
        default=None, description="Rows at most: default 100, at most 1000."
    )

    def to_dict(self) -> dict[str, Any]:
        return {
            "measures": self.measures,
            "dimensions": self.dimensions,
            "timeDimensions": [
                {"dimension": t.dimension, "granularity": t.granularity, "dateRange": t.date_range}
                for t in self.time_dimensions or ()
            ],
            "filters": [
                {"member": f.member, "operator": f.operator, "values": f.values}
                for f in self.filters or ()
            ],
            "order": self.order,
            "limit": self.limit,
        }


@strawberry.type(name="AnalyticsResult", description="The rows answering an analytics query.")
class AnalyticsResultType:
    rows: list[JSON] = strawberry.field(
        description="One object per group, keyed by member (a time bucket as "
        "`orders.createdAt.day`: the bucket's start, e.g. 2026-01-05T00:00:00Z). Money in minor "
        "units, beside the currency it is in."
    )
    limit: int = strawberry.field(description="The row limit this query ran under.")
    truncated: bool = strawberry.field(description="More rows matched than the limit let through.")


def _member(raw: dict[str, str]) -> AnalyticsMemberType:
    return AnalyticsMemberType(
        name=raw["name"], title=raw["title"], type=AnalyticsMemberKind.of(raw["type"])
    )


@strawberry.type
class AnalyticsQueries:
    @strawberry.field(
        description="The analytics models and their members. Needs analytics:read.",
        permission_classes=[requires(READ)],
    )
    def analytics_meta(self) -> AnalyticsMetaType:
        raw = service.meta()
        return AnalyticsMetaType(
            models=[
                AnalyticsModelType(
                    name=m["name"],
                    title=m["title"],
                    measures=[_member(x) for x in m["measures"]],
                    dimensions=[_member(x) for x in m["dimensions"]],
                )
                for m in raw["models"]
            ],
            granularities=raw["granularities"],
            operators=raw["operators"],
            default_limit=raw["defaultLimit"],
            max_limit=raw["maxLimit"],
        )

    @strawberry.field(
        description="Answer an analytics query from one snapshot, under a statement timeout "
        "and the row limit. Needs analytics:read.",
        permission_classes=[requires(READ)],
    )
    async def analytics(
        self,
        info: Info,
        query: Annotated[AnalyticsQueryInput, strawberry.argument(description="The query.")],
    ) -> AnalyticsResultType:
        # A report may be a moment old: it reads the replica when there is one.
        database = info.context.database
        result = await service.run_query(
            database.replica or database,
            query.to_dict(),
            timeout_ms=info.context.analytics_timeout_ms,
        )
        return AnalyticsResultType(
            rows=[JSON(row) for row in result.rows], limit=result.limit, truncated=result.truncated
        )
