"""Free JSON values (metadata): what may be stored and answered again.

Every response is encoded with orjson, which refuses to nest deeper than 254 levels, text with
unpaired surrogates and integers beyond 64 bits. A value it could not encode must be refused
when it arrives (VALIDATION_FAILED), not fail as a 500 each time it is read.
"""

from __future__ import annotations

from typing import Any

import orjson

MAX_JSON_DEPTH = 32
# PostgreSQL's jsonb keeps numbers as `numeric` and writes a large float out as the integer it
# is (1e20 comes back as 100000000000000000000), which orjson could then not encode: numbers
# this large are refused on the way in, on both databases alike.
MAX_JSON_NUMBER = 2**63


def json_problem(value: Any) -> str | None:
    """What makes `value` unfit to store as free JSON, in words for a VALIDATION_FAILED detail.

    One walk, without recursion, that goes no deeper than MAX_JSON_DEPTH + 1; the depth is
    reported before a number out of range.
    """
    number_out_of_range = False
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            if isinstance(item, float) and not abs(item) < MAX_JSON_NUMBER:
                number_out_of_range = True
            continue
        if depth > MAX_JSON_DEPTH:
            return f"Nested more than {MAX_JSON_DEPTH} levels deep."
        stack.extend((child, depth + 1) for child in children)
    if number_out_of_range:
        return "Numbers must lie between -2^63 and 2^63."
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError:
        return "Not storable as JSON: text must be valid Unicode and integers fit in 64 bits."
    return None
