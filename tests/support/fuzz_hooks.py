"""Schemathesis hooks for the fuzz tests (`hooks = ...` in the generated schemathesis.toml),
loaded by the `schemathesis` process, not by pytest.

- `no_internal_error`: a GraphQL answer may carry errors (a user mistake is a 200 or 4xx with
  `errors`), but none of them may be `INTERNAL_ERROR`, and no answer may be a 5xx. Schemathesis'
  own `not_a_server_error` counts every error with a `path` as a server error unless it is
  coded the Apollo way (`BAD_USER_INPUT`), so it cannot judge Cartograph's coded errors.
- `before_call`: the fuzzer never revokes its own key (`CARTOGRAPH_FUZZ_OWN_KEY_ID`): a case
  that names it names an id that does not exist instead. With its key gone, the rest of the
  run would be 401s that pass every check.
- `record_answers`: writes which status codes each operation answered in which phase to the
  JSON file `CARTOGRAPH_FUZZ_ANSWERS` names (with the first error's code of a GraphQL answer),
  for the test to assert that the fuzzer reached existing resources, not only their 404.
- The `JSON` scalar (free-form values: metadata, an analytics `order`) is generated as small
  JSON literals; schemathesis knows only the built-in scalars, and meeting an unknown one
  while drawing an optional argument is an error of the run, not of the server.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis
from hypothesis import strategies as st
from hypothesis_graphql import nodes

schemathesis.graphql.scalar(
    "JSON",
    st.one_of(
        st.just(nodes.Null),
        st.integers(-1000, 1000).map(nodes.Int),
        st.text(max_size=20).map(nodes.String),
        st.booleans().map(nodes.Boolean),
    ),
)


def _errors(response: Any) -> list[dict[str, Any]]:
    try:
        body = json.loads(response.content)
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


NOWHERE = "00000000-0000-0000-0000-000000000000"

# An upload travels as a multipart part, which a generated JSON request cannot carry: the
# fuzzer sends text in its place (answered VALIDATION_FAILED: "Send the file as a multipart
# upload"); tests/api/test_media.py sends real files.
schemathesis.graphql.scalar("Upload", st.text(max_size=20).map(schemathesis.graphql.nodes.String))


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    own = os.environ.get("CARTOGRAPH_FUZZ_OWN_KEY_ID")
    if not own:
        return
    if case.path_parameters and case.path_parameters.get("id") == own:
        case.path_parameters["id"] = NOWHERE
    if isinstance(case.body, str) and own in case.body:  # a GraphQL document
        case.body = case.body.replace(own, NOWHERE)


@schemathesis.check
def no_internal_error(ctx: Any, response: Any, case: Any) -> None:
    if response.status_code >= 500:
        raise AssertionError(f"answered {response.status_code}")
    for error in _errors(response):
        code = (error.get("extensions") or {}).get("code")
        if code in (None, "INTERNAL_ERROR"):
            raise AssertionError(f"an error coded {code}: {error.get('message')}")


@schemathesis.check
class record_answers:  # a check's name, as the CLI's --checks spells it
    def __init__(self) -> None:
        self.answers: set[tuple[str, str, int, str]] = set()

    def after_response(self, ctx: Any, response: Any, case: Any) -> None:
        phase = case.meta.phase.name.value if case.meta is not None else "unknown"
        errors = _errors(response)
        code = (errors[0].get("extensions") or {}).get("code") if errors else None
        self.answers.add((phase, case.operation.label, response.status_code, str(code or "")))

    def after_run(self, ctx: Any) -> None:
        path = os.environ.get("CARTOGRAPH_FUZZ_ANSWERS")
        if path:
            rows = [
                {"phase": phase, "operation": label, "status": status, "code": code or None}
                for phase, label, status, code in sorted(self.answers)
            ]
            with open(path, "w") as file:
                json.dump(rows, file)
