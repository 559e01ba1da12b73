"""Platform fields: liveness for GraphQL clients and a clock subscription."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated

import strawberry

from app import __version__
from app.errors import ValidationFailed
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


@strawberry.type
class PlatformSubscriptions:
    @strawberry.subscription(
        description="The server's clock (UTC), `count` times, `intervalSeconds` apart."
    )
    async def server_time(
        self,
        count: Annotated[
            int,
            strawberry.argument(
                description="How many times to send the time, 1 to 3600. Default: 10."
            ),
        ] = 10,
        interval_seconds: Annotated[
            float,
            strawberry.argument(description="Seconds between two sends, 0.01 to 60. Default: 1."),
        ] = 1.0,
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
