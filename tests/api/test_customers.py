"""Customers through GraphQL (`customer`, `customers`, `createCustomer`, `updateCustomer`),
and the customer checks carts and customer-group membership now make.

Permissions: `customers:read` reads, `customers:create` creates, `customers:update` changes.
Events (seed 003): `customers.create`, `customers.update`, each with its audit entry.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from starlette.applications import Starlette

from app.auth.actor import SYSTEM
from app.db import Database
from app.errors import Conflict, NotFound
from app.models.audit import AuditEntry, Event
from app.models.carts import Cart
from app.models.customers import Customer
from app.models.pricing import customer_group_members
from app.services.customers import create_customer, require_customer
from tests.conftest import client_with
from tests.support.factories import customer
from tests.support.pricing import make_group
from tests.support.queries import count_queries

UNKNOWN_ID = "0190b6a2-0000-7000-8000-000000000000"
FIELDS = "id email firstName lastName phone metadata createdAt updatedAt"
CREATE = (
    "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { " + FIELDS + " } }"
)
UPDATE = (
    "mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { " + FIELDS + " } }"
)
READ = "query($id: ID!) { customer(id: $id) { " + FIELDS + " groups { name } } }"
LIST = """query($filter: CustomerFilter, $page: Int, $limit: Int, $first: Int, $after: String) {
  customers(filter: $filter, page: $page, limit: $limit, first: $first, after: $after) {
    totalCount
    items { email }
    pageInfo { hasNextPage hasPreviousPage endCursor page limit totalPages }
  }
}"""


# --- helpers ------------------------------------------------------------------------------


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


def code_of(body: dict[str, Any]) -> str:
    return body["errors"][0]["extensions"]["code"]


def details_of(body: dict[str, Any]) -> dict[str, Any]:
    return body["errors"][0]["extensions"]["details"]


async def changes(database: Database, entity_id: str) -> list[tuple[str, str]]:
    """(audit event, outbox event type) pairs for one record, oldest first."""
    async with database.read_session() as session:
        audits = await session.scalars(
            select(AuditEntry.event)
            .where(AuditEntry.entity_id == entity_id)
            .order_by(AuditEntry.id)
        )
        events = await session.scalars(
            select(Event.type).where(Event.entity_id == entity_id).order_by(Event.id)
        )
        return list(zip(audits.all(), events.all(), strict=True))


async def customer_changes(database: Database) -> list[str]:
    """Every customers.* event in the outbox."""
    async with database.read_session() as session:
        found = await session.scalars(
            select(Event.type).where(Event.entity_type == "customer").order_by(Event.id)
        )
        return list(found.all())


async def customer_count(database: Database) -> int:
    async with database.read_session() as session:
        return await session.scalar(select(func.count()).select_from(Customer)) or 0


@pytest.fixture
async def reader(app: Starlette, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """Holds `customers:read` only."""
    async for http in client_with(app, database, "customers:read"):
        yield http


@pytest.fixture
async def creator(app: Starlette, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """Holds `customers:create` only."""
    async for http in client_with(app, database, "customers:create"):
        yield http


@pytest.fixture
async def updater(app: Starlette, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """Holds `customers:update` only."""
    async for http in client_with(app, database, "customers:update"):
        yield http


# --- create, read, update -----------------------------------------------------------------


async def test_create_stores_a_lower_case_email_and_records_customers_create(
    creator: httpx.AsyncClient, database: Database
) -> None:
    body = await gql(
        creator,
        CREATE,
        input={
            "email": "  Jane.Doe@Example.COM ",
            "firstName": "Jane",
            "lastName": "Doe",
            "phone": "+1 (555) 010-0199",
            "metadata": {"source": "pos"},
        },
    )
    created = body["data"]["createCustomer"]
    assert created["email"] == "jane.doe@example.com"
    assert (created["firstName"], created["lastName"]) == ("Jane", "Doe")
    assert (created["phone"], created["metadata"]) == ("+1 (555) 010-0199", {"source": "pos"})
    assert created["createdAt"].endswith("Z")
    async with database.read_session() as session:
        row = await session.get(Customer, uuid.UUID(created["id"]))
        assert row is not None and row.email == "jane.doe@example.com"
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.entity_id == created["id"])
        )
    assert entry is not None and entry.entity_type == "customer" and entry.actor_type == "api_key"
    assert entry.before is None and entry.after["email"] == "jane.doe@example.com"
    assert await changes(database, created["id"]) == [("customers.create", "customers.create")]


async def test_create_needs_only_an_email(creator: httpx.AsyncClient) -> None:
    body = await gql(creator, CREATE, input={"email": "solo@example.com"})
    created = body["data"]["createCustomer"]
    assert (created["firstName"], created["lastName"], created["phone"]) == (None, None, None)
    assert created["metadata"] == {}


async def test_read_a_customer_by_id(reader: httpx.AsyncClient, database: Database) -> None:
    made = await customer(database, email="ada@example.com", first_name="Ada")
    body = await gql(reader, READ, id=str(made.id))
    found = body["data"]["customer"]
    assert (found["id"], found["email"], found["firstName"]) == (
        str(made.id),
        "ada@example.com",
        "Ada",
    )
    assert found["groups"] == []


@pytest.mark.parametrize("id", [UNKNOWN_ID, "nope"])
async def test_an_unknown_customer_is_not_found(reader: httpx.AsyncClient, id: str) -> None:
    body = await gql(reader, READ, id=id)
    assert code_of(body) == "NOT_FOUND"
    assert body["errors"][0]["message"] == "Customer not found."


async def test_update_changes_the_given_fields_and_records_before_and_after(
    updater: httpx.AsyncClient, database: Database
) -> None:
    made = await customer(database, email="ada@example.com", first_name="Ada", last_name="L")
    body = await gql(
        updater,
        UPDATE,
        input={"id": str(made.id), "email": "Ada@Lovelace.org", "lastName": None},
    )
    updated = body["data"]["updateCustomer"]
    assert (updated["email"], updated["firstName"], updated["lastName"]) == (
        "ada@lovelace.org",
        "Ada",
        None,
    )
    assert updated["updatedAt"] >= updated["createdAt"]
    async with database.read_session() as session:
        entry = await session.scalar(
            select(AuditEntry).where(
                AuditEntry.entity_id == str(made.id), AuditEntry.event == "customers.update"
            )
        )
    assert entry is not None
    assert (entry.before["email"], entry.after["email"]) == ("ada@example.com", "ada@lovelace.org")
    assert (entry.before["lastName"], entry.after["lastName"]) == ("L", None)
    assert await changes(database, str(made.id)) == [
        ("customers.create", "customers.create"),
        ("customers.update", "customers.update"),
    ]


async def test_update_of_an_unknown_customer_is_not_found(updater: httpx.AsyncClient) -> None:
    body = await gql(updater, UPDATE, input={"id": UNKNOWN_ID, "firstName": "X"})
    assert code_of(body) == "NOT_FOUND"


# --- permissions --------------------------------------------------------------------------


def operations(customer_id: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each operation with its variables, by the permission it needs."""
    return {
        "customers:read": (READ, {"id": customer_id}),
        "customers:list": (LIST, {}),
        "customers:create": (CREATE, {"input": {"email": "new@example.com"}}),
        "customers:update": (UPDATE, {"input": {"id": customer_id, "firstName": "Changed"}}),
    }


@pytest.mark.parametrize(
    "operation", ["customers:read", "customers:list", "customers:create", "customers:update"]
)
async def test_anonymous_callers_are_unauthorized_and_change_nothing(
    client: httpx.AsyncClient, database: Database, operation: str
) -> None:
    made = await customer(database, email="ada@example.com")
    query, variables = operations(str(made.id))[operation]
    body = await gql(client, query, **variables)
    assert code_of(body) == "UNAUTHORIZED"
    assert body.get("data") is None
    assert await customer_count(database) == 1
    assert await customer_changes(database) == ["customers.create"]


@pytest.mark.parametrize(
    ("operation", "granted"),
    [
        ("customers:read", "customers:create"),
        ("customers:list", "customers:update"),
        ("customers:create", "customers:read"),
        ("customers:create", "customers:update"),
        ("customers:update", "customers:read"),
        ("customers:update", "customers:create"),
    ],
)
async def test_a_key_without_the_grant_is_forbidden_and_changes_nothing(
    app: Starlette, database: Database, operation: str, granted: str
) -> None:
    made = await customer(database, email="ada@example.com")
    query, variables = operations(str(made.id))[operation]
    async for key in client_with(app, database, granted):
        body = await gql(key, query, **variables)
    assert code_of(body) == "FORBIDDEN"
    assert await customer_count(database) == 1
    assert await customer_changes(database) == ["customers.create"]
    async with database.read_session() as session:
        assert (await session.get(Customer, made.id)).first_name is None


async def test_each_grant_allows_its_operation(
    reader: httpx.AsyncClient,
    creator: httpx.AsyncClient,
    updater: httpx.AsyncClient,
    database: Database,
) -> None:
    made = await customer(database, email="ada@example.com")
    allowed = operations(str(made.id))
    for client, operation in (
        (reader, "customers:read"),
        (reader, "customers:list"),
        (creator, "customers:create"),
        (updater, "customers:update"),
    ):
        query, variables = allowed[operation]
        body = await gql(client, query, **variables)
        assert "errors" not in body, (operation, body)


# --- validation and uniqueness ------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "jane@localhost"}, "email"),
        ({"email": "jane doe@example.com"}, "email"),
        ({"email": "two@@example.com"}, "email"),
        ({"email": ""}, "email"),
        ({"email": "j@" + "e" * 250 + ".com"}, "email"),
        ({"email": "ok@example.com", "firstName": "x" * 101}, "firstName"),
        ({"email": "ok@example.com", "lastName": "x" * 101}, "lastName"),
        ({"email": "ok@example.com", "phone": "call me"}, "phone"),
        ({"email": "ok@example.com", "phone": "+1"}, "phone"),
        ({"email": "ok@example.com", "phone": "1" * 33}, "phone"),
        ({"email": "ok@example.com", "metadata": [1, 2]}, "metadata"),
    ],
)
async def test_create_validation_names_the_field_and_changes_nothing(
    creator: httpx.AsyncClient, database: Database, values: dict[str, Any], field: str
) -> None:
    body = await gql(creator, CREATE, input=values)
    assert code_of(body) == "VALIDATION_FAILED"
    assert field in details_of(body)
    assert await customer_count(database) == 0
    assert await customer_changes(database) == []


async def test_create_validation_names_every_bad_field(creator: httpx.AsyncClient) -> None:
    body = await gql(creator, CREATE, input={"email": "nope", "phone": "x", "firstName": "x" * 101})
    assert set(details_of(body)) == {"email", "phone", "firstName"}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"email": "nope"}, "email"),
        ({"firstName": "x" * 101}, "firstName"),
        ({"phone": "call me"}, "phone"),
        ({"metadata": "text"}, "metadata"),
    ],
)
async def test_update_validation_names_the_field_and_changes_nothing(
    updater: httpx.AsyncClient, database: Database, values: dict[str, Any], field: str
) -> None:
    made = await customer(database, email="ada@example.com", first_name="Ada")
    body = await gql(updater, UPDATE, input={"id": str(made.id), **values})
    assert code_of(body) == "VALIDATION_FAILED"
    assert field in details_of(body)
    async with database.read_session() as session:
        row = await session.get(Customer, made.id)
    assert row is not None and (row.email, row.first_name, row.phone) == (
        "ada@example.com",
        "Ada",
        None,
    )
    assert await customer_changes(database) == ["customers.create"]


@pytest.mark.parametrize("again", ["jane@example.com", "JANE@Example.com", " Jane@example.COM"])
async def test_an_email_in_use_in_any_case_is_a_conflict(
    creator: httpx.AsyncClient, database: Database, again: str
) -> None:
    await customer(database, email="jane@example.com")
    body = await gql(creator, CREATE, input={"email": again})
    assert code_of(body) == "CONFLICT"
    assert details_of(body) == {"email": "Already in use."}
    assert await customer_count(database) == 1
    assert await customer_changes(database) == ["customers.create"]


async def test_moving_to_an_email_in_use_is_a_conflict(
    updater: httpx.AsyncClient, database: Database
) -> None:
    await customer(database, email="jane@example.com")
    other = await customer(database, email="john@example.com")
    body = await gql(updater, UPDATE, input={"id": str(other.id), "email": "JANE@example.com"})
    assert code_of(body) == "CONFLICT"
    async with database.read_session() as session:
        assert (await session.get(Customer, other.id)).email == "john@example.com"
    # Keeping one's own address (in another case) is no conflict.
    same = await gql(updater, UPDATE, input={"id": str(other.id), "email": "John@Example.com"})
    assert same["data"]["updateCustomer"]["email"] == "john@example.com"


async def test_the_database_refuses_a_second_customer_with_an_email(database: Database) -> None:
    """The unique constraint, not only the service's check, keeps addresses unique (two
    concurrent creates both pass the check)."""
    await customer(database, email="jane@example.com")
    with pytest.raises(IntegrityError):
        async with database.unit_of_work() as uow:
            uow.session.add(Customer(email="jane@example.com"))
            await uow.session.flush()


async def test_a_create_that_loses_the_race_for_an_email_is_a_conflict(database: Database) -> None:
    """Two overlapping creates of one address both pass the service's check; the unique index
    holds the second until the first commits, and it answers CONFLICT, not an internal error.
    SQLite serialises writers (BEGIN IMMEDIATE), so the race cannot happen there."""
    if database.is_sqlite:
        pytest.skip("SQLite serialises writers, so the race cannot happen there")

    async def second() -> None:
        async with database.unit_of_work() as uow:
            await create_customer(uow, SYSTEM, email="JANE@example.com")
            await uow.commit()

    async with database.unit_of_work() as first:
        await create_customer(first, SYSTEM, email="jane@example.com")  # inserted, uncommitted
        racer = asyncio.create_task(second())
        await asyncio.sleep(0.3)
        assert not racer.done()  # past its check, waiting on the unique index
        await first.commit()
    with pytest.raises(Conflict):
        await racer
    assert await customer_count(database) == 1
    assert await customer_changes(database) == ["customers.create"]


# --- listing ------------------------------------------------------------------------------


async def test_list_is_oldest_first_and_pages_by_page_and_by_cursor(
    reader: httpx.AsyncClient, database: Database
) -> None:
    emails = [f"c{n}@example.com" for n in range(5)]
    for email in emails:
        await customer(database, email=email)
    page_two = (await gql(reader, LIST, page=2, limit=2))["data"]["customers"]
    assert [item["email"] for item in page_two["items"]] == emails[2:4]
    assert page_two["totalCount"] == 5
    assert page_two["pageInfo"]["page"] == 2 and page_two["pageInfo"]["totalPages"] == 3
    assert page_two["pageInfo"]["hasNextPage"] and page_two["pageInfo"]["hasPreviousPage"]

    first = (await gql(reader, LIST, first=3))["data"]["customers"]
    assert [item["email"] for item in first["items"]] == emails[:3]
    rest = (await gql(reader, LIST, first=3, after=first["pageInfo"]["endCursor"]))["data"]
    assert [item["email"] for item in rest["customers"]["items"]] == emails[3:]
    assert rest["customers"]["pageInfo"]["hasNextPage"] is False

    capped = (await gql(reader, LIST, limit=1000))["data"]["customers"]["pageInfo"]
    assert capped["limit"] == 100
    for bad in ({"limit": 0}, {"page": 0}, {"after": "junk"}, {"page": 1, "after": "x"}):
        assert code_of(await gql(reader, LIST, **bad)) == "VALIDATION_FAILED"


async def test_list_filters_by_whole_email_and_by_part_in_any_case(
    reader: httpx.AsyncClient, database: Database
) -> None:
    for email in ("ada@example.com", "grace@example.org", "alan_t@example.org", "alanxt@a.io"):
        await customer(database, email=email)

    async def emails(**filter: str) -> list[str]:
        body = await gql(reader, LIST, filter=filter)
        return [item["email"] for item in body["data"]["customers"]["items"]]

    assert await emails(email="ADA@example.com") == ["ada@example.com"]
    assert await emails(email="ada@") == []
    assert await emails(emailContains="EXAMPLE.ORG") == ["grace@example.org", "alan_t@example.org"]
    # LIKE's wildcards are plain characters here.
    assert await emails(emailContains="alan_t") == ["alan_t@example.org"]
    assert await emails(emailContains="%") == []
    assert await emails(email="grace@example.org", emailContains="ada") == []


async def test_customer_groups_are_listed_by_name(
    reader: httpx.AsyncClient, database: Database
) -> None:
    vip, trade = await make_group(database, name="VIP"), await make_group(database, name="Trade")
    member = await customer(database, email="ada@example.com", groups=(vip, trade))
    await customer(database, email="none@example.com")
    body = await gql(
        reader, "{ customers { items { email groups { id name description createdAt } } } }"
    )
    items = body["data"]["customers"]["items"]
    assert [[g["name"] for g in item["groups"]] for item in items] == [["Trade", "VIP"], []]
    assert items[0]["groups"][0]["id"] == str(trade.id)
    one = await gql(
        reader, "query($id: ID!) { customer(id: $id) { groups { name } } }", id=str(member.id)
    )
    assert one["data"]["customer"]["groups"] == [{"name": "Trade"}, {"name": "VIP"}]


@pytest.mark.parametrize("count", [1, 20])
async def test_listing_customers_with_groups_costs_the_same_statements_for_1_and_20(
    reader: httpx.AsyncClient, database: Database, count: int
) -> None:
    groups = [await make_group(database, name=name) for name in ("A", "B", "C")]
    for n in range(count):
        await customer(database, email=f"c{n}@example.com", groups=groups[: n % 3 + 1])
    query = """{ customers(limit: 50) { totalCount
      items { id email firstName groups { id name } } pageInfo { endCursor } } }"""
    with count_queries(database) as queries:
        body = await gql(reader, query)
    items = body["data"]["customers"]["items"]
    assert len(items) == count and all(item["groups"] for item in items)
    # Besides the key's own lookup: the count, the page and every customer's groups.
    customers = [s for s in queries.statements if "api_keys" not in s]
    assert len(customers) == 3, queries.statements


async def test_a_list_without_groups_or_count_does_not_fetch_them(
    reader: httpx.AsyncClient, database: Database
) -> None:
    await customer(database, groups=(await make_group(database, name="A"),))
    with count_queries(database) as queries:
        await gql(reader, "{ customers { items { email } } }")
    assert len([s for s in queries.statements if "api_keys" not in s]) == 1, queries.statements


# --- the customer checks other domains make -----------------------------------------------


async def test_require_customer_names_the_field_and_finds_any_spelling_of_the_id(
    database: Database,
) -> None:
    made = await customer(database)
    async with database.read_session() as session:
        assert (await require_customer(session, str(made.id).upper())).id == made.id
        for unknown in (UNKNOWN_ID, "cus_1", ""):
            with pytest.raises(NotFound) as refused:
                await require_customer(session, unknown)
            assert refused.value.message == "Customer not found."
            assert refused.value.details == {"customerId": "Unknown."}


MEMBERSHIP = """mutation($input: CustomerGroupMembershipInput!) {
  addCustomerToGroup(input: $input) { id } }"""


@pytest.mark.parametrize("unknown", [UNKNOWN_ID, "cus_made_up"])
async def test_adding_an_unknown_customer_to_a_group_is_not_found_and_changes_nothing(
    admin: httpx.AsyncClient, database: Database, unknown: str
) -> None:
    group = await make_group(database, name="Trade")
    body = await gql(
        admin, MEMBERSHIP, input={"customerGroupId": str(group.id), "customerId": unknown}
    )
    assert code_of(body) == "NOT_FOUND"
    assert details_of(body) == {"customerId": "Unknown."}
    async with database.read_session() as session:
        members = await session.execute(select(customer_group_members))
        assert members.all() == []
    assert await changes(database, str(group.id)) == [("pricing.create", "pricing.create")]


async def test_adding_a_customer_to_a_group_stores_the_canonical_id(
    admin: httpx.AsyncClient, reader: httpx.AsyncClient, database: Database
) -> None:
    group = await make_group(database, name="Trade")
    made = await customer(database)
    input = {"customerGroupId": str(group.id), "customerId": str(made.id).upper()}
    assert "errors" not in await gql(admin, MEMBERSHIP, input=input)
    body = await gql(
        reader, "query($id: ID!) { customer(id: $id) { groups { name } } }", id=str(made.id)
    )
    assert body["data"]["customer"]["groups"] == [{"name": "Trade"}]


async def test_a_cart_for_an_unknown_customer_is_not_found_and_changes_nothing(
    admin: httpx.AsyncClient, database: Database
) -> None:
    body = await gql(
        admin,
        "mutation($input: CreateCartInput!) { createCart(input: $input) { id } }",
        input={"currency": "USD", "customerId": UNKNOWN_ID},
    )
    assert code_of(body) == "NOT_FOUND"
    assert details_of(body) == {"customerId": "Unknown."}
    async with database.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(Cart)) == 0
    made = await customer(database)
    body = await gql(
        admin,
        "mutation($input: CreateCartInput!) { createCart(input: $input) { customerId } }",
        input={"currency": "USD", "customerId": str(made.id)},
    )
    assert body["data"]["createCart"] == {"customerId": str(made.id)}
