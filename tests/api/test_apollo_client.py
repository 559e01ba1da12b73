"""Apollo Client's own automatic persisted queries link (`@apollo/client/link/persisted-queries`,
hashed queries over GET) against a live server: it sends the hash, gets PersistedQueryNotFound,
sends the query with it, and from then on the hash alone, from a second client too.

`tests/js/apollo_apq.mjs` runs it with Node; `tests/support/node.py` says when it is skipped.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from starlette.applications import Starlette

from app.db import Database
from tests.support.catalog import make_entity
from tests.support.node import node_for, run_node
from tests.support.server import serving

# The document as Apollo Client prints it (graphql-js `print`), which is what it hashes.
LISTING = """query Listing {
  catalogEntities(limit: 5) {
    totalCount
    items {
      slug
      __typename
    }
    __typename
  }
}"""


@pytest.mark.one_backend
async def test_apollo_clients_persisted_query_link_registers_then_sends_hashes(
    app: Starlette, database: Database
) -> None:
    node = node_for("@apollo/client")
    await make_entity(database, slug="blue-widget")
    async with serving(app) as base_url:
        output = await run_node(node, "apollo_apq.mjs", f"{base_url}/graphql")

    answer = json.loads(output)
    key = hashlib.sha256(LISTING.encode()).hexdigest()
    public = "public, max-age=60"
    assert answer["requests"] == [
        # The hash alone over GET: unknown, so PersistedQueryNotFound (200) ...
        {
            "method": "GET",
            "withQuery": False,
            "hash": key,
            "status": 200,
            "cacheControl": "no-store",
        },
        # ... and the client sends the query with it, over POST.
        {
            "method": "POST",
            "withQuery": True,
            "hash": key,
            "status": 200,
            "cacheControl": "no-store",
        },
        # From then on the hash alone runs it, for this client and a fresh one alike.
        {"method": "GET", "withQuery": False, "hash": key, "status": 200, "cacheControl": public},
        {"method": "GET", "withQuery": False, "hash": key, "status": 200, "cacheControl": public},
    ]
    listing = {
        "catalogEntities": {
            "__typename": "CatalogEntityConnection",
            "totalCount": 1,
            "items": [{"__typename": "CatalogEntity", "slug": "blue-widget"}],
        }
    }
    assert answer["results"] == [listing, listing, listing]
