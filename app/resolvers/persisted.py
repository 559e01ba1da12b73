"""Persisted documents: Apollo's automatic persisted queries (APQ) and an allow-list of
registered documents in Apollo's persisted query manifest format.

APQ, as Apollo's protocol has it: a request carries `extensions.persistedQuery`
(`{"version": 1, "sha256Hash": "<hex>"}`), over GET (the `extensions` query parameter, JSON) or
POST.

- a hash alone that this server knows runs its document; an unknown one is answered 200 with
  `PersistedQueryNotFound` (code PERSISTED_QUERY_NOT_FOUND), and the client sends it again
  with the query;
- a hash with the query: the hash must be the SHA-256 of the query's text (else 400, "provided
  sha does not match query"); the document runs and, once it has run (parsed, validated and
  priced), is remembered under the hash; one longer than `max_bytes` runs but is not kept;
- a version other than 1 is a 400.

Documents are kept in this process (an LRU of `cache_size`) and, with Redis, in Redis too (at
most `cache_size` there, the least recently used dropped first), so that a hash one process
learnt is known to every other. Redis down: each process keeps its own (logged).

The manifest (`{"format": "apollo-persisted-query-manifest", "version": 1, "operations":
[{"id", "name", "type", "body"}]}`) registers documents served by id: `sha256Hash` is the id,
as Apollo Client's persisted query lists send it. With the allow-list on, nothing else runs:
a query text that is not a registered body (byte for byte), an unknown id, and the APQ
registration of a new hash are refused (400: QUERY_NOT_IN_SAFELIST, PERSISTED_QUERY_NOT_IN_LIST),
and the APQ store is never read. The websocket runs registered bodies only, too.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    print_ast,
    validate,
    visit,
)
from graphql.language import Visitor

from app.middleware.rate_limit import redis_client

if TYPE_CHECKING:
    import strawberry

    from app.config import Settings

log = logging.getLogger(__name__)

VERSION = 1
MANIFEST_FORMAT = "apollo-persisted-query-manifest"
OPERATION_TYPES = frozenset({"query", "mutation", "subscription"})
# Longer than any hash or id a client sends: one past it is refused before any look-up.
MAX_ID_LENGTH = 256
NAMESPACE = "cartograph-apq"

# KEYS: the documents (a hash), their use (a sorted set by time). ARGV: hash, document, most.
PUT_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[1])
local extra = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if extra > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], extra)
  for i = 1, #oldest, 2 do redis.call('HDEL', KEYS[1], oldest[i]) end
end
return 1
"""
# KEYS as above; ARGV: hash. The document, marked as just used.
GET_SCRIPT = """
local document = redis.call('HGET', KEYS[1], ARGV[1])
if document then
  local clock = redis.call('TIME')
  redis.call('ZADD', KEYS[2], 'XX', tonumber(clock[1]) + tonumber(clock[2]) / 1000000, ARGV[1])
end
return document
"""


class Refused(Exception):
    """A persisted-document request refused: the HTTP status, the error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def not_found() -> Refused:
    # Apollo's exact message and code, with 200: the client's cue to send the query.
    return Refused(200, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")


def not_supported() -> Refused:
    return Refused(200, "PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported")


def mismatch() -> Refused:
    return Refused(400, "VALIDATION_FAILED", "provided sha does not match query")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Registered:
    """One operation of the manifest."""

    id: str
    name: str
    type: str
    body: str


class ManifestError(ValueError):
    pass


def load_manifest(path: Path, schema: GraphQLSchema | None = None) -> dict[str, Registered]:
    """The manifest's operations by id. Anything wrong (the format, a field, a body that does
    not parse or, given the schema, validate) fails start-up, naming the operation."""
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as error:
        raise ManifestError(f"Cannot read the persisted query manifest {path}: {error}") from error
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise ManifestError(f"{path}: not an {MANIFEST_FORMAT!r} (its `format`).")
    if data.get("version") != 1 or not isinstance(data.get("operations"), list):
        raise ManifestError(f"{path}: version 1 with a list of `operations` is expected.")
    operations: dict[str, Registered] = {}
    for index, item in enumerate(data["operations"]):
        values = (
            [item.get(k) for k in ("id", "name", "type", "body")] if isinstance(item, dict) else []
        )
        if len(values) != 4 or not all(isinstance(v, str) for v in values):
            raise ManifestError(f"{path}: operation {index} needs string id, name, type, body.")
        operation = Registered(*(str(v) for v in values))
        if not operation.id or len(operation.id) > MAX_ID_LENGTH:
            raise ManifestError(f"{path}: operation {index}: an id of 1 to 256 characters.")
        if operation.type not in OPERATION_TYPES:
            raise ManifestError(f"{path}: {operation.id}: type must be one of {OPERATION_TYPES}.")
        if operations.get(operation.id, operation).body != operation.body:
            raise ManifestError(f"{path}: {operation.id} is registered twice, differently.")
        try:
            document = parse(operation.body)
        except GraphQLError as error:
            raise ManifestError(f"{path}: {operation.id}: {error.message}") from error
        if schema is not None and (errors := validate(schema, document)):
            raise ManifestError(f"{path}: {operation.id}: {errors[0].message}")
        operations[operation.id] = operation
    return operations


def manifest_for(documents: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """A manifest of every named operation in `documents` (name, GraphQL text): each body the
    operation and the fragments it spreads (from any of the documents), printed; each id the
    SHA-256 of its body, as Apollo's manifest generator makes them."""
    operations: list[OperationDefinitionNode] = []
    fragments: dict[str, FragmentDefinitionNode] = {}
    for source, text in documents:
        try:
            document = parse(text, no_location=True)
        except GraphQLError as error:
            raise ManifestError(f"{source}: {error.message}") from error
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                if definition.name is None:
                    raise ManifestError(f"{source}: every operation needs a name.")
                operations.append(definition)
            elif isinstance(definition, FragmentDefinitionNode):
                fragments[definition.name.value] = definition
    entries = []
    for operation in sorted(operations, key=lambda o: o.name.value if o.name else ""):
        body = print_ast(DocumentNode(definitions=(operation, *_spread(operation, fragments))))
        entries.append(
            {
                "id": sha256(body),
                "name": operation.name.value if operation.name else "",
                "type": operation.operation.value,
                "body": body,
            }
        )
    return {"format": MANIFEST_FORMAT, "version": 1, "operations": entries}


def _spread(
    node: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> list[FragmentDefinitionNode]:
    """The fragments `node` spreads, at any depth, by name."""
    found: dict[str, FragmentDefinitionNode] = {}
    pending: list[Any] = [node]

    class Spreads(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: Any) -> None:
            name = spread.name.value
            if name not in found:
                if name not in fragments:
                    raise ManifestError(f"Fragment {name} is not defined in the files given.")
                found[name] = fragments[name]
                pending.append(fragments[name])

    while pending:
        visit(pending.pop(), Spreads())
    return [found[name] for name in sorted(found)]


class DocumentStore(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, document: str) -> None: ...


class MemoryDocuments:
    """This process's documents, the least recently used dropped past `size`."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.documents: OrderedDict[str, str] = OrderedDict()

    async def get(self, key: str) -> str | None:
        document = self.documents.get(key)
        if document is not None:
            self.documents.move_to_end(key)
        return document

    async def put(self, key: str, document: str) -> None:
        self.documents[key] = document
        self.documents.move_to_end(key)
        while len(self.documents) > self.size:
            self.documents.popitem(last=False)


class RedisDocuments:
    """Every process's documents: a Redis hash, and a sorted set of when each was last used
    that keeps it to `size` (both changed by one script, so processes never disagree)."""

    def __init__(self, url: str, size: int, namespace: str = NAMESPACE) -> None:
        # Bounded as the rate limiter's: a silent Redis is a miss after a moment, not a hang.
        self.client = redis_client(url)
        self.keys = [f"{namespace}:documents", f"{namespace}:used"]
        self.size = size
        self.put_script = self.client.register_script(PUT_SCRIPT)
        self.get_script = self.client.register_script(GET_SCRIPT)

    async def get(self, key: str) -> str | None:
        document = await self.get_script(keys=self.keys, args=[key])
        return document.decode() if document is not None else None

    async def put(self, key: str, document: str) -> None:
        await self.put_script(keys=self.keys, args=[key, document, self.size])


class SharedDocuments:
    """This process's LRU in front of Redis: a hit here costs no round trip; a miss asks
    Redis, whose answer is kept here too. Redis failing is logged and counts as a miss (or as
    not shared), never as an error to the client."""

    def __init__(self, local: MemoryDocuments, shared: DocumentStore | None) -> None:
        self.local = local
        self.shared = shared

    async def get(self, key: str) -> str | None:
        document = await self.local.get(key)
        if document is not None or self.shared is None:
            return document
        try:
            document = await self.shared.get(key)
        except Exception:
            log.exception("persisted query storage unavailable; looked up in this process only")
            return None
        if document is not None:
            await self.local.put(key, document)
        return document

    async def put(self, key: str, document: str) -> None:
        await self.local.put(key, document)
        if self.shared is not None:
            try:
                await self.shared.put(key, document)
            except Exception:
                log.exception("persisted query storage unavailable; kept in this process only")


@dataclass(frozen=True, slots=True)
class Lookup:
    """The document a request runs, and the hash to remember it by once it has run."""

    query: str | None
    remember: str | None = None


class PersistedDocuments:
    """What a request's `query` and `extensions.persistedQuery` come to (module docstring)."""

    def __init__(
        self,
        *,
        store: DocumentStore,
        manifest: Mapping[str, Registered] | None = None,
        allow_list: bool = False,
        apq: bool = True,
        max_bytes: int = 65536,
    ) -> None:
        self.store = store
        self.manifest = dict(manifest or {})
        self.bodies = frozenset(op.body for op in self.manifest.values())
        self.allow_list = allow_list
        self.apq = apq
        self.max_bytes = max_bytes

    def allows(self, query: str | None) -> bool:
        """Whether a document may run as sent: always, unless the allow-list is on and it is
        not a registered body."""
        return not self.allow_list or query in self.bodies

    async def resolve(self, query: str | None, extensions: Mapping[str, Any] | None) -> Lookup:
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if query is not None and not self.allows(query):
                raise not_in_allow_list()
            return Lookup(query)
        key = _hash_of(persisted)
        registered = self.manifest.get(key)
        if query is None:
            if registered is not None:
                return Lookup(registered.body)
            if self.allow_list:
                raise Refused(
                    400,
                    "PERSISTED_QUERY_NOT_IN_LIST",
                    f"Persisted query '{key}' is not in the allow-list of registered documents.",
                )
            if not self.apq:
                raise not_supported()
            document = await self.store.get(key)
            if document is None:
                raise not_found()
            return Lookup(document)
        if registered is not None:
            if query != registered.body:
                raise mismatch()
            return Lookup(query)
        if self.allow_list:
            raise not_in_allow_list()
        if not self.apq:
            raise not_supported()
        if sha256(query) != key:
            raise mismatch()
        return Lookup(query, remember=key if len(query.encode()) <= self.max_bytes else None)

    async def remember(self, key: str, query: str) -> None:
        await self.store.put(key, query)


def not_in_allow_list() -> Refused:
    return Refused(
        400,
        "QUERY_NOT_IN_SAFELIST",
        "Only registered documents run here (the allow-list is on): send a registered "
        "document's id as extensions.persistedQuery.sha256Hash.",
    )


def _hash_of(persisted: object) -> str:
    if not isinstance(persisted, dict):
        raise Refused(400, "VALIDATION_FAILED", "extensions.persistedQuery must be an object.")
    if persisted.get("version") != VERSION:
        raise Refused(
            400,
            "VALIDATION_FAILED",
            "Unsupported persisted query version: only version 1 is served.",
        )
    key = persisted.get("sha256Hash")
    if not isinstance(key, str) or not 0 < len(key) <= MAX_ID_LENGTH:
        raise Refused(
            400,
            "VALIDATION_FAILED",
            "extensions.persistedQuery.sha256Hash must be a string of 1 to 256 characters.",
        )
    return key


def documents_for(settings: Settings, schema: strawberry.Schema) -> PersistedDocuments:
    """The app's persisted documents, from its settings (the manifest is read, and each of its
    documents validated against the schema, once, here)."""
    path = settings.graphql_persisted_queries
    size = settings.graphql_apq_cache_size
    return PersistedDocuments(
        store=SharedDocuments(
            MemoryDocuments(size),
            RedisDocuments(settings.redis_url, size) if settings.redis_url else None,
        ),
        manifest=load_manifest(path, schema._schema) if path is not None else None,
        allow_list=settings.graphql_allow_list,
        apq=settings.graphql_apq,
        max_bytes=settings.graphql_apq_max_bytes,
    )
