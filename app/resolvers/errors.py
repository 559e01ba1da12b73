"""Every GraphQL error leaves with `extensions.code` (and `details` where there are some).

Domain errors keep their message and code; graphql-core's own (syntax, validation, variable
coercion, a scalar refusing a literal) and Strawberry's request errors (an operation type the
transport does not run, an unknown operation name, no query) are VALIDATION_FAILED; the
database faults `app.db.unavailable` recognises are SERVICE_UNAVAILABLE (the HTTP faces answer
503); anything else is logged with the request id and answered as INTERNAL_ERROR without
internals.
"""

from __future__ import annotations

import logging
import re

import psycopg
from graphql.error import GraphQLError
from sqlalchemy.exc import DataError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import MaskErrors
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from app.db import unavailable
from app.errors import AppError, InternalError

log = logging.getLogger("app.graphql")

# Raised before execution for a request that cannot run as asked: by Strawberry, or by
# graphql-core inside a variable's coercion error ("Variable '$n' got invalid value...").
REQUEST_ERRORS = (
    InvalidOperationTypeError,
    CannotGetOperationTypeError,
    MissingQueryError,
    GraphQLError,
)


def _copy(error: GraphQLError, message: str, extensions: dict[str, object]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=extensions,
    )


def _refused_literal(error: GraphQLError) -> bool:
    """A scalar's ValueError for a literal in the document (`from: "yesterday"`), which
    graphql-core reports while validating, before anything runs (so with no path)."""
    return error.path is None and isinstance(error.original_error, ValueError)


def _unstorable(error: BaseException) -> bool:
    """Input the database refuses (PostgreSQL stores no NUL in text or JSON, no driver encodes
    an unpaired surrogate, a value longer than its column): bad input, not a server fault."""
    if isinstance(error, UnicodeEncodeError):
        return True
    refused = (
        psycopg.errors.UntranslatableCharacter,
        psycopg.errors.CharacterNotInRepertoire,
        psycopg.errors.StringDataRightTruncation,
    )
    return isinstance(error, DataError) and (
        isinstance(error.orig, refused) or "NUL" in str(error.orig)
    )


# graphql-core's guesses in a message: "... Did you mean 'apiKey' or 'apiKeys'?" (at its end,
# or before the value a variable was given: "... Did you mean 'name'? Found: {...}.").
SUGGESTION = re.compile(r" Did you mean [^?]*\?")


class ErrorCodes(MaskErrors):
    """`hide_suggestions` (with introspection off) drops "Did you mean ..." from messages,
    which would otherwise name the fields and types that introspection no longer shows."""

    def __init__(self, *, hide_suggestions: bool = False) -> None:
        super().__init__()
        self.hide_suggestions = hide_suggestions

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        coded = [self._coded(error) for error in errors]
        if self.hide_suggestions:
            coded = [self._unsuggested(error) for error in coded]
        return coded

    def _unsuggested(self, error: GraphQLError) -> GraphQLError:
        message = SUGGESTION.sub("", error.message)
        if message == error.message:
            return error
        return _copy(error, message, dict(error.extensions or {}))

    def _coded(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, AppError) and not isinstance(original, InternalError):
            extensions: dict[str, object] = {"code": original.code}
            if original.details:
                extensions["details"] = original.details
            return _copy(error, original.message, extensions)
        if original is None or isinstance(original, REQUEST_ERRORS) or _refused_literal(error):
            return _copy(
                error, error.message, {"code": "VALIDATION_FAILED", **(error.extensions or {})}
            )
        if (fault := unavailable(original)) is not None:
            request_id = getattr(self.execution_context.context, "request_id", None)
            log.warning("database unavailable [request %s]: %s", request_id, original)
            return _copy(error, fault.message, {"code": fault.code})
        if _unstorable(original):
            return _copy(
                error,
                "The input holds a value that cannot be stored "
                "(too long, NUL or unpaired surrogates).",
                {"code": "VALIDATION_FAILED", "details": {"input": "Not storable."}},
            )
        request_id = getattr(self.execution_context.context, "request_id", None)
        log.error("unexpected error [request %s]", request_id, exc_info=original)
        return _copy(error, "Internal server error.", {"code": "INTERNAL_ERROR"})
