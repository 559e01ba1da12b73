"""Payout providers behind one interface; `test` is built in (DESIGN §10).

A payout provider sends money to a vendor. Every transfer carries an idempotency key, as real
providers take one (Stripe Connect's `Idempotency-Key` on a transfer): the same key answers the
first outcome again and moves no money twice. The marketplace calls it with no transaction
open, under the key `<payout id>:<attempt>` (`app.services.marketplace.payouts`).

A real adapter implements `PayoutProvider` and is installed with `use` at start-up.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from app.money import currency_problem

ANY_CURRENCY = "*"


@dataclass(frozen=True, slots=True)
class Transfer:
    succeeded: bool
    reference: str
    message: str | None = None


class PayoutProvider(Protocol):
    name: str

    async def transfer(
        self, *, vendor_id: str, amount: int, currency: str, idempotency_key: str
    ) -> Transfer: ...


class TestPayoutProvider:
    """Records every transfer it makes, keyed by idempotency key (the same key answers the
    first outcome again). Told to fail: transfers to a vendor in `failing` are refused.

    `before_transfer`, when set, is called at the start of every call (tests check there that
    the caller holds no transaction open).
    """

    name = "test"

    def __init__(self) -> None:
        self.transfers: dict[str, dict[str, object]] = {}
        self.failing: set[str] = set()
        self.calls = 0
        self.before_transfer: Callable[[], None] | None = None

    def paid(self) -> list[dict[str, object]]:
        """The transfers that moved money, in the order they were made."""
        return [t for t in self.transfers.values() if t["succeeded"]]

    async def transfer(
        self, *, vendor_id: str, amount: int, currency: str, idempotency_key: str
    ) -> Transfer:
        self.calls += 1
        if self.before_transfer is not None:
            self.before_transfer()
        refused = vendor_id in self.failing
        entry = self.transfers.setdefault(
            idempotency_key,
            {
                "key": idempotency_key,
                "vendorId": vendor_id,
                "amount": amount,
                "currency": currency,
                "reference": f"tr_test_{uuid.uuid4().hex[:24]}",
                "succeeded": not refused,
                "message": "The destination account refused the transfer." if refused else None,
            },
        )
        message = entry["message"]
        return Transfer(
            bool(entry["succeeded"]),
            str(entry["reference"]),
            str(message) if message is not None else None,
        )


@dataclass(frozen=True, slots=True)
class Minimums:
    """The least balance a run pays out, per currency (minor units); `default` for the rest."""

    by_currency: dict[str, int]
    default: int

    def of(self, currency: str) -> int:
        return max(1, self.by_currency.get(currency, self.default))

    @classmethod
    def parse(cls, text: str) -> Minimums:
        """`USD=5000,EUR=4000,*=1000`: a currency's minimum in minor units; `*` any other's
        (default 1000). ValueError naming what is wrong."""
        found: dict[str, int] = {}
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            code, _, amount = part.partition("=")
            code = code.strip()
            if code != ANY_CURRENCY and (problem := currency_problem(code)) is not None:
                raise ValueError(f"{part!r}: {problem}")
            if not amount.strip().isdigit():
                raise ValueError(f"{part!r}: CODE=minor units, e.g. USD=5000.")
            found[code] = int(amount)
        default = found.pop(ANY_CURRENCY, 1000)
        return cls(found, default)


_provider: PayoutProvider = TestPayoutProvider()


def provider() -> PayoutProvider:
    """The process's payout provider (set once at start-up by `use`)."""
    return _provider


def use(chosen: PayoutProvider) -> PayoutProvider:
    """Make `chosen` the process's provider; returns the one it replaces."""
    global _provider
    previous, _provider = _provider, chosen
    return previous
