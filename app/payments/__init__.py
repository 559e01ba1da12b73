"""Payment providers behind one interface; `test` is built in (DESIGN §10).

Every call carries an idempotency key, as real providers take one (Stripe's
`Idempotency-Key`): the same key answers the first outcome again and moves no money twice.
That is what lets a checkout interrupted between the provider's answer and its own second
transaction be resumed safely: the retry asks again with the same key.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson


@dataclass(frozen=True, slots=True)
class Charge:
    succeeded: bool
    reference: str
    message: str | None = None


class PaymentProvider(Protocol):
    name: str

    async def charge(
        self, *, amount: int, currency: str, payment_method_id: str, idempotency_key: str
    ) -> Charge: ...

    async def refund(
        self, *, reference: str, amount: int, currency: str, idempotency_key: str
    ) -> Charge: ...


class Ledger:
    """The test provider's record of what it did, keyed by idempotency key.

    In memory by default; in a JSON-lines file when given a path, so that it outlives the
    server process as a real provider's records do (the crash tests kill the server and ask
    again after restart). Appends are locked and fsynced: several processes may share it.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._memory: dict[str, dict[str, object]] = {}

    def entries(self, kind: str | None = None) -> list[dict[str, Any]]:
        """What was recorded, in order; only charges or refunds when `kind` says so."""
        return [e for e in self._read() if kind is None or e["kind"] == kind]

    def _read(self) -> list[dict[str, Any]]:
        if self.path is None:
            return list(self._memory.values())
        with contextlib.suppress(FileNotFoundError), self.path.open("rb") as file:
            return [orjson.loads(line) for line in file if line.strip()]
        return []

    def add(self, entry: dict[str, object]) -> dict[str, object]:
        """Record `entry` unless its key is there already; the entry that stands."""
        if self.path is None:
            return self._memory.setdefault(str(entry["key"]), entry)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab+") as file:
            fcntl.flock(file, fcntl.LOCK_EX)
            try:
                file.seek(0)
                for line in file:
                    if not line.strip():
                        continue
                    seen: dict[str, object] = orjson.loads(line)
                    if seen["key"] == entry["key"]:
                        return seen
                file.write(orjson.dumps(entry) + b"\n")
                file.flush()
                os.fsync(file.fileno())
            finally:
                fcntl.flock(file, fcntl.LOCK_UN)
        return entry


class TestProvider:
    """`pm_card_declined` and any `pm_fail...` are declined; any other `pm_...` succeeds.

    `latency` (seconds) stands for the provider's round trip; the outcome is recorded before
    it elapses, as a real provider has charged the card before its answer arrives. `peak`
    is the most calls ever in flight at once (tests and the bench read it to show overlap).
    """

    name = "test"

    def __init__(self, *, latency: float = 0.0, ledger: Path | None = None) -> None:
        self.latency = latency
        self.ledger = Ledger(ledger)
        self.in_flight = 0
        self.peak = 0
        self.calls = 0

    async def charge(
        self, *, amount: int, currency: str, payment_method_id: str, idempotency_key: str
    ) -> Charge:
        if not payment_method_id.startswith("pm_"):
            message = "Unknown payment method."
        elif payment_method_id == "pm_card_declined" or payment_method_id.startswith("pm_fail"):
            message = "The card was declined."
        else:
            message = None
        entry = {
            "key": idempotency_key,
            "kind": "charge",
            "reference": f"pi_test_{uuid.uuid4().hex[:24]}",
            "amount": amount,
            "currency": currency,
            "succeeded": message is None,
            "message": message,
        }
        return await self._call(entry)

    async def refund(
        self, *, reference: str, amount: int, currency: str, idempotency_key: str
    ) -> Charge:
        entry = {
            "key": idempotency_key,
            "kind": "refund",
            "reference": f"re_test_{uuid.uuid4().hex[:24]}",
            "charge": reference,
            "amount": amount,
            "currency": currency,
            "succeeded": True,
            "message": None,
        }
        return await self._call(entry)

    async def _call(self, entry: dict[str, object]) -> Charge:
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            stands = self.ledger.add(entry)
            if self.latency:
                await asyncio.sleep(self.latency)
        finally:
            self.in_flight -= 1
        message = stands["message"]
        return Charge(
            bool(stands["succeeded"]),
            str(stands["reference"]),
            str(message) if message is not None else None,
        )


_provider: PaymentProvider = TestProvider()


def provider() -> PaymentProvider:
    """The process's payment provider (set once at start-up by `use`)."""
    return _provider


def use(chosen: PaymentProvider) -> PaymentProvider:
    """Make `chosen` the process's provider; returns the one it replaces."""
    global _provider
    previous, _provider = _provider, chosen
    return previous
