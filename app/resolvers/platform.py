"""Platform fields: liveness for GraphQL clients."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app import __version__
from app.models.base import utcnow


@strawberry.type
class PlatformQueries:
    @strawberry.field(description='Always "pong": a liveness check for GraphQL clients.')
    def ping(self) -> str:
        return "pong"

    @strawberry.field(description="The server's current time (UTC).")
    def server_time(self) -> datetime:
        return utcnow()

    @strawberry.field(description="The running Cartograph version.")
    def version(self) -> str:
        return __version__
