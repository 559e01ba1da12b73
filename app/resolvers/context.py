"""The per-request GraphQL context: the actor, the database, and how a command commits."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from graphql import OperationType
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from strawberry import Info

from app.auth.actor import ANONYMOUS, Actor
from app.db import Database, UnitOfWork
from app.events.pubsub import LiveEvents
from app.media import MediaSetup
from app.resolvers.budget import CostBudget


@dataclass(slots=True)
class Context:
    database: Database
    request: HTTPConnection | None = None
    response: Any = None
    actor: Actor = ANONYMOUS
    request_id: str | None = None
    connection_params: dict[str, Any] | None = field(default=None)
    default_currency: str = "USD"
    # Whether webhook targets may be private or loopback addresses (a setting; tests use it).
    webhook_allow_private: bool = False
    # PostgreSQL's statement timeout for one analytics query (a setting).
    analytics_timeout_ms: int = 3000
    # Request-scoped DataLoaders, by name (the fallback for what look-ahead did not plan).
    loaders: dict[str, Any] = field(default_factory=dict)
    # Each principal's query cost budget (None: no budget), and whether the cost limit and
    # budget apply: REST routes run fixed operations under page limits of their own.
    cost_budget: CostBudget | None = None
    priced: bool = True
    # The process's live event fan-out, which subscriptions listen to.
    live: LiveEvents | None = None
    # The payout run's minimum balance per currency (a setting); None: the default.
    payout_minimum: str | None = None
    # On-time shipping for vendor performance: shipped within this many hours (a setting).
    vendor_ship_within_hours: int = 48
    # Media storage and upload rules (None outside an app: no media fields work there).
    media: MediaSetup | None = None

    @classmethod
    def for_connection(
        cls, database: Database, connection: HTTPConnection, response: Any = None
    ) -> Context:
        state = connection.scope.get("state", {})
        app = connection.scope.get("app")
        settings = getattr(getattr(app, "state", None), "settings", None)
        return cls(
            default_currency=settings.default_currency if settings else "USD",
            webhook_allow_private=settings.webhook_allow_private if settings else False,
            analytics_timeout_ms=settings.analytics_timeout_ms if settings else 3000,
            database=database,
            request=connection,
            response=response,
            actor=state.get("actor", ANONYMOUS),
            request_id=state.get("request_id"),
            cost_budget=getattr(getattr(app, "state", None), "cost_budget", None),
            live=getattr(getattr(app, "state", None), "live", None),
            payout_minimum=settings.payout_minimum if settings else None,
            vendor_ship_within_hours=settings.vendor_ship_within_hours if settings else 48,
            media=getattr(getattr(app, "state", None), "media", None),
        )

    @contextlib.asynccontextmanager
    async def command(self) -> AsyncIterator[UnitOfWork]:
        """One unit of work for one mutation: it commits if the block finishes cleanly."""
        async with self.database.unit_of_work(request_id=self.request_id) as uow:
            yield uow
            await uow.commit()

    def media_setup(self) -> MediaSetup:
        if self.media is None:
            raise RuntimeError("media is not set up for this context")
        return self.media

    def read(self) -> contextlib.AbstractAsyncContextManager[AsyncSession]:
        """A short read session of the resolver's own (sibling resolvers run concurrently)."""
        return self.database.read_session()

    def read_may_lag(self, info: Info) -> contextlib.AbstractAsyncContextManager[AsyncSession]:
        """`read()`, from the read replica when an anonymous caller queries: what a shop's
        visitors browse (catalog, search, suggest) may be a moment old. A mutation's reads
        follow its write, a subscription answers the state after an event, and a signed-in
        caller may be looking at what they just changed: those read the primary."""
        if self.actor.is_anonymous and info.operation.operation is OperationType.QUERY:
            return self.database.replica_session()
        return self.read()
