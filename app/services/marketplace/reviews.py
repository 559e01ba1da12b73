"""Reviews: a signed-in customer rates a vendor (1-5, a title and a body) for one of their
delivered sub-orders of that vendor, once per sub-order (a second is a CONFLICT), and may
edit it afterwards; to anyone else signed in the review is NOT_FOUND, as a missing one.

An active vendor's reviews are public; a vendor in any other status shows its reviews to
marketplace:admin and its own users only (NOT_FOUND to anyone else). The vendor reads those
it received (`mine`).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from app.ids import parse_uuid
from app.models.aftercare import BODY_LENGTH, TITLE_LENGTH, Review
from app.models.base import utcnow
from app.models.marketplace import Vendor
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services.audit import record_change
from app.services.marketplace import ADMIN
from app.services.marketplace.aftercare import (
    customers_sub_order,
    require_customer,
    require_delivered,
)
from app.services.marketplace.vendors import require_vendor_user
from app.text import trimmed

ENTITY = "review"
REVIEW_ORDER = (SortKey(Review.id, descending=True),)
NOT_FOUND = "Review not found."


def _rating(rating: int | None) -> int | None:
    if rating is not None and not 1 <= rating <= 5:
        raise ValidationFailed.field("rating", "From 1 to 5.")
    return rating


async def _vendor(session: AsyncSession, id: str) -> Vendor:
    parsed = parse_uuid(id)
    vendor = await session.get(Vendor, parsed) if parsed else None
    if vendor is None:
        raise NotFound("Vendor not found.")
    return vendor


async def create_review(
    uow: UnitOfWork,
    actor: Actor,
    *,
    vendor_id: str,
    sub_order_id: str,
    rating: int,
    title: str | None,
    body: str | None,
) -> Review:
    """The customer's review of the vendor for one of their delivered sub-orders of it."""
    _rating(rating)
    title = trimmed(title, "title", TITLE_LENGTH, required=False)
    body = trimmed(body, "body", BODY_LENGTH, required=False)
    customer_id = require_customer(actor)
    sub_order = await customers_sub_order(uow.session, actor, sub_order_id, lock=True)
    if str(sub_order.vendor_id) != str(parse_uuid(vendor_id)):
        raise NotFound("Sub-order not found.")
    require_delivered(sub_order, "a review")
    taken = await uow.session.scalar(select(Review.id).where(Review.sub_order_id == sub_order.id))
    raced = False
    review = Review(
        vendor_id=sub_order.vendor_id, sub_order_id=sub_order.id, customer_id=customer_id,
        rating=rating, title=title, body=body,
    )  # fmt: skip
    if taken is None:
        uow.session.add(review)
        try:
            async with uow.session.begin_nested():
                await uow.session.flush()
        except IntegrityError:
            raced = True  # reviewed concurrently
    if taken is not None or raced:
        raise Conflict("This sub-order has been reviewed already; edit that review instead.")
    record_change(
        uow, actor, event="reviews.create", entity_type=ENTITY, entity_id=str(review.id),
        after=review.snapshot(),
    )  # fmt: skip
    return review


async def update_review(
    uow: UnitOfWork,
    actor: Actor,
    *,
    vendor_id: str | None,
    id: str,
    rating: int | None = None,
    title: str | None = None,
    body: str | None = None,
) -> Review:
    """Its author changes the given fields (an empty title or body clears it)."""
    _rating(rating)
    title_value = trimmed(title, "title", TITLE_LENGTH, required=False)
    body_value = trimmed(body, "body", BODY_LENGTH, required=False)
    if actor.is_anonymous:
        raise Unauthorized("Authentication required.")
    parsed = parse_uuid(id)
    vendor = parse_uuid(vendor_id) if vendor_id is not None else None
    review = None
    if parsed is not None:
        review = await uow.session.scalar(
            select(Review).where(Review.id == parsed).with_for_update()
        )
    if (
        review is None
        or (vendor_id is not None and review.vendor_id != vendor)
        or not actor.is_customer(review.customer_id)
    ):
        raise NotFound(NOT_FOUND)
    before = review.snapshot()
    if rating is not None:
        review.rating = rating
    if title is not None:
        review.title = title_value
    if body is not None:
        review.body = body_value
    review.updated_at = utcnow()
    await uow.session.flush()
    record_change(
        uow, actor, event="reviews.update", entity_type=ENTITY, entity_id=str(review.id),
        before=before, after=review.snapshot(),
    )  # fmt: skip
    return review


async def list_reviews(
    session: AsyncSession,
    actor: Actor,
    *,
    page: PageRequest,
    vendor_id: str | None = None,
    mine: bool = False,
    rating: int | None = None,
) -> Page[Review]:
    """Newest first: a vendor's (see the module for who sees which), or the vendor user's
    own (`mine`)."""
    _rating(rating)
    if mine:
        owner = uuid.UUID(require_vendor_user(actor))
    else:
        vendor = await _vendor(session, vendor_id or "")
        if vendor.status != "active" and not (actor.can(ADMIN) or actor.is_vendor(vendor.id)):
            raise NotFound("Vendor not found.")
        owner = vendor.id
    statement = select(Review).where(Review.vendor_id == owner)
    if rating is not None:
        statement = statement.where(Review.rating == rating)
    return await paginate(session, statement, keys=REVIEW_ORDER, request=page)
