"""Platform fields: liveness for GraphQL clients and a clock subscription."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry

from app import __version__
from app.errors import ValidationFailed
from app.models.base import utcnow


@strawberry.type
class PlatformQueries:
    @strawberry.field
    def ping(self) -> str:
        return "pong"

    @strawberry.field
    def server_time(self) -> datetime:
        return utcnow()

    @strawberry.field
    def version(self) -> str:
        return __version__


@strawberry.type
class PlatformSubscriptions:
    @strawberry.subscription
    async def server_time(
        self, count: int = 10, interval_seconds: float = 1.0
    ) -> AsyncGenerator[datetime, None]:
        """The server's clock, `count` times, `intervalSeconds` apart."""
        if not 1 <= count <= 3600:
            raise ValidationFailed.field("count", "Must be between 1 and 3600.")
        if not 0.01 <= interval_seconds <= 60:
            raise ValidationFailed.field("intervalSeconds", "Must be between 0.01 and 60.")
        for i in range(count):
            if i:
                await asyncio.sleep(interval_seconds)
            yield utcnow()
