"""The `cartograph` console command, run as an operator runs it: a subprocess of the installed
script with DATABASE_URL pointing at a fresh SQLite file. Independent of TEST_DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory

from app.auth.actor import SYSTEM
from app.config import Settings
from app.db import Database
from app.main import create_app
from app.migrations import SQLITE_SEARCH_TABLES, alembic_config, upgrade
from app.models import Base
from app.services.apikeys import revoke_api_key

CARTOGRAPH = Path(sys.executable).parent / "cartograph"
COMMITTED_SCHEMA = Path(__file__).resolve().parent.parent / "schema.graphql"
OUT_OF_SYNC = (
    "schema.graphql is out of date with the code: run `cartograph export-schema` "
    "(or `make schema`) and commit the result"
)


def cartograph(
    *args: str, cwd: Path, database_url: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed command with only our DATABASE_URL in its environment (and `input`
    on its standard input)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name != "DATABASE_URL" and not name.startswith("CARTOGRAPH_")
    }
    env["DATABASE_URL"] = database_url
    return subprocess.run(
        [str(CARTOGRAPH), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        input=input,
    )


def rows(db_file: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db_file) as connection:
        return connection.execute(sql).fetchall()


def key_names(db_file: Path) -> list[str]:
    return [name for (name,) in rows(db_file, "SELECT name FROM api_keys ORDER BY name")]


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "cartograph.db"


@pytest.fixture
def database_url_for_cli(db_file: Path) -> str:
    """A fresh, empty SQLite database (no tables yet)."""
    return f"sqlite+aiosqlite:///{db_file}"


@pytest.fixture
def migrated(database_url_for_cli: str) -> str:
    """The fresh database, brought to head in-process (faster than a `migrate` subprocess)."""
    upgrade(database_url_for_cli)
    return database_url_for_cli


# --- migrate --------------------------------------------------------------------------------


def test_migrate_creates_every_table_at_the_head_revision(
    tmp_path: Path, db_file: Path, database_url_for_cli: str
) -> None:
    result = cartograph("migrate", cwd=tmp_path, database_url=database_url_for_cli)

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"database is at head: {database_url_for_cli}\n"
    tables = {
        name for (name,) in rows(db_file, "SELECT name FROM sqlite_master WHERE type='table'")
    }
    assert tables == {*Base.metadata.tables, "alembic_version", *SQLITE_SEARCH_TABLES}
    head = ScriptDirectory.from_config(alembic_config(database_url_for_cli)).get_heads()
    assert rows(db_file, "SELECT version_num FROM alembic_version") == [tuple(head)]


def test_migrate_on_a_database_at_head_changes_nothing(
    tmp_path: Path, db_file: Path, migrated: str
) -> None:
    before = rows(db_file, "SELECT type, name, sql FROM sqlite_master ORDER BY name")

    result = cartograph("migrate", cwd=tmp_path, database_url=migrated)

    assert result.returncode == 0, result.stderr
    assert rows(db_file, "SELECT type, name, sql FROM sqlite_master ORDER BY name") == before


# --- apikey create --------------------------------------------------------------------------


async def test_apikey_create_prints_a_plaintext_key_last_that_authenticates(
    tmp_path: Path, migrated: str
) -> None:
    result = await asyncio.to_thread(
        cartograph,
        *("apikey", "create", "--name", "ops", "--permissions", "*:*"),
        cwd=tmp_path,
        database_url=migrated,
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    created, warning, plaintext = result.stdout.splitlines()
    assert re.fullmatch(r"created API key [0-9a-f-]{36} \(ops\) with \*:\*", created)
    assert warning == "store it now; it is not shown again:"
    assert plaintext.startswith("ck_") and len(plaintext) > 40

    app = create_app(Settings(database_url=migrated))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            response = await client.get("/api/v1/api-keys", headers={"x-api-key": plaintext})
    finally:
        await app.state.database.dispose()
    assert response.status_code == 200
    [listed] = response.json()["data"]
    assert listed["name"] == "ops"
    assert listed["permissions"] == ["*:*"]
    assert listed["prefix"] == plaintext[:12]
    assert listed["status"] == "active"


def test_apikey_create_if_absent_creates_nothing_when_an_active_key_has_the_name(
    tmp_path: Path, db_file: Path, migrated: str
) -> None:
    create = ("apikey", "create", "--name", "ops", "--permissions", "*:*", "--if-absent")

    first = cartograph(*create, cwd=tmp_path, database_url=migrated)
    second = cartograph(*create, cwd=tmp_path, database_url=migrated)

    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-1].startswith("ck_")
    assert second.returncode == 0, second.stderr
    assert second.stdout == "an active key named 'ops' exists already; none created\n"
    assert "ck_" not in second.stdout
    assert key_names(db_file) == ["ops"]


async def test_apikey_create_if_absent_ignores_a_revoked_key_of_the_same_name(
    tmp_path: Path, db_file: Path, migrated: str
) -> None:
    create = ("apikey", "create", "--name", "ops", "--permissions", "*:*", "--if-absent")
    first = await asyncio.to_thread(cartograph, *create, cwd=tmp_path, database_url=migrated)
    assert first.returncode == 0, first.stderr
    [(key_id,)] = rows(db_file, "SELECT id FROM api_keys")
    database = Database(migrated)
    try:
        async with database.unit_of_work() as uow:
            await revoke_api_key(uow, SYSTEM, id=uuid.UUID(str(key_id)))
            await uow.commit()
    finally:
        await database.dispose()

    again = await asyncio.to_thread(cartograph, *create, cwd=tmp_path, database_url=migrated)

    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1].startswith("ck_")
    assert key_names(db_file) == ["ops", "ops"]


def test_apikey_create_if_absent_ignores_an_expired_key_of_the_same_name(
    tmp_path: Path, db_file: Path, migrated: str
) -> None:
    create = ("apikey", "create", "--name", "ops", "--permissions", "*:*", "--if-absent")
    assert cartograph(*create, cwd=tmp_path, database_url=migrated).returncode == 0
    with sqlite3.connect(db_file) as connection:
        connection.execute("UPDATE api_keys SET expires_at = '2020-01-01 00:00:00.000000'")

    again = cartograph(*create, cwd=tmp_path, database_url=migrated)

    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1].startswith("ck_")
    assert key_names(db_file) == ["ops", "ops"]


def test_apikey_create_on_an_unmigrated_database_explains_instead_of_a_traceback(
    tmp_path: Path, database_url_for_cli: str
) -> None:
    result = cartograph(
        "apikey",
        "create",
        "--name",
        "ops",
        "--permissions",
        "*:*",
        cwd=tmp_path,
        database_url=database_url_for_cli,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "cartograph migrate" in result.stderr


def test_apikey_create_refuses_an_invalid_permission_and_creates_nothing(
    tmp_path: Path, db_file: Path, migrated: str
) -> None:
    create = ("apikey", "create", "--name", "ops", "--permissions", "nope")

    result = cartograph(*create, cwd=tmp_path, database_url=migrated)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "error: permissions: Not resource:action permissions: nope.\n"
    assert key_names(db_file) == []
    assert rows(db_file, "SELECT count(*) FROM audit_entries") == [(0,)]


# --- user create, user set-password ---------------------------------------------------------


def create_root(tmp_path: Path, migrated: str, *roles: str) -> subprocess.CompletedProcess[str]:
    return cartograph(
        *("user", "create", "--email", "Root@Example.com", "--name", "Rita Root"),
        *(("--roles", ",".join(roles)) if roles else ()),
        cwd=tmp_path,
        database_url=migrated,
    )


def dump(db_file: Path) -> str:
    """Every row of every table, as text: where a plaintext password must never appear."""
    with sqlite3.connect(db_file) as connection:
        return "\n".join(connection.iterdump())


def test_user_create_makes_a_staff_user_with_roles_and_no_password(
    tmp_path: Path, db_file: Path, migrated: str
) -> None:
    result = create_root(tmp_path, migrated, "admin")
    assert result.returncode == 0, result.stderr
    created, hint = result.stdout.splitlines()
    assert re.fullmatch(r"created user [0-9a-f-]{36} \(root@example.com\) with admin", created)
    assert hint == "no password yet: cartograph user set-password root@example.com"
    assert rows(db_file, "SELECT email, password_hash, status FROM users") == [
        ("root@example.com", None, "active")
    ]
    assert rows(
        db_file,
        "SELECT r.name FROM roles r JOIN user_roles ur ON ur.role_id = r.id",
    ) == [("admin",)]
    assert rows(db_file, "SELECT event FROM audit_entries") == [("users.create",)]


def test_user_create_refuses_an_unknown_role_and_a_taken_address(
    tmp_path: Path, db_file: Path, migrated: str
) -> None:
    unknown = create_root(tmp_path, migrated, "admin", "root")
    assert unknown.returncode == 2
    assert "No such roles: root" in unknown.stderr
    assert rows(db_file, "SELECT count(*) FROM users") == [(0,)]
    assert create_root(tmp_path, migrated).returncode == 0
    taken = create_root(tmp_path, migrated)
    assert taken.returncode == 2 and "in use" in taken.stderr


async def test_user_set_password_prints_a_generated_password_last_stored_only_hashed(
    tmp_path: Path, db_file: Path, migrated: str
) -> None:
    from app.auth.passwords import verify_password

    assert create_root(tmp_path, migrated, "admin").returncode == 0
    result = cartograph(
        "user", "set-password", "ROOT@example.com", cwd=tmp_path, database_url=migrated
    )
    assert result.returncode == 0, result.stderr
    told, warning, password = result.stdout.splitlines()
    assert told == "password set for root@example.com; their sessions were ended"
    assert warning == "store it now; it is not shown again:"
    assert len(password) >= 24
    [(stored,)] = rows(db_file, "SELECT password_hash FROM users")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert await verify_password(stored, password)
    assert password not in dump(db_file)
    assert rows(db_file, "SELECT event FROM audit_entries ORDER BY id")[-1] == (
        "users.passwordSet",
    )

    again = cartograph("user", "set-password", "root@example.com", cwd=tmp_path,
                       database_url=migrated)  # fmt: skip
    assert again.stdout.splitlines()[-1] != password  # a new one each time


async def test_user_set_password_reads_stdin_and_never_prints_it(
    tmp_path: Path, db_file: Path, migrated: str
) -> None:
    from app.auth.passwords import verify_password

    assert create_root(tmp_path, migrated).returncode == 0
    secret = "correct horse battery staple"
    result = cartograph(
        *("user", "set-password", "root@example.com", "--stdin"),
        cwd=tmp_path,
        database_url=migrated,
        input=secret + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert secret not in result.stdout + result.stderr
    [(stored,)] = rows(db_file, "SELECT password_hash FROM users")
    assert await verify_password(stored, secret)
    assert secret not in dump(db_file)


def test_user_set_password_refuses_a_short_password_and_an_unknown_user(
    tmp_path: Path, db_file: Path, migrated: str
) -> None:
    assert create_root(tmp_path, migrated).returncode == 0
    short = cartograph(*("user", "set-password", "root@example.com", "--stdin"),
                       cwd=tmp_path, database_url=migrated, input="short\n")  # fmt: skip
    assert short.returncode == 2 and "At least 8 characters" in short.stderr
    unknown = cartograph("user", "set-password", "nobody@example.com", cwd=tmp_path,
                         database_url=migrated)  # fmt: skip
    assert unknown.returncode == 2 and "not found" in unknown.stderr
    assert unknown.stdout == ""
    assert rows(db_file, "SELECT password_hash FROM users") == [(None,)]


# --- export-schema --------------------------------------------------------------------------


def test_committed_schema_graphql_is_in_sync_with_the_code(
    tmp_path: Path, database_url_for_cli: str
) -> None:
    target = tmp_path / "exported.graphql"

    result = cartograph(
        "export-schema", str(target), cwd=tmp_path, database_url=database_url_for_cli
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"wrote {target}\n"
    assert target.read_text() == COMMITTED_SCHEMA.read_text(), OUT_OF_SYNC


def test_export_schema_without_a_path_writes_schema_graphql_in_the_working_directory(
    tmp_path: Path, database_url_for_cli: str
) -> None:
    result = cartograph("export-schema", cwd=tmp_path, database_url=database_url_for_cli)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "wrote schema.graphql\n"
    assert (tmp_path / "schema.graphql").read_text() == COMMITTED_SCHEMA.read_text(), OUT_OF_SYNC


def test_export_schema_to_dash_prints_the_sdl_to_stdout_and_writes_no_file(
    tmp_path: Path, database_url_for_cli: str
) -> None:
    result = cartograph("export-schema", "-", cwd=tmp_path, database_url=database_url_for_cli)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == COMMITTED_SCHEMA.read_text(), OUT_OF_SYNC
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_serve_with_workers_warns_of_what_each_process_keeps_without_redis() -> None:
    from app.cli import per_process_warnings

    sqlite = Settings(database_url="sqlite+aiosqlite:///x.db")
    postgres = Settings(database_url="postgresql+psycopg://db/shop")
    with_redis = Settings(database_url="sqlite+aiosqlite:///x.db", redis_url="redis://r:6379/0")

    assert per_process_warnings(sqlite, 1) == []
    assert per_process_warnings(with_redis, 4) == []
    [limits] = per_process_warnings(postgres, 4)
    assert "rate limits and cost budgets" in limits and "4 times the limit" in limits
    assert len(per_process_warnings(sqlite, 2)) == 2
    assert "live event" in per_process_warnings(sqlite, 2)[1]


def test_serve_refuses_fewer_than_one_worker(tmp_path: Path) -> None:
    served = cartograph(
        "serve", "--workers", "0", cwd=tmp_path, database_url=f"sqlite:///{tmp_path / 'x.db'}"
    )
    assert served.returncode == 2
    assert "--workers must be at least 1" in served.stderr
