"""GraphQL for the marketplace's money: commission rules, commissions, the vendors' balance
ledger and payouts.

marketplace:admin reaches every vendor's; a vendor's signed-in user reads its own balance,
entries, commissions and payouts (`myBalance`, `myBalanceEntries`, `myPayouts`, and
`commissions`, which it sees scoped to its vendor) and finds any other vendor's NOT_FOUND.
`Vendor.balance` loads through a request-scoped DataLoader (one statement per batch, however
many vendors a list holds).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import UNSET, Info
from strawberry.dataloader import DataLoader

from app.models.ledger import BalanceEntry, Commission, CommissionRule, Payout
from app.payouts import Minimums
from app.resolvers.arguments import AfterArg, FirstArg, LimitArg, OffsetArg, PageArg, page_request
from app.resolvers.enums import (
    BalanceEntryKind,
    CommissionRuleKind,
    CommissionRuleScope,
    CommissionStatus,
    PayoutStatus,
)
from app.resolvers.money import Money
from app.resolvers.pagination import Connection
from app.resolvers.permissions import requires
from app.services.marketplace import ADMIN
from app.services.marketplace import commissions as rule_service
from app.services.marketplace import ledger as ledger_service
from app.services.marketplace import payouts as payout_service

if TYPE_CHECKING:
    from app.resolvers.context import Context


def _id(value: uuid.UUID | None) -> strawberry.ID | None:
    return strawberry.ID(str(value)) if value is not None else None


@strawberry.type(
    name="CommissionRule",
    description="What the marketplace takes of a vendor's sale: the highest priority rule "
    "that applies wins, then the most specific scope (vendor, category, global), then the "
    "newest.",
)
class CommissionRuleType:
    id: strawberry.ID = strawberry.field(description="The rule's id.")
    name: str = strawberry.field(description="Its name, for people.")
    kind: CommissionRuleKind = strawberry.field(description="A percentage or a flat amount.")
    rate_bps: int | None = strawberry.field(
        description="PERCENTAGE: basis points of the line's total (1000 = 10 %)."
    )
    amount: Money | None = strawberry.field(description="FLAT: taken per unit sold.")
    scope: CommissionRuleScope = strawberry.field(description="Which sales it covers.")
    category_id: strawberry.ID | None = strawberry.field(description="CATEGORY: the category.")
    vendor_id: strawberry.ID | None = strawberry.field(description="VENDOR: the vendor.")
    priority: int = strawberry.field(description="Higher wins among the rules that apply.")
    valid_from: datetime | None = strawberry.field(description="Inclusive; null: no start.")
    valid_until: datetime | None = strawberry.field(description="Exclusive; null: no end.")
    created_at: datetime = strawberry.field(description="When it was made.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: CommissionRule) -> CommissionRuleType:
        amount = None
        if row.amount is not None and row.currency is not None:
            amount = Money(amount=row.amount, currency=row.currency)
        return cls(
            id=strawberry.ID(str(row.id)), name=row.name, kind=CommissionRuleKind.of(row.kind),
            rate_bps=row.rate_bps, amount=amount, scope=CommissionRuleScope.of(row.scope),
            category_id=_id(row.category_id), vendor_id=_id(row.vendor_id),
            priority=row.priority, valid_from=row.valid_from, valid_until=row.valid_until,
            created_at=row.created_at, updated_at=row.updated_at,
        )  # fmt: skip


@strawberry.type(
    name="Commission",
    description="The commission taken on one delivered sub-order line.",
)
class CommissionType:
    id: strawberry.ID = strawberry.field(description="The commission's id.")
    sub_order_id: strawberry.ID = strawberry.field(description="The delivered sub-order.")
    order_line_id: strawberry.ID = strawberry.field(description="The line it was taken on.")
    vendor_id: strawberry.ID = strawberry.field(description="The vendor who sold it.")
    rule_id: strawberry.ID | None = strawberry.field(
        description="The rule that decided it; null: none applied (the commission is 0)."
    )
    basis: Money = strawberry.field(description="The line's total it was taken on.")
    amount: Money = strawberry.field(description="The commission.")
    status: CommissionStatus = strawberry.field(description="Accrued, or reversed by a refund.")
    created_at: datetime = strawberry.field(description="When it was taken (at delivery).")

    @classmethod
    def from_row(cls, row: Commission) -> CommissionType:
        return cls(
            id=strawberry.ID(str(row.id)), sub_order_id=strawberry.ID(str(row.sub_order_id)),
            order_line_id=strawberry.ID(str(row.order_line_id)),
            vendor_id=strawberry.ID(str(row.vendor_id)), rule_id=_id(row.rule_id),
            basis=Money(amount=row.basis, currency=row.currency),
            amount=Money(amount=row.amount, currency=row.currency),
            status=CommissionStatus.of(row.status), created_at=row.created_at,
        )  # fmt: skip


@strawberry.type(
    name="BalanceEntry",
    description="One movement of a vendor's balance, appended and never changed; the balance "
    "is the sum of the entries.",
)
class BalanceEntryType:
    id: strawberry.ID = strawberry.field(description="The entry's id.")
    vendor_id: strawberry.ID = strawberry.field(description="Whose balance it moves.")
    kind: BalanceEntryKind = strawberry.field(description="What moved it.")
    amount: Money = strawberry.field(description="Signed: a credit is positive.")
    sub_order_id: strawberry.ID | None = strawberry.field(description="The sub-order, if any.")
    commission_id: strawberry.ID | None = strawberry.field(description="The commission, if any.")
    payout_id: strawberry.ID | None = strawberry.field(description="The payout, if any.")
    reason: str | None = strawberry.field(description="Why (refunds and adjustments).")
    created_at: datetime = strawberry.field(description="When it was recorded.")

    @classmethod
    def from_row(cls, row: BalanceEntry) -> BalanceEntryType:
        return cls(
            id=strawberry.ID(str(row.id)), vendor_id=strawberry.ID(str(row.vendor_id)),
            kind=BalanceEntryKind.of(row.kind),
            amount=Money(amount=row.amount, currency=row.currency),
            sub_order_id=_id(row.sub_order_id), commission_id=_id(row.commission_id),
            payout_id=_id(row.payout_id), reason=row.reason, created_at=row.created_at,
        )  # fmt: skip


@strawberry.type(
    name="Payout",
    description="Money sent to a vendor through the payout provider, exactly once.",
)
class PayoutType:
    id: strawberry.ID = strawberry.field(
        description="The payout's id (with the attempt, the provider's idempotency key)."
    )
    vendor_id: strawberry.ID = strawberry.field(description="The vendor paid.")
    amount: Money = strawberry.field(description="What is sent.")
    status: PayoutStatus = strawberry.field(description="Where it stands.")
    attempt: int = strawberry.field(description="1, then one more per retry.")
    provider: str = strawberry.field(description="The payout provider's name.")
    provider_reference: str | None = strawberry.field(description="The provider's transfer id.")
    failure_message: str | None = strawberry.field(description="Why the provider refused it.")
    created_at: datetime = strawberry.field(description="When it was made.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    paid_at: datetime | None = strawberry.field(description="When the provider sent it.")
    failed_at: datetime | None = strawberry.field(description="When the provider last refused.")

    @classmethod
    def from_row(cls, row: Payout) -> PayoutType:
        return cls(
            id=strawberry.ID(str(row.id)), vendor_id=strawberry.ID(str(row.vendor_id)),
            amount=Money(amount=row.amount, currency=row.currency),
            status=PayoutStatus.of(row.status), attempt=row.attempt, provider=row.provider,
            provider_reference=row.provider_reference, failure_message=row.failure_message,
            created_at=row.created_at, updated_at=row.updated_at, paid_at=row.paid_at,
            failed_at=row.failed_at,
        )  # fmt: skip


def _money(balances: dict[str, int]) -> list[Money]:
    return [Money(amount=amount, currency=currency) for currency, amount in balances.items()]


def vendor_balance(context: Context, vendor_id: uuid.UUID) -> Awaitable[list[Money]]:
    """`Vendor.balance` through the request's loader: one statement per batch of vendors."""
    loader = context.loaders.get("vendor_balance")
    if loader is None:

        async def batch(keys: list[uuid.UUID]) -> list[list[Money]]:
            async with context.read() as session:
                found = await ledger_service.balances_by_vendor(session, keys)
            return [_money(found[key]) for key in keys]

        loader = context.loaders["vendor_balance"] = DataLoader(batch)
    return loader.load(vendor_id)


@strawberry.type(name="VendorBalance", description="A vendor's balance: the sum of its entries.")
class VendorBalanceType:
    vendor_id: strawberry.ID = strawberry.field(description="The vendor.")
    balances: list[Money] = strawberry.field(
        description="Per currency it has entries in (a refund or adjustment may leave one "
        "negative)."
    )

    @strawberry.field(description="The entries that make it, newest first.")
    async def entries(
        self,
        info: Info,
        kind: Annotated[
            BalanceEntryKind | None, strawberry.argument(description="Only this kind.")
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[BalanceEntryType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        return await _entries(info, self.vendor_id, kind, request)


# --- inputs ----------------------------------------------------------------------------------


@strawberry.input(description="A commission rule to make.")
class CreateCommissionRuleInput:
    name: str = strawberry.field(description="Its name, 1 to 200 characters.")
    kind: CommissionRuleKind = strawberry.field(description="A percentage or a flat amount.")
    scope: CommissionRuleScope = strawberry.field(description="Which sales it covers.")
    rate_bps: int | None = strawberry.field(
        default=None, description="PERCENTAGE: basis points, 0 to 10000 (1000 = 10 %)."
    )
    amount: int | None = strawberry.field(
        default=None, description="FLAT: minor units per unit sold, 0 or more."
    )
    currency: str | None = strawberry.field(
        default=None, description="FLAT: its ISO 4217 currency (it covers sales in it only)."
    )
    category_id: strawberry.ID | None = strawberry.field(
        default=None, description="CATEGORY: the category (its products directly in it)."
    )
    vendor_id: strawberry.ID | None = strawberry.field(
        default=None, description="VENDOR: the vendor."
    )
    priority: int | None = strawberry.field(
        default=0, description="Higher wins among the rules that apply. Default: 0."
    )
    valid_from: datetime | None = strawberry.field(default=None, description="Inclusive.")
    valid_until: datetime | None = strawberry.field(
        default=None, description="Exclusive; after validFrom."
    )


@strawberry.input(description="Changes to a commission rule; omitted fields stay as they are.")
class UpdateCommissionRuleInput:
    id: strawberry.ID = strawberry.field(description="The rule's id.")
    name: str | None = strawberry.field(default=UNSET, description="1 to 200 characters.")
    kind: CommissionRuleKind | None = strawberry.field(default=UNSET, description="The kind.")
    scope: CommissionRuleScope | None = strawberry.field(default=UNSET, description="The scope.")
    rate_bps: int | None = strawberry.field(default=UNSET, description="PERCENTAGE: bps.")
    amount: int | None = strawberry.field(default=UNSET, description="FLAT: minor units.")
    currency: str | None = strawberry.field(default=UNSET, description="FLAT: the currency.")
    category_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="CATEGORY: the category."
    )
    vendor_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="VENDOR: the vendor."
    )
    priority: int | None = strawberry.field(default=UNSET, description="The priority.")
    valid_from: datetime | None = strawberry.field(
        default=UNSET, description="Inclusive; null: no start."
    )
    valid_until: datetime | None = strawberry.field(
        default=UNSET, description="Exclusive; null: no end."
    )


@strawberry.input(description="A commission rule, by id.")
class CommissionRuleIdInput:
    id: strawberry.ID = strawberry.field(description="The rule's id.")


@strawberry.input(description="A payout, by id.")
class PayoutIdInput:
    id: strawberry.ID = strawberry.field(description="The payout's id.")


@strawberry.input(description="A correction of a vendor's balance (marketplace:admin).")
class AdjustVendorBalanceInput:
    vendor_id: strawberry.ID = strawberry.field(description="The vendor.")
    amount: int = strawberry.field(description="Signed minor units, not zero.")
    currency: str = strawberry.field(description="Its ISO 4217 currency.")
    reason: str = strawberry.field(description="Why (at most 500 characters).")


@strawberry.input(description="Money given back out of a delivered vendor sub-order.")
class RefundSubOrderInput:
    id: strawberry.ID = strawberry.field(description="The delivered sub-order's id.")
    amount: int = strawberry.field(
        description="Minor units, at most what is left of its total to refund."
    )
    reason: str = strawberry.field(description="Why (at most 500 characters).")
    key: str | None = strawberry.field(
        default=None,
        description="Names this refund (1 to 80 characters): the same key again records "
        "nothing more. Default: a new refund each call.",
    )


@strawberry.input(description="A payout of one vendor, now (marketplace:admin).")
class SchedulePayoutInput:
    vendor_id: strawberry.ID = strawberry.field(description="The active vendor to pay.")
    currency: str = strawberry.field(description="The currency of its balance to pay out.")
    amount: int | None = strawberry.field(
        default=None,
        description="Minor units, at most its balance. Default: its whole balance (no minimum).",
    )


def _rule_input(input: Any) -> rule_service.RuleInput:
    given: dict[str, Any] = {}
    for name in ("name", "kind", "scope", "rate_bps", "amount", "currency", "category_id",
                 "vendor_id", "priority", "valid_from", "valid_until"):  # fmt: skip
        value = getattr(input, name)
        if value is UNSET:
            continue
        given[name] = str(value) if name in ("kind", "scope") and value is not None else value
    return rule_service.RuleInput(**given)


def _minimums(info: Info) -> Minimums:
    return Minimums.parse(info.context.payout_minimum or "*=1000")


StatusArg = Annotated[
    PayoutStatus | None, strawberry.argument(description="Only payouts in this status.")
]


@strawberry.type
class LedgerQueries:
    @strawberry.field(
        description="Commission rules, newest first. Needs marketplace:admin.",
        permission_classes=[requires(ADMIN)],
    )
    async def commission_rules(
        self,
        info: Info,
        scope: Annotated[
            CommissionRuleScope | None, strawberry.argument(description="Only this scope.")
        ] = None,
        vendor_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this vendor's rules.")
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[CommissionRuleType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await rule_service.list_rules(
                session, info.context.actor, page=request, scope=scope, vendor_id=vendor_id
            )
        return Connection.of(result, [CommissionRuleType.from_row(r) for r in result.items])

    @strawberry.field(
        description="Commissions, newest first: marketplace:admin's of every vendor, a "
        "vendor's user its own."
    )
    async def commissions(
        self,
        info: Info,
        vendor_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this vendor's.")
        ] = None,
        status: Annotated[
            CommissionStatus | None, strawberry.argument(description="Only in this status.")
        ] = None,
        sub_order_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this sub-order's.")
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[CommissionType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await ledger_service.list_commissions(
                session, info.context.actor, page=request, vendor_id=vendor_id, status=status,
                sub_order_id=sub_order_id,
            )  # fmt: skip
        return Connection.of(result, [CommissionType.from_row(r) for r in result.items])

    @strawberry.field(
        description="A vendor's balance: marketplace:admin any vendor's, a vendor's user its "
        "own (any other is NOT_FOUND)."
    )
    async def vendor_balance(
        self,
        info: Info,
        vendor_id: Annotated[strawberry.ID, strawberry.argument(description="The vendor.")],
    ) -> VendorBalanceType:
        return await _balance(info, vendor_id)

    @strawberry.field(description="The signed-in vendor user's own balance.")
    async def my_balance(self, info: Info) -> VendorBalanceType:
        return await _balance(info, None)

    @strawberry.field(
        description="A vendor's balance entries, newest first: marketplace:admin any "
        "vendor's, a vendor's user its own (any other is NOT_FOUND)."
    )
    async def vendor_balance_entries(
        self,
        info: Info,
        vendor_id: Annotated[strawberry.ID, strawberry.argument(description="The vendor.")],
        kind: Annotated[
            BalanceEntryKind | None, strawberry.argument(description="Only this kind.")
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[BalanceEntryType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        return await _entries(info, vendor_id, kind, request)

    @strawberry.field(description="The signed-in vendor user's own balance entries.")
    async def my_balance_entries(
        self,
        info: Info,
        kind: Annotated[
            BalanceEntryKind | None, strawberry.argument(description="Only this kind.")
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[BalanceEntryType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        return await _entries(info, None, kind, request)

    @strawberry.field(
        description="Payouts, newest first. Needs marketplace:admin.",
        permission_classes=[requires(ADMIN)],
    )
    async def payouts(
        self,
        info: Info,
        vendor_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this vendor's.")
        ] = None,
        status: StatusArg = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[PayoutType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await payout_service.list_payouts(
                session, info.context.actor, page=request, vendor_id=vendor_id, status=status
            )
        return Connection.of(result, [PayoutType.from_row(r) for r in result.items])

    @strawberry.field(
        description="A payout: marketplace:admin any, a vendor's user its own (any other is "
        "NOT_FOUND)."
    )
    async def payout(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The payout's id.")],
    ) -> PayoutType:
        async with info.context.read() as session:
            row = await payout_service.get_payout(session, info.context.actor, id)
        return PayoutType.from_row(row)

    @strawberry.field(description="The signed-in vendor user's own payouts, newest first.")
    async def my_payouts(
        self,
        info: Info,
        status: StatusArg = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[PayoutType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await payout_service.list_payouts(
                session, info.context.actor, page=request, mine=True, status=status
            )
        return Connection.of(result, [PayoutType.from_row(r) for r in result.items])


async def _balance(info: Info, vendor_id: str | None) -> VendorBalanceType:
    async with info.context.read() as session:
        owner = await ledger_service.reachable_vendor(session, info.context.actor, vendor_id)
        found = await ledger_service.balances_by_vendor(session, [owner])
    return VendorBalanceType(vendor_id=strawberry.ID(str(owner)), balances=_money(found[owner]))


async def _entries(
    info: Info, vendor_id: str | None, kind: str | None, request: Any
) -> Connection[BalanceEntryType]:
    async with info.context.read() as session:
        result = await ledger_service.list_entries(
            session, info.context.actor, vendor_id=vendor_id, page=request, kind=kind
        )
    return Connection.of(result, [BalanceEntryType.from_row(r) for r in result.items])


@strawberry.type
class LedgerMutations:
    @strawberry.mutation(
        description="Make a commission rule. Needs marketplace:admin.",
        permission_classes=[requires(ADMIN)],
    )
    async def create_commission_rule(
        self,
        info: Info,
        input: Annotated[CreateCommissionRuleInput, strawberry.argument(description="The rule.")],
    ) -> CommissionRuleType:
        async with info.context.command() as uow:
            row = await rule_service.create_rule(uow, info.context.actor, input=_rule_input(input))
        return CommissionRuleType.from_row(row)

    @strawberry.mutation(
        description="Change a commission rule (commissions already taken stay). Needs "
        "marketplace:admin.",
        permission_classes=[requires(ADMIN)],
    )
    async def update_commission_rule(
        self,
        info: Info,
        input: Annotated[UpdateCommissionRuleInput, strawberry.argument(description="Changes.")],
    ) -> CommissionRuleType:
        async with info.context.command() as uow:
            row = await rule_service.update_rule(
                uow, info.context.actor, id=input.id, input=_rule_input(input)
            )
        return CommissionRuleType.from_row(row)

    @strawberry.mutation(
        description="Delete a commission rule (commissions it decided stay). Needs "
        "marketplace:admin.",
        permission_classes=[requires(ADMIN)],
    )
    async def delete_commission_rule(
        self,
        info: Info,
        input: Annotated[CommissionRuleIdInput, strawberry.argument(description="The rule.")],
    ) -> CommissionRuleType:
        async with info.context.command() as uow:
            row = await rule_service.delete_rule(uow, info.context.actor, id=input.id)
        return CommissionRuleType.from_row(row)

    @strawberry.mutation(
        description="Correct a vendor's balance with an adjustment entry. Needs marketplace:admin.",
        permission_classes=[requires(ADMIN)],
    )
    async def adjust_vendor_balance(
        self,
        info: Info,
        input: Annotated[AdjustVendorBalanceInput, strawberry.argument(description="What.")],
    ) -> BalanceEntryType:
        async with info.context.command() as uow:
            row = await ledger_service.adjust_balance(
                uow, info.context.actor, vendor_id=input.vendor_id, amount=input.amount,
                currency=input.currency, reason=input.reason,
            )  # fmt: skip
        return BalanceEntryType.from_row(row)

    @strawberry.mutation(
        description="Debit a vendor for money given back out of its delivered sub-order (the "
        "commission on it is given back). Records the ledger side only: the shopper's refund "
        "itself goes through refundOrder. Needs marketplace:admin.",
        permission_classes=[requires(ADMIN)],
    )
    async def refund_sub_order(
        self,
        info: Info,
        input: Annotated[RefundSubOrderInput, strawberry.argument(description="The refund.")],
    ) -> list[BalanceEntryType]:
        async with info.context.command() as uow:
            rows = await ledger_service.record_refund(
                uow, info.context.actor, sub_order_id=input.id, amount=input.amount,
                reason=input.reason, key=input.key,
            )  # fmt: skip
        return [BalanceEntryType.from_row(row) for row in rows]

    @strawberry.mutation(
        description="Pay every active vendor whose balance in a currency reaches the minimum "
        "(CARTOGRAPH_PAYOUT_MINIMUM), each exactly once; answers the payouts made (or "
        "resumed), as they ended. Needs marketplace:admin.",
        permission_classes=[requires(ADMIN)],
    )
    async def run_payouts(self, info: Info) -> list[PayoutType]:
        rows = await payout_service.run_payouts(
            info.context.database, info.context.actor, minimums=_minimums(info),
            request_id=info.context.request_id,
        )  # fmt: skip
        return [PayoutType.from_row(row) for row in rows]

    @strawberry.mutation(
        description="Pay one active vendor now: an amount or its whole balance, no minimum. "
        "Needs marketplace:admin.",
        permission_classes=[requires(ADMIN)],
    )
    async def schedule_payout(
        self,
        info: Info,
        input: Annotated[SchedulePayoutInput, strawberry.argument(description="The payout.")],
    ) -> PayoutType:
        row = await payout_service.schedule_payout(
            info.context.database, info.context.actor, vendor_id=input.vendor_id,
            currency=input.currency, amount=input.amount, request_id=info.context.request_id,
        )  # fmt: skip
        return PayoutType.from_row(row)

    @strawberry.mutation(
        description="Send a failed payout again (exactly once). Needs marketplace:admin.",
        permission_classes=[requires(ADMIN)],
    )
    async def retry_payout(
        self,
        info: Info,
        input: Annotated[PayoutIdInput, strawberry.argument(description="The payout.")],
    ) -> PayoutType:
        row = await payout_service.retry_payout(
            info.context.database, info.context.actor, id=input.id,
            request_id=info.context.request_id,
        )  # fmt: skip
        return PayoutType.from_row(row)
