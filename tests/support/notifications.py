"""Driving the notification jobs from a test (no background worker runs under httpx's ASGI
transport, which does not start the app's lifespan)."""

from __future__ import annotations

from starlette.applications import Starlette

from app.jobs import run_pending


async def send_notifications(app: Starlette, *, rounds: int = 5) -> int:
    """Run the due jobs with the app's own settings (so its notifier and token lifetimes
    apply) until none is left; how many ran."""
    ran = 0
    for _ in range(rounds):
        now = await run_pending(app.state.database, app.state.settings, limit=100)
        if now == 0:
            break
        ran += now
    return ran
