"""The two REST dialects (and GraphQL's shape for errors raised before a resolver runs).

Each dialect maps a domain error code to its own status and word, and wraps data, lists and
errors in its own envelope (DESIGN §5). Money shaping lives with the route tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.errors import AppError, ServiceUnavailable
from app.models.base import utcnow
from app.pagination import PageRequest
from app.responses import JSONResponse


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    statuses: Mapping[str, tuple[int, str]]

    def status(self, error: AppError) -> tuple[int, str]:
        return self.statuses.get(error.code, (500, "INTERNAL_ERROR"))

    def _meta(self, request_id: str | None) -> dict[str, Any]:
        return {"timestamp": utcnow(), "requestId": request_id}

    def error_body(self, error: AppError, request_id: str | None) -> tuple[int, dict[str, Any]]:
        status, word = self.status(error)
        message = error.message if status != 500 else "Internal server error."
        if self.name == "graphql":
            extensions: dict[str, Any] = {"code": error.code}
            if error.details:
                extensions["details"] = error.details
            return status, {"errors": [{"message": message, "extensions": extensions}]}
        body: dict[str, Any] = {"code": word, "message": message}
        if self.name == "gateway":
            body["details"] = error.details or {}
            return status, {"success": False, "error": body, "meta": self._meta(request_id)}
        if error.details:
            body["details"] = error.details
        return status, {"error": body}

    def error_response(
        self, error: AppError, request_id: str | None, headers: Mapping[str, str] | None = None
    ) -> JSONResponse:
        status, body = self.error_body(error, request_id)
        headers = dict(headers or {})
        if isinstance(error, ServiceUnavailable):
            headers.setdefault("Retry-After", str(error.retry_after))
        return JSONResponse(body, status_code=status, headers=headers)

    def success(self, data: Any, request_id: str | None, meta: dict[str, Any] | None = None) -> Any:
        if self.name == "gateway":
            return {
                "success": True,
                "data": data,
                "meta": {**self._meta(request_id), **(meta or {})},
            }
        return {"data": data, "meta": meta} if meta else {"data": data}

    def page(
        self, items: list[Any], *, total: int, request: PageRequest, request_id: str | None
    ) -> tuple[Any, dict[str, str]]:
        """A list envelope and the headers that go with it."""
        pages = (total + request.limit - 1) // request.limit
        if self.name == "gateway":
            body = {
                "success": True,
                "data": items,
                "pagination": {
                    "page": request.page,
                    "limit": request.limit,
                    "total": total,
                    "pages": pages,
                },
                "meta": self._meta(request_id),
            }
            headers = {
                "X-Total-Count": str(total),
                "X-Limit": str(request.limit),
                "X-Offset": str(request.offset),
            }
            return body, headers
        pagination = {
            "page": request.page,
            "limit": request.limit,
            "total": total,
            "totalPages": pages,
        }
        return {"data": items, "meta": {"pagination": pagination}}, {}


_COMMON = {
    "NOT_FOUND": (404, "NOT_FOUND"),
    "UNAUTHORIZED": (401, "UNAUTHORIZED"),
    "FORBIDDEN": (403, "FORBIDDEN"),
    "CONFLICT": (409, "CONFLICT"),
    "PAYLOAD_TOO_LARGE": (413, "PAYLOAD_TOO_LARGE"),
    "INTERNAL_ERROR": (500, "INTERNAL_ERROR"),
    "SERVICE_UNAVAILABLE": (503, "SERVICE_UNAVAILABLE"),
}

ENGINE = Dialect(
    "engine",
    {
        **_COMMON,
        "VALIDATION_FAILED": (422, "VALIDATION_FAILED"),
        "CHECKOUT_FAILED": (422, "CHECKOUT_FAILED"),
        "PAYMENT_FAILED": (402, "PAYMENT_FAILED"),
        "RATE_LIMITED": (429, "TOO_MANY_REQUESTS"),
    },
)

GATEWAY = Dialect(
    "gateway",
    {
        **_COMMON,
        "VALIDATION_FAILED": (400, "VALIDATION_ERROR"),
        # The gateway documents no checkout; an order it cannot place conflicts with stock.
        "CHECKOUT_FAILED": (409, "CONFLICT"),
        "PAYMENT_FAILED": (402, "PAYMENT_REQUIRED"),
        "RATE_LIMITED": (429, "RATE_LIMITED"),
    },
)

GRAPHQL = Dialect(
    "graphql",
    {
        **_COMMON,
        "VALIDATION_FAILED": (400, "VALIDATION_FAILED"),
        "RATE_LIMITED": (429, "RATE_LIMITED"),
    },
)


def dialect_for_path(path: str) -> Dialect:
    if path == "/api/v1" or path.startswith("/api/v1/"):
        return GATEWAY
    if path == "/graphql" or path.startswith("/graphql/"):
        return GRAPHQL
    return ENGINE
