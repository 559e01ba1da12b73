"""Notifications: messages to a person (a password-reset link, an e-mail verification link).

A `Notifier` delivers a `Message`. It is called after the command that made the message has
committed, never inside a transaction (DESIGN §10: an outside call never holds the database),
so a slow or failing mail server cannot hold a lock, and a rolled-back command sends nothing.
The development backend, `LogNotifier`, writes the whole message (link and token included) to
the `app.notifications` logger, so that a developer can follow the link from the server's log;
a real mail backend implements the same `send`. The backend is chosen by
`CARTOGRAPH_NOTIFIER`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("app.notifications")


@dataclass(frozen=True, slots=True)
class Message:
    """One message to one address. `link` carries the token; `token` is there for clients
    that build their own link (and for the development log)."""

    to: str
    subject: str
    body: str
    link: str | None = None
    token: str | None = None


class Notifier(Protocol):
    async def send(self, message: Message) -> None: ...


class LogNotifier:
    """Development: the message goes to the log, not to a mailbox."""

    async def send(self, message: Message) -> None:
        log.info(
            "notification to %s: %s\n%s\nlink: %s\ntoken: %s",
            message.to,
            message.subject,
            message.body,
            message.link,
            message.token,
        )


NOTIFIERS: dict[str, type[LogNotifier]] = {"log": LogNotifier}


def notifier_named(name: str) -> Notifier:
    """The backend a setting names (`log`)."""
    try:
        return NOTIFIERS[name]()
    except KeyError:
        raise ValueError(
            f"Unknown notifier {name!r}; choose from {', '.join(NOTIFIERS)}."
        ) from None


async def deliver(notifier: Notifier, messages: list[Message]) -> None:
    """Send each message; a failed delivery is logged, never the caller's error (the command
    it belongs to has committed, and the answer must not tell whether a mail went out)."""
    for message in messages:
        try:
            await notifier.send(message)
        except Exception:
            log.exception("notification to %s failed", message.to)
