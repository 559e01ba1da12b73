"""A vendor's performance, computed from its records every time it is asked (nothing stored):

- rating: the average of its reviews' ratings (null with none) and their count;
- fulfilment rate: delivered / (delivered + cancelled by the vendor itself), the
  marketplace's cancellations and those of whole orders not counted against it;
- on-time shipping: of its shipped sub-orders (shipped or delivered), those shipped within
  `ship_within_hours` of checkout (CARTOGRAPH_VENDOR_SHIP_WITHIN_HOURS, default 48);
- cancellation rate: cancelled by the vendor / all its sub-orders;
- dispute rate: its sub-orders with a dispute / its delivered sub-orders.

A rate is a fraction from 0 to 1, null when nothing is there to count. marketplace:admin
reads any vendor's, a vendor's user its own (another's is NOT_FOUND); it is not public.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.models.aftercare import Dispute, Review
from app.models.marketplace import SubOrder
from app.services.marketplace import ledger


@dataclass(frozen=True, slots=True, kw_only=True)
class Performance:
    vendor_id: uuid.UUID
    rating_average: float | None
    rating_count: int
    sub_order_count: int
    delivered_count: int
    shipped_count: int
    shipped_on_time_count: int
    cancelled_count: int
    cancelled_by_vendor_count: int
    disputed_count: int
    ship_within_hours: int

    @property
    def fulfilment_rate(self) -> float | None:
        return _rate(self.delivered_count, self.delivered_count + self.cancelled_by_vendor_count)

    @property
    def on_time_shipping_rate(self) -> float | None:
        return _rate(self.shipped_on_time_count, self.shipped_count)

    @property
    def cancellation_rate(self) -> float | None:
        return _rate(self.cancelled_by_vendor_count, self.sub_order_count)

    @property
    def dispute_rate(self) -> float | None:
        return _rate(self.disputed_count, self.delivered_count)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def vendor_performance(
    session: AsyncSession, actor: Actor, *, vendor_id: str, ship_within_hours: int
) -> Performance:
    """See the module (who may read it, and what each number is)."""
    vendor = await ledger.reachable_vendor(session, actor, vendor_id)
    return (await performances(session, [vendor], ship_within_hours=ship_within_hours))[vendor]


async def performances(
    session: AsyncSession, vendor_ids: list[uuid.UUID], *, ship_within_hours: int
) -> dict[uuid.UUID, Performance]:
    """The performance of any number of vendors, in four statements."""
    ids = set(vendor_ids)
    counts: dict[uuid.UUID, dict[str, int]] = {id: {} for id in ids}
    averages: dict[uuid.UUID, float] = {}
    if ids:
        by_status = await session.execute(
            select(SubOrder.vendor_id, SubOrder.status, SubOrder.cancelled_by, func.count())
            .where(SubOrder.vendor_id.in_(ids))
            .group_by(SubOrder.vendor_id, SubOrder.status, SubOrder.cancelled_by)
        )
        for vendor_id, status, cancelled_by, n in by_status.all():
            assert vendor_id is not None
            into = counts[vendor_id]
            into["all"] = into.get("all", 0) + n
            into[status] = into.get(status, 0) + n
            if cancelled_by == "vendor":
                into["by_vendor"] = into.get("by_vendor", 0) + n
        # On-time shipping compares two timestamps per row: read them (the vendor's shipped
        # sub-orders, by the vendor/status index) rather than do dialect-specific date maths.
        window = timedelta(hours=ship_within_hours)
        shipped = await session.execute(
            select(SubOrder.vendor_id, SubOrder.created_at, SubOrder.shipped_at).where(
                SubOrder.vendor_id.in_(ids), SubOrder.status.in_(("shipped", "delivered"))
            )
        )
        for vendor_id, created_at, shipped_at in shipped.all():
            assert vendor_id is not None
            into = counts[vendor_id]
            into["shipped_all"] = into.get("shipped_all", 0) + 1
            if shipped_at is not None and shipped_at - created_at <= window:
                into["on_time"] = into.get("on_time", 0) + 1
        ratings = await session.execute(
            select(Review.vendor_id, func.avg(Review.rating), func.count())
            .where(Review.vendor_id.in_(ids))
            .group_by(Review.vendor_id)
        )
        for vendor_id, average, n in ratings.all():
            counts[vendor_id]["rating_count"] = n
            averages[vendor_id] = round(float(average), 2)
        disputed = await session.execute(
            select(Dispute.vendor_id, func.count(distinct(Dispute.sub_order_id)))
            .where(Dispute.vendor_id.in_(ids))
            .group_by(Dispute.vendor_id)
        )
        for vendor_id, n in disputed.all():
            counts[vendor_id]["disputed"] = n
    return {
        id: Performance(
            vendor_id=id,
            rating_average=averages.get(id),
            rating_count=c.get("rating_count", 0),
            sub_order_count=c.get("all", 0),
            delivered_count=c.get("delivered", 0),
            shipped_count=c.get("shipped_all", 0),
            shipped_on_time_count=c.get("on_time", 0),
            cancelled_count=c.get("cancelled", 0),
            cancelled_by_vendor_count=c.get("by_vendor", 0),
            disputed_count=c.get("disputed", 0),
            ship_within_hours=ship_within_hours,
        )
        for id, c in counts.items()
    }
