"""Payment providers behind one interface; `test` is built in (DESIGN §10)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Charge:
    succeeded: bool
    reference: str
    message: str | None = None


class PaymentProvider(Protocol):
    name: str

    async def charge(self, *, amount: int, currency: str, payment_method_id: str) -> Charge: ...

    async def refund(self, *, reference: str, amount: int, currency: str) -> Charge: ...


class TestProvider:
    """`pm_card_declined` and any `pm_fail...` are declined; any other `pm_...` succeeds."""

    name = "test"

    async def charge(self, *, amount: int, currency: str, payment_method_id: str) -> Charge:
        reference = f"pi_test_{uuid.uuid4().hex[:24]}"
        if not payment_method_id.startswith("pm_"):
            return Charge(False, reference, "Unknown payment method.")
        if payment_method_id == "pm_card_declined" or payment_method_id.startswith("pm_fail"):
            return Charge(False, reference, "The card was declined.")
        return Charge(True, reference)

    async def refund(self, *, reference: str, amount: int, currency: str) -> Charge:
        return Charge(True, f"re_test_{uuid.uuid4().hex[:24]}")


PROVIDER: PaymentProvider = TestProvider()
