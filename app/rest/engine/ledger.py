"""The engine dialect's marketplace money routes (seed 003's plugin, `/api/marketplace`):
commission rules, payouts, and vendors' balances. Money in minor units.
"""

from typing import Any

from app.rest.dialects import ENGINE
from app.rest.jsonschema import all_required
from app.rest.jsonschema import json_type as _t
from app.rest.table import Param, RestRoute, mutation

BASE = "/api/marketplace"
TAG = "marketplace"
ADMIN = "marketplace:admin"
RULE = """id name kind rateBps amount { amount currency } scope categoryId vendorId priority
  validFrom validUntil createdAt updatedAt"""
PAYOUT = """id vendorId amount { amount currency } status attempt provider providerReference
  failureMessage createdAt updatedAt paidAt failedAt"""
ENTRY = (
    "id vendorId kind amount { amount currency } subOrderId commissionId payoutId reason createdAt"
)
BALANCE = f"""vendorId balances {{ amount currency }}
  entries(kind: $kind, page: $page, limit: $limit) {{
    items {{ {ENTRY} }} totalCount
  }}"""
SELF = (
    "Needs a vendor's signed-in user (the session cookie): 401 without one, 403 for anyone "
    "who is not a vendor's user."
)
MONEY = all_required({"title": "MinorMoney", "type": "object", "properties": {
    "amount": _t("integer"), "currency": _t("string"),
}})  # fmt: skip
RULE_SCHEMA = all_required({"title": "CommissionRule", "type": "object", "properties": {
    "id": _t("string"), "name": _t("string"), "kind": _t("string"),
    "rateBps": _t("integer", True), "amount": _t("integer", True),
    "currency": _t("string", True), "scope": _t("string"), "categoryId": _t("string", True),
    "vendorId": _t("string", True), "priority": _t("integer"),
    "validFrom": _t("string", True, format="date-time"),
    "validUntil": _t("string", True, format="date-time"),
    "createdAt": _t("string", format="date-time"), "updatedAt": _t("string", format="date-time"),
}})  # fmt: skip
PAYOUT_SCHEMA = all_required({"title": "Payout", "type": "object", "properties": {
    "id": _t("string"), "vendorId": _t("string"), "amount": _t("integer"),
    "currency": _t("string"), "status": _t("string"), "attempt": _t("integer"),
    "provider": _t("string"), "providerReference": _t("string", True),
    "failureMessage": _t("string", True),
    **{name: _t("string", format="date-time") for name in ("createdAt", "updatedAt")},
    **{name: _t("string", True, format="date-time") for name in ("paidAt", "failedAt")},
}})  # fmt: skip
ENTRY_SCHEMA = all_required({"title": "BalanceEntry", "type": "object", "properties": {
    "id": _t("string"), "vendorId": _t("string"), "kind": _t("string"),
    "amount": _t("integer"), "currency": _t("string"), "subOrderId": _t("string", True),
    "commissionId": _t("string", True), "payoutId": _t("string", True),
    "reason": _t("string", True), "createdAt": _t("string", format="date-time"),
}})  # fmt: skip
BALANCE_SCHEMA = all_required({"title": "VendorBalance", "type": "object", "properties": {
    "vendorId": _t("string"),
    "balances": {"type": "array", "items": MONEY},
    "entries": {"type": "array", "items": ENTRY_SCHEMA},
    "entriesTotal": _t("integer"),
}})  # fmt: skip


def _flat(data: dict[str, Any]) -> dict[str, Any]:
    """`amount { amount currency }` as `amount` (minor units) and `currency`."""
    money = data.get("amount")
    if not isinstance(money, dict):
        return {**data, "amount": None, "currency": data.get("currency")}
    return {**data, "amount": money["amount"], "currency": money["currency"]}


def rule(data: dict[str, Any]) -> dict[str, Any]:
    money = data["amount"]
    return {**data, "amount": money["amount"] if money else None,
            "currency": money["currency"] if money else None}  # fmt: skip


def balance(data: dict[str, Any]) -> dict[str, Any]:
    entries = data["entries"]
    return {
        "vendorId": data["vendorId"],
        "balances": data["balances"],
        "entries": [_flat(item) for item in entries["items"]],
        "entriesTotal": entries["totalCount"],
    }


BALANCE_QUERY = (
    Param("kind", description="Entries of this kind only: sale_credit, commission_debit, "
          "refund_debit, payout_debit, adjustment"),
    Param("page", type="integer", description="The entries' page (default 1).", minimum=1),
    Param("limit", type="integer", description="Entries per page (default 20, max 100).",
          minimum=1),
)  # fmt: skip
BALANCE_DESCRIPTION = (
    "The balance per currency is the sum of the vendor's entries (never a stored number); "
    "`entries` is one page of them, newest first."
)

ROUTES = [
    RestRoute(
        "GET",
        f"{BASE}/commission-rules",
        f"""query R($scope: CommissionRuleScope, $vendorId: ID, $page: Int, $limit: Int) {{
          commissionRules(scope: $scope, vendorId: $vendorId, page: $page, limit: $limit) {{
            items {{ {RULE} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "commissionRules",
        ENGINE,
        summary="List commission rules (newest first)",
        tag=TAG,
        paginated=True,
        query=(
            Param("scope", description="global, category or vendor"),
            Param("vendorId", description="Only this vendor's rules"),
        ),
        shape=rule,
        shaped_schema=RULE_SCHEMA,
        permission=ADMIN,
    ),
    RestRoute(
        "POST",
        f"{BASE}/commission-rules",
        mutation("createCommissionRule", "CreateCommissionRuleInput", RULE),
        "createCommissionRule",
        ENGINE,
        summary="Create a commission rule",
        tag=TAG,
        body="input",
        status=201,
        shape=rule,
        shaped_schema=RULE_SCHEMA,
        permission=ADMIN,
        description="kind percentage (rateBps) or flat (amount per unit, currency); scope "
        "global, category (categoryId) or vendor (vendorId); priority; validFrom/validUntil. "
        "The highest priority rule that applies decides a line's commission, then the most "
        "specific scope (vendor, category, global), then the newest. Emits "
        "commissionRules.create.",
    ),
    RestRoute(
        "PATCH",
        f"{BASE}/commission-rules/{{id}}",
        mutation("updateCommissionRule", "UpdateCommissionRuleInput", RULE),
        "updateCommissionRule",
        ENGINE,
        summary="Update a commission rule",
        tag=TAG,
        body="input",
        path_params=(Param("id", "input.id", description="The rule's id"),),
        shape=rule,
        shaped_schema=RULE_SCHEMA,
        permission=ADMIN,
        description="Commissions already taken keep what they were. Emits commissionRules.update.",
    ),
    RestRoute(
        "DELETE",
        f"{BASE}/commission-rules/{{id}}",
        """mutation D($id: ID!) { deleteCommissionRule(input: {id: $id}) { """ + RULE + " } }",
        "deleteCommissionRule",
        ENGINE,
        summary="Delete a commission rule (answered as it was)",
        tag=TAG,
        path_params=(Param("id", description="The rule's id"),),
        shape=rule,
        shaped_schema=RULE_SCHEMA,
        permission=ADMIN,
        description="Commissions it decided keep its id and amounts. Emits commissionRules.delete.",
    ),
    RestRoute(
        "GET",
        f"{BASE}/payouts",
        f"""query P($vendorId: ID, $status: PayoutStatus, $page: Int, $limit: Int) {{
          payouts(vendorId: $vendorId, status: $status, page: $page, limit: $limit) {{
            items {{ {PAYOUT} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "payouts",
        ENGINE,
        summary="List payouts (newest first)",
        tag=TAG,
        paginated=True,
        query=(
            Param("vendorId", description="Only this vendor's"),
            Param("status", description="pending, paid or failed"),
        ),
        shape=_flat,
        shaped_schema=PAYOUT_SCHEMA,
        permission=ADMIN,
    ),
    RestRoute(
        "POST",
        f"{BASE}/payouts/run",
        f"mutation R {{ runPayouts {{ {PAYOUT} }} }}",
        "runPayouts",
        ENGINE,
        summary="Pay every vendor above the minimum",
        tag=TAG,
        shape=_flat,
        shaped_schema={"type": "array", "items": PAYOUT_SCHEMA},
        permission=ADMIN,
        description="Pays every active vendor whose balance in a currency reaches "
        "CARTOGRAPH_PAYOUT_MINIMUM its whole balance, through the payout provider, each "
        "exactly once however often or concurrently the run is called; answers the payouts "
        "made (or resumed), as they ended (paid, or failed with the debit reversed). Emits "
        "payouts.create, then payouts.paid or payouts.failed.",
    ),
    RestRoute(
        "POST",
        f"{BASE}/payouts/{{id}}/retry",
        f"mutation R($id: ID!) {{ retryPayout(input: {{id: $id}}) {{ {PAYOUT} }} }}",
        "retryPayout",
        ENGINE,
        summary="Retry a failed payout",
        tag=TAG,
        path_params=(Param("id", description="The payout's id"),),
        shape=_flat,
        shaped_schema=PAYOUT_SCHEMA,
        permission=ADMIN,
        description="Debits the vendor again and sends it under a new attempt's key. 409 "
        "unless it is failed, its vendor active and its balance covers it (two retries send "
        "it once). Emits payouts.retry, then payouts.paid or payouts.failed.",
        extra_responses={409: "Not failed, vendor not active, or the balance does not cover it"},
    ),
    RestRoute(
        "GET",
        f"{BASE}/vendor/me/payouts",
        f"""query P($status: PayoutStatus, $page: Int, $limit: Int) {{
          myPayouts(status: $status, page: $page, limit: $limit) {{
            items {{ {PAYOUT} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "myPayouts",
        ENGINE,
        summary="Payout history",
        tag=TAG,
        paginated=True,
        query=(Param("status", description="pending, paid or failed"),),
        shape=_flat,
        shaped_schema=PAYOUT_SCHEMA,
        session=True,
        description=SELF,
    ),
    RestRoute(
        "GET",
        f"{BASE}/vendors/{{id}}/balance",
        f"""query B($id: ID!, $kind: BalanceEntryKind, $page: Int, $limit: Int) {{
          vendorBalance(vendorId: $id) {{ {BALANCE} }}
        }}""",
        "vendorBalance",
        ENGINE,
        summary="Balance ledger",
        tag=TAG,
        path_params=(Param("id", description="The vendor's id"),),
        query=BALANCE_QUERY,
        shape=balance,
        shaped_schema=BALANCE_SCHEMA,
        description=f"marketplace:admin reads any vendor's; a vendor's user its own (any "
        f"other is 404). {BALANCE_DESCRIPTION}",
    ),
    RestRoute(
        "GET",
        f"{BASE}/vendor/me/balance",
        f"""query B($kind: BalanceEntryKind, $page: Int, $limit: Int) {{
          myBalance {{ {BALANCE} }}
        }}""",
        "myBalance",
        ENGINE,
        summary="Own balance ledger",
        tag=TAG,
        query=BALANCE_QUERY,
        shape=balance,
        shaped_schema=BALANCE_SCHEMA,
        session=True,
        description=f"{SELF} {BALANCE_DESCRIPTION}",
    ),
]
