"""The gateway dialect's commissions (seed 000): the list of commissions taken on delivered
vendor sales, and scheduling a payout, on the marketplace's one ledger. Money in decimal major
units.

GET /commissions: marketplace:admin sees every vendor's, a vendor's signed-in user its own.
POST /commissions schedules a payout of one active vendor now (`vendorId`, `currency`, and
`amount`, default its whole balance, no minimum), through the same payout service as
`POST /api/marketplace/payouts/run`: exactly once, the provider called with no transaction
open.
"""

from typing import Any

from app.errors import ValidationFailed
from app.money import currency_problem, to_decimal
from app.rest.dialects import GATEWAY
from app.rest.gateway.money import is_number, minor_units
from app.rest.jsonschema import all_required
from app.rest.jsonschema import json_type as _t
from app.rest.table import Param, RestRoute, mutation

COMMISSION = """id vendorId subOrderId orderLineId ruleId status createdAt
  basis { amount currency } amount { amount currency }"""
PAYOUT = """id vendorId status attempt provider providerReference failureMessage createdAt
  paidAt failedAt amount { amount currency }"""


def commission(data: dict[str, Any]) -> dict[str, Any]:
    currency = data["amount"]["currency"]
    return {
        "id": data["id"],
        "vendorId": data["vendorId"],
        "subOrderId": data["subOrderId"],
        "orderLineId": data["orderLineId"],
        "ruleId": data["ruleId"],
        "basis": to_decimal(data["basis"]["amount"], currency),
        "amount": to_decimal(data["amount"]["amount"], currency),
        "currency": currency,
        "status": data["status"],
        "createdAt": data["createdAt"],
    }


def payout(data: dict[str, Any]) -> dict[str, Any]:
    currency = data["amount"]["currency"]
    return {**data, "amount": to_decimal(data["amount"]["amount"], currency), "currency": currency}


def payout_body(body: dict[str, Any]) -> dict[str, Any]:
    """The decimal amount (49.99) in minor units (4999), exactly, or VALIDATION_FAILED naming
    `amount` (never rounded); anything else passes through for the input's own checks."""
    amount, currency = body.get("amount"), body.get("currency")
    if not isinstance(currency, str) or amount is None:
        return body
    if (problem := currency_problem(currency)) is not None:
        raise ValidationFailed.field("currency", problem)
    if not is_number(amount):
        return body
    return {**body, "amount": minor_units("amount", amount, currency)}


COMMISSION_SCHEMA = all_required({"title": "GatewayCommission", "type": "object", "properties": {
    "id": _t("string"), "vendorId": _t("string"), "subOrderId": _t("string"),
    "orderLineId": _t("string"), "ruleId": _t("string", True), "basis": _t("number"),
    "amount": _t("number"), "currency": _t("string"), "status": _t("string"),
    "createdAt": _t("string", format="date-time"),
}})  # fmt: skip
PAYOUT_SCHEMA = all_required({"title": "GatewayPayout", "type": "object", "properties": {
    "id": _t("string"), "vendorId": _t("string"), "status": _t("string"),
    "attempt": _t("integer"), "provider": _t("string"),
    "providerReference": _t("string", True), "failureMessage": _t("string", True),
    "amount": _t("number"), "currency": _t("string"),
    "createdAt": _t("string", format="date-time"),
    "paidAt": _t("string", True, format="date-time"),
    "failedAt": _t("string", True, format="date-time"),
}})  # fmt: skip
PAYOUT_BODY = {"title": "GatewayPayoutBody", "type": "object",
    "required": ["vendorId", "currency"],
    "properties": {
        "vendorId": _t("string"),
        "currency": _t("string", pattern="^[A-Z]{3}$"),
        "amount": _t("number", description="Decimal major units, e.g. 125.50. Default: the "
                     "vendor's whole balance in the currency."),
    }}  # fmt: skip

ROUTES = [
    RestRoute(
        "GET",
        "/api/v1/commissions",
        f"""query C($vendorId: ID, $status: CommissionStatus, $page: Int, $limit: Int,
                    $offset: Int) {{
          commissions(vendorId: $vendorId, status: $status, page: $page, limit: $limit,
                      offset: $offset) {{
            items {{ {COMMISSION} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "commissions",
        GATEWAY,
        summary="List commissions",
        tag="commissions",
        paginated=True,
        query=(
            Param("vendor_id", "vendorId", description="Filter by vendor"),
            Param("status", description="accrued or reversed"),
        ),
        shape=commission,
        shaped_schema=COMMISSION_SCHEMA,
        description="The commission taken on each delivered vendor sub-order line, newest "
        "first: marketplace:admin sees every vendor's, a vendor's signed-in user its own.",
    ),
    RestRoute(
        "POST",
        "/api/v1/commissions",
        mutation("schedulePayout", "SchedulePayoutInput", PAYOUT),
        "schedulePayout",
        GATEWAY,
        summary="Schedule payout",
        tag="commissions",
        body="input",
        status=201,
        prepare=payout_body,
        body_schema=PAYOUT_BODY,
        shape=payout,
        shaped_schema=PAYOUT_SCHEMA,
        permission="marketplace:admin",
        description="Pays one active vendor now, through the payout provider (exactly once): "
        "`amount` or its whole balance in `currency`, no minimum. A refused transfer answers "
        "the payout as failed (its debit reversed; retry it). Emits payouts.create, then "
        "payouts.paid or payouts.failed.",
        extra_responses={
            409: "The vendor is not active, a payout is in flight, or its "
            "balance does not cover the amount"
        },
    ),
]
