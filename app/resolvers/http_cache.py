"""What HTTP caches may keep of a GraphQL answer.

Only anonymous catalog reads over GET are shared: a request with no credential at all (no
`Authorization`, no `x-api-key`, no session cookie) whose operation is a query selecting only
the public catalog fields of `PUBLIC_ROOT_FIELDS`, answered 200 without errors, gets
`Cache-Control: public, max-age=N` and a strong `ETag` (a matching `If-None-Match` is answered
304 with no body). Every other answer of `/graphql` gets `Cache-Control: no-store`: anything a
credential saw, any other field, any error, and every POST. GET answers also carry `Vary` on
the credential headers and `Accept` (the media type is negotiated), so a cache never hands an
anonymous copy to a caller with credentials.

A public answer leaves out its `extensions.cost.throttleStatus`: that is one client's budget,
not something a shared cache should hand to others (the budget is charged all the same).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    parse,
)
from graphql.utilities import get_operation_ast
from starlette.datastructures import Headers

# The root fields anyone may read and every anonymous caller sees alike: the active catalog,
# its categories and brands, and search. (`__typename` asks nothing.)
PUBLIC_ROOT_FIELDS = frozenset(
    {
        "catalogEntity",
        "catalogEntities",
        "catalogAttributes",
        "category",
        "categories",
        "categoryTree",
        "brand",
        "brands",
        "search",
        "suggest",
        "__typename",
    }
)
CREDENTIAL_HEADERS = ("authorization", "x-api-key")
VARY = "Accept, Authorization, X-Api-Key, Cookie"
NO_STORE = "no-store"


def anonymous(headers: Headers, cookies: dict[str, str], session_cookie: str) -> bool:
    """No credential at all: neither credential header (whatever it holds) nor the session
    cookie."""
    return not any(name in headers for name in CREDENTIAL_HEADERS) and (
        session_cookie not in cookies
    )


@lru_cache(maxsize=256)
def public_operation(query: str, operation_name: str | None) -> bool:
    """Whether the operation a GET runs is a query of public catalog fields alone (fragments
    at the root included; `@skip`/`@include` are not evaluated: every field named counts)."""
    try:
        document = parse(query, no_location=True)
    except GraphQLError:
        return False
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return False
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    names = _root_fields(operation.selection_set, fragments, set())
    return names is not None and names <= PUBLIC_ROOT_FIELDS


def _root_fields(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
) -> set[str] | None:
    names: set[str] = set()
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            names.add(selection.name.value)
            continue
        if isinstance(selection, InlineFragmentNode):
            inner = _root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen:
                continue
            seen.add(name)
            fragment = fragments.get(name)
            if fragment is None:
                return None
            inner = _root_fields(fragment.selection_set, fragments, seen)
        else:  # pragma: no cover - no other selection kind exists
            return None
        if inner is None:
            return None
        names |= inner
    return names


def public_cache_control(max_age: int) -> str:
    return f"public, max-age={max_age}"


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110's weak comparison, as If-None-Match uses: `*`, or any listed tag whose opaque
    part is this one's."""
    if not if_none_match:
        return False
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)
