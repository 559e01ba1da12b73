"""Vendors: registering, the profile, and the approval machine.

pending -> active (approve) or rejected (reject, with a reason); active -> suspended (suspend,
with a reason); suspended -> active (reinstate). Any other move is a CONFLICT naming the
current status and the allowed actions. Only an active vendor sells: its users may read and
edit its profile in any status, but create or change catalog entities and move sub-orders
only while it is active (FORBIDDEN otherwise).

Registering: a signed-in user with no vendor registers their own (pending), becomes its user
and is given the built-in `vendor` role; `marketplace:admin` may register one for anyone,
linking an existing user (`userId`) or none. An API key or a client acting for itself is no
one's user, so without `marketplace:admin` it cannot register.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from app.ids import parse_uuid
from app.models.base import utcnow
from app.models.marketplace import (
    DESCRIPTION_LENGTH,
    NAME_LENGTH,
    PHONE_LENGTH,
    REASON_LENGTH,
    VENDOR_STATUSES,
    WEBSITE_LENGTH,
    Vendor,
)
from app.models.users import User
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services.audit import record_change
from app.services.catalog.rules import Problems, check_address, check_slug, slugify
from app.services.customers import check_email
from app.services.marketplace import ADMIN
from app.services.roles import VENDOR, grant_roles
from app.text import like_escaped, trimmed

ENTITY = "vendor"
# action -> (from statuses, to status, whether a reason is required)
ACTIONS: dict[str, tuple[tuple[str, ...], str, bool]] = {
    "approve": (("pending",), "active", False),
    "reject": (("pending",), "rejected", True),
    "suspend": (("active",), "suspended", True),
    "reinstate": (("suspended",), "active", False),
}
VENDOR_ORDER = (SortKey(Vendor.id, descending=True),)
WEBSITE = re.compile(r"^https?://\S+$")
SEARCH_LENGTH = 200


def allowed_actions(status: str) -> list[str]:
    return [action for action, (sources, _, _) in ACTIONS.items() if status in sources]


@dataclass(frozen=True, slots=True, kw_only=True)
class VendorProfile:
    """Profile fields as given; None leaves a field as it is (on update) or empty."""

    name: str | None = None
    slug: str | None = None
    email: str | None = None
    description: str | None = None
    phone: str | None = None
    website: str | None = None
    address: dict[str, Any] | None = None


def _checked(profile: VendorProfile, *, creating: bool) -> dict[str, Any]:
    """The profile's given fields, checked and normalised (VALIDATION_FAILED naming each bad
    one)."""
    problems = Problems()
    values: dict[str, Any] = {}
    if profile.name is not None or creating:
        name = (profile.name or "").strip()
        if not 1 <= len(name) <= NAME_LENGTH:
            problems.add("name", f"1 to {NAME_LENGTH} characters.")
        values["name"] = name
    if profile.slug is not None:
        check_slug(problems, profile.slug)
        values["slug"] = profile.slug
    elif creating:
        values["slug"] = slugify(profile.name or "")
    if profile.email is not None or creating:
        values["email"] = check_email(problems, profile.email or "")
    limits = {"description": DESCRIPTION_LENGTH, "phone": PHONE_LENGTH, "website": WEBSITE_LENGTH}
    for field, limit in limits.items():
        value = getattr(profile, field)
        if value is None:
            continue
        if len(value) > limit:
            problems.add(field, f"At most {limit} characters.")
        values[field] = value.strip() or None
    if values.get("website") and not WEBSITE.match(values["website"]):
        problems.add("website", "An http or https URL.")
    if profile.address is not None:
        values["address"] = check_address(problems, profile.address) or None
    problems.raise_if_any()
    return values


async def _flush_slug(uow: UnitOfWork, slug: str) -> None:
    """Flush, turning a duplicate slug (checked or concurrent) into a CONFLICT."""
    try:
        async with uow.session.begin_nested():
            await uow.session.flush()
    except IntegrityError:
        raise Conflict(f"The slug {slug} is in use.", details={"slug": "Already in use."}) from None


async def _slug_taken(session: AsyncSession, slug: str, other_than: uuid.UUID | None) -> bool:
    found = await session.scalar(select(Vendor.id).where(Vendor.slug == slug))
    return found is not None and found != other_than


async def register_vendor(
    uow: UnitOfWork, actor: Actor, *, profile: VendorProfile, user_id: str | None = None
) -> Vendor:
    """A new vendor, pending approval, and its user linked (see the module's rules)."""
    admin = actor.can(ADMIN)
    if not admin:
        if actor.kind != "user" or actor.id is None:
            actor.require(ADMIN)  # UNAUTHORIZED when anonymous, else FORBIDDEN
        if user_id is not None and user_id != actor.id:
            raise Forbidden(f"Only {ADMIN} may register a vendor for another user.")
        user_id = actor.id
    values = _checked(profile, creating=True)
    user = None
    if user_id is not None:
        parsed = parse_uuid(user_id)
        user = await uow.session.get(User, parsed, with_for_update=True) if parsed else None
        if user is None:
            raise ValidationFailed.field("userId", "No such user.")
        if user.vendor_id is not None:
            raise Conflict(
                "This user already belongs to a vendor.", details={"userId": str(user.vendor_id)}
            )
    if await _slug_taken(uow.session, values["slug"], None):
        raise Conflict(f"The slug {values['slug']} is in use.", details={"slug": "Already in use."})
    vendor = Vendor(status="pending", created_by=actor.id, **values)
    uow.session.add(vendor)
    await _flush_slug(uow, values["slug"])
    if user is not None:
        user.vendor_id = vendor.id
        user.updated_at = utcnow()
        await grant_roles(uow.session, user.id, [VENDOR])
        await uow.session.flush()
    record_change(
        uow, actor, event="vendors.create", entity_type=ENTITY, entity_id=str(vendor.id),
        after=vendor.snapshot(),
    )  # fmt: skip
    return vendor


def _may_reach(actor: Actor, vendor: Vendor) -> bool:
    return actor.can(ADMIN) or actor.is_vendor(vendor.id)


async def get_vendor(
    session: AsyncSession, actor: Actor, id: str | None, *, lock: bool = False
) -> Vendor:
    """`marketplace:admin` reads any vendor; a vendor's user its own (None: its own), and any
    other is NOT_FOUND to it. Anyone else is refused (UNAUTHORIZED or FORBIDDEN)."""
    if id is None:
        id = require_vendor_user(actor)
    elif not actor.can(ADMIN) and actor.vendor_id is None:
        actor.require(ADMIN)
    parsed = parse_uuid(id or "")
    vendor = None
    if parsed is not None:
        query = select(Vendor).where(Vendor.id == parsed)
        vendor = await session.scalar(query.with_for_update() if lock else query)
    if vendor is None or not _may_reach(actor, vendor):
        raise NotFound("Vendor not found.")
    return vendor


async def update_vendor(
    uow: UnitOfWork, actor: Actor, *, id: str | None, profile: VendorProfile
) -> Vendor:
    """Change the given profile fields (the vendor's own users may, in any status)."""
    values = _checked(profile, creating=False)
    vendor = await get_vendor(uow.session, actor, id, lock=True)
    before = vendor.snapshot()
    slug = values.get("slug")
    if slug is not None and await _slug_taken(uow.session, slug, vendor.id):
        raise Conflict(f"The slug {slug} is in use.", details={"slug": "Already in use."})
    for field, value in values.items():
        setattr(vendor, field, value)
    vendor.updated_at = utcnow()
    await _flush_slug(uow, vendor.slug)
    record_change(
        uow, actor, event="vendors.update", entity_type=ENTITY, entity_id=str(vendor.id),
        before=before, after=vendor.snapshot(),
    )  # fmt: skip
    return vendor


async def change_vendor_status(
    uow: UnitOfWork, actor: Actor, *, id: str, action: str, reason: str | None = None
) -> Vendor:
    """approve, reject, suspend or reinstate (needs marketplace:admin; the caller checks)."""
    sources, target, needs_reason = ACTIONS[action]
    reason = trimmed(reason, "reason", REASON_LENGTH)
    vendor = await get_vendor(uow.session, actor, id, lock=True)
    if vendor.status not in sources:
        allowed = allowed_actions(vendor.status)
        raise Conflict(
            f"Cannot {action} a vendor that is {vendor.status}; "
            f"allowed actions: {', '.join(allowed) or 'none'}.",
            details={"status": vendor.status, "allowed": ", ".join(allowed)},
        )
    # After the move is known to be allowed: a missing reason is then the one thing wrong.
    if needs_reason and reason is None:
        raise ValidationFailed.field("reason", f"Say why the vendor is {target}.")
    before = vendor.snapshot()
    vendor.status = target
    vendor.status_reason = reason if target in ("rejected", "suspended") else None
    if action == "approve":
        vendor.approved_at = utcnow()
    vendor.updated_at = utcnow()
    await uow.session.flush()
    record_change(
        uow, actor, event="vendors.statusChange", entity_type=ENTITY, entity_id=str(vendor.id),
        before=before, after=vendor.snapshot(), reason=reason or action,
    )  # fmt: skip
    return vendor


async def list_vendors(
    session: AsyncSession,
    *,
    page: PageRequest,
    status: str | None = None,
    search: str | None = None,
) -> Page[Vendor]:
    """Newest first; `search` is a case-insensitive part of the name."""
    if status is not None and status not in VENDOR_STATUSES:
        raise ValidationFailed.field("status", f"One of {', '.join(VENDOR_STATUSES)}.")
    statement = select(Vendor)
    if status is not None:
        statement = statement.where(Vendor.status == status)
    if search:
        if len(search) > SEARCH_LENGTH:
            raise ValidationFailed.field("search", f"At most {SEARCH_LENGTH} characters.")
        needle = like_escaped(search.strip())
        statement = statement.where(Vendor.name.ilike(f"%{needle}%", escape="\\"))
    return await paginate(session, statement, keys=VENDOR_ORDER, request=page)


async def vendors_by_id(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, Vendor]:
    """One statement for any number of vendors (the look-ahead's and loaders' fetch)."""
    if not ids:
        return {}
    rows = await session.scalars(select(Vendor).where(Vendor.id.in_(set(ids))))
    return {row.id: row for row in rows}


def require_vendor_user(actor: Actor) -> str:
    """The actor's vendor id: UNAUTHORIZED when anonymous, FORBIDDEN for anyone who is not a
    vendor's user."""
    if actor.vendor_id is None:
        if actor.is_anonymous:
            raise Unauthorized("Authentication required.")
        raise Forbidden("Only a vendor's signed-in user has a vendor of their own.")
    return actor.vendor_id


async def require_selling(session: AsyncSession, actor: Actor) -> uuid.UUID:
    """The id of the actor's vendor, which must be active to sell or act (FORBIDDEN when it
    is pending, rejected or suspended; the caller knows the actor is a vendor's user)."""
    assert actor.vendor_id is not None
    vendor_id = uuid.UUID(actor.vendor_id)
    status = await session.scalar(select(Vendor.status).where(Vendor.id == vendor_id))
    if status != "active":
        raise Forbidden(f"Your vendor is {status or 'gone'}: it cannot sell or act until active.")
    return vendor_id


async def require_vendor_exists(session: AsyncSession, id: str, field: str) -> uuid.UUID:
    """A vendor named by an admin (VALIDATION_FAILED on `field` when there is none)."""
    parsed = parse_uuid(id)
    found = await session.scalar(select(Vendor.id).where(Vendor.id == parsed)) if parsed else None
    if found is None:
        raise ValidationFailed.field(field, "No such vendor.")
    return found
