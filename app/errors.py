"""The domain errors: each has one stable code that every face renders in its own way.

Services raise these; GraphQL puts `code` and `details` in `errors[].extensions`; each REST
dialect maps the code to its status and word (`app.rest.dialects`).
"""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    """A failure the caller can act on. Anything else is answered as INTERNAL_ERROR."""

    code: ClassVar[str] = "INTERNAL_ERROR"
    default_message: ClassVar[str] = "Internal server error."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)


class NotFound(AppError):
    code = "NOT_FOUND"
    default_message = "Resource not found."


class ValidationFailed(AppError):
    """Bad input. `details` maps a field path (`input.name`) to what is wrong with it."""

    code = "VALIDATION_FAILED"
    default_message = "Input validation failed."

    @classmethod
    def field(cls, field: str, message: str) -> ValidationFailed:
        return cls(f"{field}: {message}", details={field: message})


class Unauthorized(AppError):
    code = "UNAUTHORIZED"
    default_message = "Missing or invalid credentials."


class Forbidden(AppError):
    code = "FORBIDDEN"
    default_message = "Insufficient permissions for this action."


class Conflict(AppError):
    code = "CONFLICT"
    default_message = "The request conflicts with the current state."


class CheckoutFailed(AppError):
    code = "CHECKOUT_FAILED"
    default_message = "Checkout failed."


class PaymentFailed(AppError):
    code = "PAYMENT_FAILED"
    default_message = "Payment failed."


class RateLimited(AppError):
    code = "RATE_LIMITED"
    default_message = "Too many requests."


class PayloadTooLarge(AppError):
    code = "PAYLOAD_TOO_LARGE"
    default_message = "Request body is too large."


class ServiceUnavailable(AppError):
    """No one's mistake, and it may pass: the database is down or restarting, a connection
    broke, a statement ran past the timeout, SQLite's write lock stayed busy. Answered 503 with
    `Retry-After` (`app.db.unavailable` decides which faults are these)."""

    code = "SERVICE_UNAVAILABLE"
    default_message = "The database is unavailable; retry shortly."
    retry_after: ClassVar[int] = 5


class InternalError(AppError):
    code = "INTERNAL_ERROR"


ERRORS_BY_CODE: dict[str, type[AppError]] = {
    cls.code: cls
    for cls in (
        NotFound,
        ValidationFailed,
        Unauthorized,
        Forbidden,
        Conflict,
        CheckoutFailed,
        PaymentFailed,
        RateLimited,
        PayloadTooLarge,
        ServiceUnavailable,
        InternalError,
    )
}
