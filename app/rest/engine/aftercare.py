"""The engine dialect's marketplace aftercare routes (seed 003's plugin, `/api/marketplace`):
disputes, returns, reviews and vendor performance. Money in minor units.
"""

from typing import Any

from app.rest.dialects import ENGINE
from app.rest.jsonschema import all_required
from app.rest.jsonschema import json_type as _t
from app.rest.table import Param, RestRoute, mutation

BASE = "/api/marketplace"
TAG = "marketplace"
ADMIN = "marketplace:admin"
REVIEW = "id vendorId subOrderId rating title body createdAt updatedAt"
DISPUTE = """id subOrderId vendorId status reason message response escalatedBy
  escalationMessage outcome refundAmount { amount } resolutionNote createdAt updatedAt
  respondedAt escalatedAt resolvedAt"""
RETURN = """id subOrderId vendorId status reason amount { amount currency } trackingNumber
  carrier createdAt updatedAt shippedBackAt receivedAt
  lines { id lineId quantity amount { amount } }"""
PERFORMANCE = """vendorId ratingAverage ratingCount subOrderCount deliveredCount shippedCount
  shippedOnTimeCount cancelledCount cancelledByVendorCount disputedCount shipWithinHours
  fulfilmentRate onTimeShippingRate cancellationRate disputeRate"""
CUSTOMER = (
    "Needs a signed-in customer (the session cookie): 401 without one, 403 for anyone who is "
    "not a customer; a sub-order of another customer's order is 404."
)
DISPUTE_MACHINE = (
    "open -> responded (the vendor) -> escalated (the customer or the vendor; also from open) "
    "-> resolved (marketplace:admin, from any unresolved state). Any other move is 409 naming "
    "the allowed next states."
)
RETURN_MACHINE = (
    "requested -> shipped_back (the customer) -> received (the vendor's user while active, or "
    "marketplace:admin: restocked and refunded). Any other move is 409."
)
CONFLICT = {409: "Transition not allowed"}
STAMP = _t("string", True, format="date-time")
REVIEW_SCHEMA = all_required({"title": "Review", "type": "object", "properties": {
    "id": _t("string"), "vendorId": _t("string"), "subOrderId": _t("string"),
    "rating": _t("integer"), "title": _t("string", True), "body": _t("string", True),
    "createdAt": _t("string", format="date-time"), "updatedAt": _t("string", format="date-time"),
}})  # fmt: skip
DISPUTE_SCHEMA = all_required({"title": "Dispute", "type": "object", "properties": {
    "id": _t("string"), "subOrderId": _t("string"), "vendorId": _t("string"),
    "status": _t("string"), "reason": _t("string"), "message": _t("string"),
    "response": _t("string", True), "escalatedBy": _t("string", True),
    "escalationMessage": _t("string", True), "outcome": _t("string", True),
    "refundAmount": _t("integer", True), "resolutionNote": _t("string", True),
    "createdAt": _t("string", format="date-time"), "updatedAt": _t("string", format="date-time"),
    "respondedAt": STAMP, "escalatedAt": STAMP, "resolvedAt": STAMP,
}})  # fmt: skip
RETURN_LINE_SCHEMA = all_required({"title": "ReturnLine", "type": "object", "properties": {
    "id": _t("string"), "lineId": _t("string"), "quantity": _t("integer"),
    "amount": _t("integer"),
}})  # fmt: skip
RETURN_SCHEMA = all_required({"title": "Return", "type": "object", "properties": {
    "id": _t("string"), "subOrderId": _t("string"), "vendorId": _t("string"),
    "status": _t("string"), "reason": _t("string"), "amount": _t("integer"),
    "currency": _t("string"), "trackingNumber": _t("string", True),
    "carrier": _t("string", True),
    "createdAt": _t("string", format="date-time"), "updatedAt": _t("string", format="date-time"),
    "shippedBackAt": STAMP, "receivedAt": STAMP,
    "lines": {"type": "array", "items": RETURN_LINE_SCHEMA},
}})  # fmt: skip


def dispute(data: dict[str, Any]) -> dict[str, Any]:
    refund = data["refundAmount"]
    return {**data, "refundAmount": refund["amount"] if refund else None}


def return_(data: dict[str, Any]) -> dict[str, Any]:
    return {
        **data,
        "amount": data["amount"]["amount"],
        "currency": data["amount"]["currency"],
        "lines": [{**line, "amount": line["amount"]["amount"]} for line in data["lines"]],
    }


def _dispute_move(action: str, field: str, input_type: str, summary: str, **kw: Any) -> RestRoute:
    return RestRoute(
        "POST",
        f"{BASE}/disputes/{{id}}/{action}",
        mutation(field, input_type, DISPUTE),
        field,
        ENGINE,
        summary=summary,
        tag=TAG,
        body="input",
        path_params=(Param("id", "input.id", description="The dispute's id"),),
        shape=dispute,
        shaped_schema=DISPUTE_SCHEMA,
        extra_responses=CONFLICT,
        **kw,
    )


def _return_move(action: str, field: str, input_type: str, summary: str, **kw: Any) -> RestRoute:
    return RestRoute(
        "POST",
        f"{BASE}/returns/{{id}}/{action}",
        mutation(field, input_type, RETURN),
        field,
        ENGINE,
        summary=summary,
        tag=TAG,
        body="input",
        path_params=(Param("id", "input.id", description="The return's id"),),
        shape=return_,
        shaped_schema=RETURN_SCHEMA,
        extra_responses=CONFLICT,
        **kw,
    )


PAGED_REVIEWS = f"""items {{ {REVIEW} }} totalCount pageInfo {{ page limit }}"""
RATING = Param("rating", type="integer", description="Only reviews of this rating (1-5)")

ROUTES = [
    RestRoute(
        "POST",
        f"{BASE}/disputes",
        mutation("openDispute", "OpenDisputeInput", DISPUTE),
        "openDispute",
        ENGINE,
        summary="Open a dispute on your delivered sub-order",
        tag=TAG,
        body="input",
        status=201,
        shape=dispute,
        shaped_schema=DISPUTE_SCHEMA,
        session=True,
        description=f"`reason`: not_received, not_as_described, damaged or other; `message`. "
        f"409 when the sub-order is not delivered or has an unresolved dispute. {CUSTOMER} "
        "Emits disputes.create.",
        extra_responses={409: "Not delivered, or a dispute is open already"},
    ),
    RestRoute(
        "GET",
        f"{BASE}/disputes",
        f"""query D($status: DisputeStatus, $vendorId: ID, $page: Int, $limit: Int) {{
          disputes(status: $status, vendorId: $vendorId, page: $page, limit: $limit) {{
            items {{ {DISPUTE} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "disputes",
        ENGINE,
        summary="List disputes (newest first)",
        tag=TAG,
        paginated=True,
        query=(
            Param("status", description="open, responded, escalated or resolved"),
            Param("vendorId", description="Only this vendor's"),
        ),
        shape=dispute,
        shaped_schema=DISPUTE_SCHEMA,
        description="marketplace:admin lists all; a vendor's user its vendor's; a signed-in "
        "customer their own. Anyone else 401/403.",
    ),
    _dispute_move(
        "respond",
        "respondToDispute",
        "RespondToDisputeInput",
        "Respond to a dispute (the vendor)",
        description=f"The vendor's user of the disputed sub-order, with a `message` (another "
        f"vendor's dispute is 404). {DISPUTE_MACHINE} Emits disputes.statusChange.",
    ),
    _dispute_move(
        "escalate",
        "escalateDispute",
        "EscalateDisputeInput",
        "Escalate a dispute",
        optional_body=True,
        description=f"The dispute's customer or vendor (others 404; marketplace:admin 403: it "
        f"resolves), with an optional `message`. {DISPUTE_MACHINE} Emits "
        "disputes.statusChange.",
    ),
    _dispute_move(
        "resolve",
        "resolveDispute",
        "ResolveDisputeInput",
        "Resolve a dispute",
        permission=ADMIN,
        description=f"`outcome`: refund_full (what is left to refund on the sub-order), "
        f"refund_partial (`amount`, minor units) or no_refund; `note`. A refund debits the "
        f"vendor's ledger and refunds the order's payment. {DISPUTE_MACHINE} Emits "
        "disputes.statusChange.",
    ),
    RestRoute(
        "POST",
        f"{BASE}/returns",
        mutation("createReturn", "CreateReturnInput", RETURN),
        "createReturn",
        ENGINE,
        summary="Return units of your delivered sub-order",
        tag=TAG,
        body="input",
        status=201,
        shape=return_,
        shaped_schema=RETURN_SCHEMA,
        session=True,
        description=f"`lines` ({{lineId, quantity}}: at most each line's quantity less earlier "
        f"returns) and a `reason`; `amount` is what the units cost, refunded on receipt. 409 "
        f"when the sub-order is not delivered. {CUSTOMER} Emits returns.create.",
        extra_responses={409: "Not delivered, or every unit is returned already"},
    ),
    _return_move(
        "ship-back",
        "shipBackReturn",
        "ShipBackReturnInput",
        "Ship a return back (the customer)",
        session=True,
        description=f"`trackingNumber` and `carrier`. The return's customer only (others "
        f"404). {RETURN_MACHINE} Emits returns.statusChange.",
    ),
    _return_move(
        "receive",
        "receiveReturn",
        "ReturnIdInput",
        "Receive a return: restock and refund",
        optional_body=True,
        description=f"The units go back in stock where they were sold from, and their price "
        f"is refunded through the vendor's ledger and the order's payment. {RETURN_MACHINE} "
        "Another vendor's return is 404. Emits returns.statusChange.",
    ),
    RestRoute(
        "POST",
        f"{BASE}/vendors/{{id}}/reviews",
        mutation("createReview", "CreateReviewInput", REVIEW),
        "createReview",
        ENGINE,
        summary="Review a vendor for your delivered sub-order",
        tag=TAG,
        body="input",
        status=201,
        path_params=(Param("id", "input.vendorId", description="The vendor's id"),),
        shaped_schema=REVIEW_SCHEMA,
        session=True,
        description=f"`subOrderId` (yours, of this vendor, delivered), `rating` 1-5, `title`, "
        f"`body`. Once per sub-order: a second is 409. {CUSTOMER} Emits reviews.create.",
        extra_responses={409: "Reviewed already, or not delivered"},
    ),
    RestRoute(
        "GET",
        f"{BASE}/vendors/{{id}}/reviews",
        f"""query R($id: ID!, $rating: Int, $page: Int, $limit: Int) {{
          vendorReviews(vendorId: $id, rating: $rating, page: $page, limit: $limit) {{
            {PAGED_REVIEWS}
          }}
        }}""",
        "vendorReviews",
        ENGINE,
        summary="A vendor's reviews (newest first)",
        tag=TAG,
        paginated=True,
        path_params=(Param("id", description="The vendor's id"),),
        query=(RATING,),
        shaped_schema=REVIEW_SCHEMA,
        description="Public for an active vendor; for a vendor in another status, "
        "marketplace:admin and the vendor's users only (404 to anyone else).",
    ),
    RestRoute(
        "PATCH",
        f"{BASE}/vendors/{{id}}/reviews/{{reviewId}}",
        mutation("updateReview", "UpdateReviewInput", REVIEW),
        "updateReview",
        ENGINE,
        summary="Edit your review",
        tag=TAG,
        body="input",
        path_params=(
            Param("id", "input.vendorId", description="The vendor's id"),
            Param("reviewId", "input.id", description="The review's id"),
        ),
        shaped_schema=REVIEW_SCHEMA,
        session=True,
        description="`rating`, `title`, `body`: what is left out stays. Its author only (a "
        "signed-in customer; anyone else's review is 404). Emits reviews.update.",
    ),
    RestRoute(
        "GET",
        f"{BASE}/vendor/me/reviews",
        f"""query R($rating: Int, $page: Int, $limit: Int) {{
          myReviews(rating: $rating, page: $page, limit: $limit) {{ {PAGED_REVIEWS} }}
        }}""",
        "myReviews",
        ENGINE,
        summary="Reviews received",
        tag=TAG,
        paginated=True,
        query=(RATING,),
        shaped_schema=REVIEW_SCHEMA,
        session=True,
        description="Needs a vendor's signed-in user (the session cookie): 401 without one, "
        "403 for anyone who is not a vendor's user.",
    ),
    RestRoute(
        "GET",
        f"{BASE}/vendors/{{id}}/performance",
        f"query P($id: ID!) {{ vendorPerformance(vendorId: $id) {{ {PERFORMANCE} }} }}",
        "vendorPerformance",
        ENGINE,
        summary="Performance metrics and rating",
        tag=TAG,
        path_params=(Param("id", description="The vendor's id"),),
        description="marketplace:admin reads any vendor's; a vendor's user its own (any other "
        "is 404). Computed when asked: rating average and count, fulfilment rate (delivered / "
        "(delivered + cancelled by the vendor)), on-time shipping (shipped within "
        "CARTOGRAPH_VENDOR_SHIP_WITHIN_HOURS of checkout), cancellation rate (cancelled by the "
        "vendor / all) and dispute rate (disputed / delivered); a rate is null with nothing to "
        "count.",
    ),
]
