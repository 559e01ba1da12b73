"""Users and roles, staff side: GraphQL (`users:read`, `users:manage`), the grant rule, the
gateway's `GET /api/v1/users` (seed 002)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.db import Database
from app.models.audit import AuditEntry
from app.models.users import Role, User, UserSession, user_roles
from tests.conftest import client_for, client_with
from tests.support.cost import without_cost
from tests.support.pricing import make_group
from tests.support.queries import count_queries
from tests.support.users import cookie_client, make_user, session_token

USERS = "/api/v1/users"
USER_FIELDS = "id email name username emailVerified status createdAt updatedAt roles { name }"
ROLE_FIELDS = "id name description permissions builtIn createdAt updatedAt"

CREATE_ROLE = f"""mutation C($input: CreateRoleInput!) {{ createRole(input: $input) {{
  {ROLE_FIELDS} }} }}"""
UPDATE_ROLE = f"""mutation U($input: UpdateRoleInput!) {{ updateRole(input: $input) {{
  {ROLE_FIELDS} }} }}"""
DELETE_ROLE = "mutation D($input: DeleteRoleInput!) { deleteRole(input: $input) { id name } }"
CREATE_STAFF = f"""mutation S($input: CreateStaffUserInput!) {{ createStaffUser(input: $input) {{
  {USER_FIELDS} }} }}"""
SET_ROLES = f"""mutation R($input: SetUserRolesInput!) {{ setUserRoles(input: $input) {{
  {USER_FIELDS} }} }}"""
SET_STATUS = f"""mutation T($input: SetUserStatusInput!) {{ setUserStatus(input: $input) {{
  {USER_FIELDS} }} }}"""
LIST_USERS = f"""query L($filter: UserFilter, $first: Int, $after: String) {{
  users(filter: $filter, first: $first, after: $after) {{
    items {{ {USER_FIELDS} }} totalCount pageInfo {{ hasNextPage endCursor }} }} }}"""
ROLES = f"{{ roles {{ items {{ {ROLE_FIELDS} }} totalCount }} }}"


async def gql(http: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return without_cost(response.json())


def code(body: dict[str, Any]) -> str:
    return body["errors"][0]["extensions"]["code"]


async def audit_events(database: Database) -> list[str]:
    """The audited events of users and roles, in order (minting test keys is audited too)."""
    async with database.read_session() as session:
        events = await session.scalars(select(AuditEntry.event).order_by(AuditEntry.id))
    return [event for event in events if event.startswith(("users.", "roles."))]


async def count(database: Database, table: Any) -> int:
    async with database.read_session() as session:
        return (await session.execute(select(func.count()).select_from(table))).scalar_one()


@pytest.fixture
async def narrow(app: Starlette, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A key that manages users but holds nothing else but audit:read."""
    async for http in client_with(app, database, "users:manage", "users:read", "audit:read"):
        yield http


# ---- roles -----------------------------------------------------------------------------------


async def test_a_role_is_created_changed_and_deleted_with_an_audit_trail(
    admin: httpx.AsyncClient, database: Database
) -> None:
    created = await gql(
        admin,
        CREATE_ROLE,
        input={
            "name": "catalog-editor",
            "description": "Edits the catalog",
            "permissions": ["catalog:update", "catalog:create", "catalog:update"],
        },
    )
    role = created["data"]["createRole"]
    assert role["name"] == "catalog-editor"
    assert role["permissions"] == ["catalog:create", "catalog:update"]
    assert role["builtIn"] is False and role["createdAt"].endswith("Z")

    updated = await gql(
        admin,
        UPDATE_ROLE,
        input={"id": role["id"], "name": "catalog-admin", "permissions": ["catalog:*"]},
    )
    changed = updated["data"]["updateRole"]
    assert (changed["name"], changed["permissions"]) == ("catalog-admin", ["catalog:*"])
    assert changed["description"] == "Edits the catalog"  # omitted: kept

    cleared = await gql(admin, UPDATE_ROLE, input={"id": role["id"], "description": None})
    assert cleared["data"]["updateRole"]["description"] is None

    listed = await gql(admin, ROLES)
    assert [r["name"] for r in listed["data"]["roles"]["items"]] == ["catalog-admin"]

    deleted = await gql(admin, DELETE_ROLE, input={"id": role["id"]})
    assert deleted["data"]["deleteRole"]["name"] == "catalog-admin"
    assert (await gql(admin, ROLES))["data"]["roles"]["totalCount"] == 0
    assert await audit_events(database) == [
        "roles.create",
        "roles.update",
        "roles.update",
        "roles.delete",
    ]


async def test_deleting_a_role_takes_it_from_its_holders_at_once(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    role = await gql(admin, CREATE_ROLE, input={"name": "auditor", "permissions": ["audit:read"]})
    staff = await make_user(database, email="eve@example.com", customer=False, roles=())
    await gql(admin, SET_ROLES, input={"id": str(staff.id), "roles": ["auditor"]})
    async with cookie_client(app, await session_token(database, staff)) as http:
        assert (await http.get("/api/audit")).status_code == 200
        await gql(admin, DELETE_ROLE, input={"id": role["data"]["createRole"]["id"]})
        assert (await http.get("/api/audit")).status_code == 403
    assert await count(database, user_roles) == 0


@pytest.mark.parametrize("name", ["customer", "vendor", "admin"])
async def test_built_in_roles_cannot_be_changed_deleted_or_shadowed(
    admin: httpx.AsyncClient, database: Database, name: str
) -> None:
    await make_user(database, roles=(name,))  # makes the built-in role
    async with database.read_session() as session:
        role = await session.scalar(select(Role).where(Role.name == name))
    assert role is not None and role.built_in
    before = role.permissions
    changed = await gql(admin, UPDATE_ROLE, input={"id": str(role.id), "permissions": ["*:*"]})
    deleted = await gql(admin, DELETE_ROLE, input={"id": str(role.id)})
    shadowed = await gql(admin, CREATE_ROLE, input={"name": name, "permissions": []})
    assert (code(changed), code(deleted), code(shadowed)) == ("CONFLICT",) * 3
    async with database.read_session() as session:
        assert (await session.get(Role, role.id)).permissions == before  # type: ignore[union-attr]
    assert await audit_events(database) == []


@pytest.mark.parametrize(
    ("input", "field"),
    [
        ({"name": "Bad Name", "permissions": []}, "name"),
        ({"name": "x" * 65, "permissions": []}, "name"),
        ({"name": "ok", "permissions": ["catalog"]}, "permissions"),
        ({"name": "ok", "permissions": [f"r{i}:read" for i in range(101)]},
         "permissions"),
        ({"name": "ok", "permissions": [], "description": "d" * 501}, "description"),
    ],
)  # fmt: skip
async def test_a_role_with_bad_fields_is_refused_naming_them(
    admin: httpx.AsyncClient, database: Database, input: dict[str, Any], field: str
) -> None:
    body = await gql(admin, CREATE_ROLE, input=input)
    assert code(body) == "VALIDATION_FAILED"
    # The list bound of the cost layer names `input.permissions`; the service `permissions`.
    details = body["errors"][0]["extensions"]["details"]
    assert any(name.split(".")[-1] == field for name in details), details
    assert await count(database, Role) == 0


async def test_a_role_name_in_use_is_a_conflict(admin: httpx.AsyncClient) -> None:
    await gql(admin, CREATE_ROLE, input={"name": "support", "permissions": []})
    again = await gql(admin, CREATE_ROLE, input={"name": "support", "permissions": []})
    assert code(again) == "CONFLICT"
    other = (await gql(admin, CREATE_ROLE, input={"name": "sales", "permissions": []}))["data"]
    renamed = await gql(
        admin, UPDATE_ROLE, input={"id": other["createRole"]["id"], "name": "support"}
    )
    assert code(renamed) == "CONFLICT"


async def test_an_unknown_role_id_is_not_found(admin: httpx.AsyncClient) -> None:
    for id in (str(uuid.uuid4()), "not-a-uuid"):
        assert code(await gql(admin, DELETE_ROLE, input={"id": id})) == "NOT_FOUND"


# ---- staff users -----------------------------------------------------------------------------


async def test_a_staff_user_is_created_with_roles_and_no_password(
    admin: httpx.AsyncClient, database: Database
) -> None:
    body = await gql(
        admin,
        CREATE_STAFF,
        input={"email": " Root@Example.COM ", "name": "Rita Root", "roles": ["admin"]},
    )
    user = body["data"]["createStaffUser"]
    assert user["email"] == "root@example.com"
    assert user["username"] == "root"
    assert user["status"] == "ACTIVE" and user["emailVerified"] is False
    assert user["roles"] == [{"name": "admin"}]
    async with database.read_session() as session:
        stored = await session.get(User, uuid.UUID(user["id"]))
    assert stored is not None and stored.password_hash is None and stored.customer_id is None
    assert await audit_events(database) == ["users.create"]

    again = await gql(
        admin, CREATE_STAFF, input={"email": "ROOT@example.com", "name": "R", "roles": []}
    )
    assert code(again) == "CONFLICT"


async def test_a_staff_user_with_an_unknown_role_or_bad_address_is_refused(
    admin: httpx.AsyncClient, database: Database
) -> None:
    unknown = await gql(
        admin, CREATE_STAFF, input={"email": "a@example.com", "name": "A", "roles": ["nope"]}
    )
    assert code(unknown) == "VALIDATION_FAILED"
    assert "nope" in unknown["errors"][0]["extensions"]["details"]["roles"]
    bad = await gql(admin, CREATE_STAFF, input={"email": "a-at-b", "name": " ", "roles": []})
    assert set(bad["errors"][0]["extensions"]["details"]) == {"email", "name"}
    assert await count(database, User) == 0


async def test_usernames_stay_unique(admin: httpx.AsyncClient) -> None:
    names = []
    for domain in ("a.example.com", "b.example.com", "c.example.com"):
        body = await gql(
            admin, CREATE_STAFF, input={"email": f"sam@{domain}", "name": "Sam", "roles": []}
        )
        names.append(body["data"]["createStaffUser"]["username"])
    assert names == ["sam", "sam-2", "sam-3"]


async def test_set_user_roles_replaces_them_and_the_session_follows(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    await gql(admin, CREATE_ROLE, input={"name": "auditor", "permissions": ["audit:read"]})
    staff = await make_user(database, email="eve@example.com", customer=False, roles=("admin",))
    async with cookie_client(app, await session_token(database, staff)) as http:
        assert (await http.get("/api/orders")).status_code == 200
        body = await gql(admin, SET_ROLES, input={"id": str(staff.id), "roles": ["auditor"]})
        assert body["data"]["setUserRoles"]["roles"] == [{"name": "auditor"}]
        assert (await http.get("/api/orders")).status_code == 403
        assert (await http.get("/api/audit")).status_code == 200
    entry = await _last_entry(database)
    assert entry.event == "users.rolesChange"
    assert (entry.before or {})["roles"] == ["admin"] and (entry.after or {})["roles"] == [
        "auditor"
    ]


async def _last_entry(database: Database) -> AuditEntry:
    async with database.read_session() as session:
        entry = await session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert entry is not None
    return entry


async def test_an_inactive_users_session_stops_working_at_once_and_stays_ended(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    staff = await make_user(database, email="eve@example.com", customer=False, roles=("admin",))
    token = await session_token(database, staff)
    async with cookie_client(app, token) as http:
        assert (await http.get("/api/orders")).status_code == 200
        off = await gql(admin, SET_STATUS, input={"id": str(staff.id), "status": "INACTIVE"})
        assert off["data"]["setUserStatus"]["status"] == "INACTIVE"
        assert (await http.get("/api/orders")).status_code == 401
        # Active again, the user signs in anew: the old session does not come back.
        on = await gql(admin, SET_STATUS, input={"id": str(staff.id), "status": "ACTIVE"})
        assert on["data"]["setUserStatus"]["status"] == "ACTIVE"
        assert (await http.get("/api/orders")).status_code == 401
    async with database.read_session() as session:
        live = await session.scalar(
            select(func.count())
            .select_from(UserSession)
            .where(UserSession.user_id == staff.id, UserSession.revoked_at.is_(None))
        )
    assert live == 0
    assert (await audit_events(database))[-2:] == ["users.statusChange", "users.statusChange"]


async def test_nobody_makes_themselves_inactive(app: Starlette, database: Database) -> None:
    staff = await make_user(database, email="eve@example.com", customer=False, roles=("admin",))
    async with cookie_client(app, await session_token(database, staff)) as http:
        body = await gql(http, SET_STATUS, input={"id": str(staff.id), "status": "INACTIVE"})
    assert code(body) == "CONFLICT"


# ---- the grant rule --------------------------------------------------------------------------


async def test_a_role_can_hold_only_what_its_creator_holds(
    narrow: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    wider = await gql(narrow, CREATE_ROLE, input={"name": "wide", "permissions": ["catalog:*"]})
    assert code(wider) == "FORBIDDEN"
    within = await gql(narrow, CREATE_ROLE, input={"name": "ok", "permissions": ["audit:read"]})
    assert within["data"]["createRole"]["permissions"] == ["audit:read"]
    grown = await gql(
        narrow,
        UPDATE_ROLE,
        input={"id": within["data"]["createRole"]["id"], "permissions": ["*:*"]},
    )
    assert code(grown) == "FORBIDDEN"

    theirs = await gql(admin, CREATE_ROLE, input={"name": "ops", "permissions": ["orders:*"]})
    id = theirs["data"]["createRole"]["id"]
    shrunk = await gql(narrow, UPDATE_ROLE, input={"id": id, "permissions": []})
    removed = await gql(narrow, DELETE_ROLE, input={"id": id})
    assert (code(shrunk), code(removed)) == ("FORBIDDEN", "FORBIDDEN")
    async with database.read_session() as session:
        names = sorted(await session.scalars(select(Role.name)))
    assert names == ["ok", "ops"]


async def test_users_can_be_given_and_changed_only_within_the_actors_own_permissions(
    narrow: httpx.AsyncClient, database: Database
) -> None:
    root = await make_user(database, email="root@example.com", customer=False, roles=("admin",))
    shopper = await make_user(database, email="ada@example.com")

    as_admin = await gql(
        narrow, CREATE_STAFF, input={"email": "m@example.com", "name": "M", "roles": ["admin"]}
    )
    promote = await gql(narrow, SET_ROLES, input={"id": str(shopper.id), "roles": ["admin"]})
    demote = await gql(narrow, SET_ROLES, input={"id": str(root.id), "roles": ["customer"]})
    lock_out = await gql(narrow, SET_STATUS, input={"id": str(root.id), "status": "INACTIVE"})
    assert [code(b) for b in (as_admin, promote, demote, lock_out)] == ["FORBIDDEN"] * 4

    # Within its reach it works: a customer made inactive, a staff member with no roles.
    off = await gql(narrow, SET_STATUS, input={"id": str(shopper.id), "status": "INACTIVE"})
    assert off["data"]["setUserStatus"]["status"] == "INACTIVE"
    async with database.read_session() as session:
        held = await session.scalar(
            select(func.count()).select_from(user_roles).where(user_roles.c.user_id == root.id)
        )
        status = await session.scalar(select(User.status).where(User.id == root.id))
    assert (held, status) == (1, "active")
    assert await audit_events(database) == ["users.statusChange"]


async def test_a_staff_session_cannot_raise_itself(app: Starlette, database: Database) -> None:
    async with database.unit_of_work() as uow:
        uow.session.add(Role(name="people", permissions=["users:manage", "users:read"]))
        await uow.commit()
    staff = await make_user(database, email="eve@example.com", customer=False, roles=("people",))
    async with cookie_client(app, await session_token(database, staff)) as http:
        body = await gql(http, SET_ROLES, input={"id": str(staff.id), "roles": ["admin"]})
    assert code(body) == "FORBIDDEN"


async def test_reading_and_writing_users_need_their_permissions(
    app: Starlette, database: Database
) -> None:
    async with client_for(app) as anonymous:
        assert code(await gql(anonymous, ROLES)) == "UNAUTHORIZED"
    async for reader in client_with(app, database, "users:read"):
        assert "errors" not in await gql(reader, ROLES)
        body = await gql(reader, CREATE_ROLE, input={"name": "x", "permissions": []})
        assert code(body) == "FORBIDDEN"


# ---- reading users ---------------------------------------------------------------------------


async def test_users_filter_by_status_email_and_role_and_page_by_cursor(
    admin: httpx.AsyncClient, database: Database
) -> None:
    ada = await make_user(database, email="ada@example.com")
    await make_user(database, email="grace@example.com", status="inactive")
    root = await make_user(database, email="root@example.com", customer=False, roles=("admin",))

    async def emails(**filter: Any) -> list[str]:
        body = await gql(admin, LIST_USERS, filter=filter)
        return [u["email"] for u in body["data"]["users"]["items"]]

    assert await emails() == ["ada@example.com", "grace@example.com", "root@example.com"]
    assert await emails(status="INACTIVE") == ["grace@example.com"]
    assert await emails(status="ACTIVE", role="customer") == ["ada@example.com"]
    assert await emails(email="ROOT@example.com") == ["root@example.com"]
    assert await emails(role="nobody") == []

    first = (await gql(admin, LIST_USERS, first=2))["data"]["users"]
    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"] is True
    rest = await gql(admin, LIST_USERS, first=2, after=first["pageInfo"]["endCursor"])
    assert [u["id"] for u in rest["data"]["users"]["items"]] == [str(root.id)]

    one = await gql(admin, f'{{ user(id: "{ada.id}") {{ {USER_FIELDS} }} }}')
    assert one["data"]["user"]["roles"] == [{"name": "customer"}]
    missing = await gql(admin, f'{{ user(id: "{uuid.uuid4()}") {{ id }} }}')
    assert code(missing) == "NOT_FOUND"


CUSTOMER_OF = "{ users { items { email customer { email groups { name } } } } }"


async def test_the_linked_customer_needs_customers_read_too(
    app: Starlette, database: Database
) -> None:
    await make_user(database, email="ada@example.com")
    async for reader in client_with(app, database, "users:read"):
        body = await gql(reader, CUSTOMER_OF)
    assert body["data"]["users"]["items"] == [{"email": "ada@example.com", "customer": None}]
    assert code(body) == "FORBIDDEN"
    assert body["errors"][0]["path"] == ["users", "items", 0, "customer"]
    async for reader in client_with(app, database, "users:read", "customers:read"):
        body = await gql(reader, CUSTOMER_OF)
    assert body == {
        "data": {
            "users": {
                "items": [{"email": "ada@example.com", "customer": {"email": "ada@example.com",
                                                                    "groups": []}}]
            }
        }
    }  # fmt: skip


FULL = f"""{{ users(limit: 100) {{ totalCount items {{ {USER_FIELDS}
  roles {{ permissions }} customer {{ email groups {{ name }} }} }} }} }}"""


async def test_a_page_of_users_costs_the_same_statements_however_long(
    admin: httpx.AsyncClient, database: Database
) -> None:
    async def statements() -> int:
        with count_queries(database) as queries:
            body = await gql(admin, FULL)
        assert "errors" not in body, body
        return queries.count

    first = await make_user(database, email="u0@example.com")
    await make_group(database, name="VIP", members=(str(first.customer_id),))
    await statements()  # the key's first use records lastUsedAt: one write, once
    one = await statements()
    members = []
    for i in range(1, 6):
        user = await make_user(database, email=f"u{i}@example.com", roles=("customer", "admin"))
        members.append(str(user.customer_id))
    await make_group(database, name="Wholesale", members=tuple(members))
    many = await statements()
    # The key, the count, the page, its roles, its customers, their groups.
    assert many == one == 6


# ---- the gateway's users (seed 002) ----------------------------------------------------------


async def test_gateway_users_list_as_documented(
    admin: httpx.AsyncClient, database: Database
) -> None:
    ada = await make_user(database, email="ada@example.com")
    response = await admin.get(USERS)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and set(body["meta"]) == {"timestamp", "requestId"}
    assert body["data"] == [
        {
            "id": str(ada.id),
            "username": "ada",
            "email": "ada@example.com",
            "status": "active",
            "createdAt": ada.created_at.isoformat().replace("+00:00", "Z"),
        }
    ]
    assert body["pagination"] == {"page": 1, "limit": 20, "total": 1, "pages": 1}
    assert response.headers["x-total-count"] == "1"


async def test_gateway_users_filter_by_status_and_page(
    admin: httpx.AsyncClient, database: Database
) -> None:
    for i in range(5):
        await make_user(
            database, email=f"u{i}@example.com", status="inactive" if i % 2 else "active"
        )
    inactive = await admin.get(USERS, params={"status": "inactive"})
    assert [u["email"] for u in inactive.json()["data"]] == ["u1@example.com", "u3@example.com"]
    assert {u["status"] for u in inactive.json()["data"]} == {"inactive"}

    by_page = await admin.get(USERS, params={"page": 2, "limit": 2})
    assert by_page.json()["pagination"] == {"page": 2, "limit": 2, "total": 5, "pages": 3}
    assert [u["email"] for u in by_page.json()["data"]] == ["u2@example.com", "u3@example.com"]
    assert (by_page.headers["x-limit"], by_page.headers["x-offset"]) == ("2", "2")
    per_page = await admin.get(USERS, params={"page": 3, "per_page": 2})
    assert [u["email"] for u in per_page.json()["data"]] == ["u4@example.com"]
    by_offset = await admin.get(USERS, params={"limit": 2, "offset": 3})
    assert [u["email"] for u in by_offset.json()["data"]] == ["u3@example.com", "u4@example.com"]


async def test_gateway_users_refuse_an_unknown_status_and_callers_without_users_read(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    bad = await admin.get(USERS, params={"status": "gone"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "VALIDATION_ERROR"
    async with client_for(app) as anonymous:
        assert (await anonymous.get(USERS)).status_code == 401
    async for other in client_with(app, database, "customers:read"):
        assert (await other.get(USERS)).status_code == 403
