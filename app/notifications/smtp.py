"""E-mail over SMTP (aiosmtplib), with the TLS mode, credentials and sender of the settings."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from app.config import Settings
from app.notifications import Message


@dataclass(frozen=True, slots=True)
class SmtpNotifier:
    host: str
    port: int
    # `none`: plain SMTP; `starttls`: upgraded after connecting (port 587); `tls`: implicit
    # TLS from the first byte (port 465).
    tls: str
    sender: str
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpNotifier:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            tls=settings.smtp_tls,
            sender=settings.smtp_sender,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout_seconds,
        )

    async def send(self, message: Message) -> None:
        """Send one message; any failure (refused connection, rejected recipient, timeout)
        is raised for the job to record and retry."""
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        text = message.body if message.link is None else f"{message.body}\n\n{message.link}\n"
        mail.set_content(text)
        await aiosmtplib.send(
            mail,
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.tls == "tls",
            start_tls=self.tls == "starttls",
            timeout=self.timeout,
        )
