"""Notifications: messages to a person, by e-mail or by text message (SMS).

Each channel sits behind a small interface: a `Notifier` sends an e-mail `Message`, an
`SmsProvider` a text. They are only ever called by the `notification.send` job
(`app.notifications.jobs`), with no transaction open (DESIGN §10: an outside call never holds
the database), so a slow or failing mail server holds no lock, and a rolled-back command sends
nothing. The backends are chosen by settings: `CARTOGRAPH_NOTIFIER` (`log`, the development
default, writes the whole message, link and token included, to the `app.notifications` logger
so that a developer can follow the link from the server's log; `smtp` sends it through the
configured mail server) and `CARTOGRAPH_SMS_PROVIDER` (`log`; a real provider implements the
same `send`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from app.config import Settings

log = logging.getLogger("app.notifications")


@dataclass(frozen=True, slots=True)
class Message:
    """One e-mail to one address. `link` carries the token; `token` is there for clients
    that build their own link (and for the development log)."""

    to: str
    subject: str
    body: str
    link: str | None = None
    token: str | None = None


class Notifier(Protocol):
    async def send(self, message: Message) -> None: ...


class SmsProvider(Protocol):
    async def send(self, to: str, body: str) -> None: ...


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


class LogSmsProvider:
    """Development: the text goes to the log, not to a phone."""

    async def send(self, to: str, body: str) -> None:
        log.info("text message to %s:\n%s", to, body)


@dataclass(frozen=True, slots=True)
class Channels:
    """The backend of each channel, as the settings choose them."""

    email: Notifier
    sms: SmsProvider

    @classmethod
    def from_settings(cls, settings: Settings) -> Channels:
        # Imported here: only a server configured for SMTP needs the SMTP client.
        from app.notifications.smtp import SmtpNotifier

        email: Notifier = (
            SmtpNotifier.from_settings(settings) if settings.notifier == "smtp" else LogNotifier()
        )
        return cls(email=email, sms=LogSmsProvider())
