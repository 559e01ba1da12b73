"""Text a database cannot store is bad input (422), never a server error."""

from __future__ import annotations

import httpx

from app.db import Database


async def test_nul_characters_are_a_validation_error_where_the_database_refuses_them(
    admin: httpx.AsyncClient, database: Database
) -> None:
    body = b'{"type": "product", "slug": "nul", "metadata": {"note": "a\\u0000b"}}'
    response = await admin.post(
        "/api/catalog/entities", content=body, headers={"content-type": "application/json"}
    )
    if database.is_sqlite:  # SQLite stores NUL like any other character
        assert response.status_code == 201
        assert response.json()["data"]["metadata"] == {"note": "a\x00b"}
    else:
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "VALIDATION_FAILED"
        listed = await admin.get("/api/catalog/entities")
        assert listed.json()["meta"]["pagination"]["total"] == 0


async def test_unpaired_surrogates_are_malformed_json(admin: httpx.AsyncClient) -> None:
    body = b'{"type": "product", "slug": "lone", "metadata": {"note": "\\ud920"}}'
    response = await admin.post(
        "/api/catalog/entities", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"] == {"body": "Malformed JSON."}
