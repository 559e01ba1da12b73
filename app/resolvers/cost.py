"""Query cost: what an operation asks for, priced before it runs (DESIGN §9).

In the style of Shopify's and GitHub's calculated query cost, from the validated document and
the coerced variables, before anything executes:

- a scalar or enum costs 0, an object 1, a root mutation field 10, an analytics query 100
  more (`FIELD_COSTS`: it aggregates whole tables, whatever it returns);
- a connection (a field with `limit`/`first` whose type has `pageInfo`) costs 2, plus its
  `items`, `nodes` and `edges` times its page size: `first` or `limit`, capped at 100 as the
  resolvers cap it, else the list's default page size (20; the audit list's 50);
- a list without paging costs its items times its size: the length of the argument it answers
  for (`inventoryCheck(entityIds:)`), the count an argument asks for (`suggest(limit:)`,
  capped as the resolver caps it), else the typical size in `LIST_SIZES`;
- fields skipped by `@skip`/`@include` cost nothing; introspection (`__schema`, `__type`)
  costs nothing: its size is the schema's, bounded by the introspection depth rule.

Every list argument, and every list inside an input object, holds at most
`CARTOGRAPH_GRAPHQL_MAX_LIST_LENGTH` items unless `LIST_LENGTHS` documents another limit.

`CostAnalysis` refuses, as request errors with no data: a list over its length
(VALIDATION_FAILED, the argument path in `details`), an operation over
`CARTOGRAPH_GRAPHQL_MAX_COST` (QUERY_TOO_COSTLY), and one costing more than its principal's
budget holds (THROTTLED, with `Retry-After` over HTTP; `app.resolvers.budget`). Every response
reports `extensions.cost`: the requested cost and, with a budget, its `throttleStatus`.

REST routes run fixed operations under their own page limits and the request rate limit: they
are exempt from the cost limit and the budget (`Context.priced`), but not from list lengths,
which reach them as their dialect's validation error.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLIncludeDirective,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
)
from graphql.execution.values import (
    VariableValues,
    get_argument_values,
    get_directive_values,
    get_variable_values,
)
from graphql.language import DocumentNode
from graphql.type import GraphQLSkipDirective
from graphql.utilities import get_operation_ast
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

from app.errors import QueryTooCostly, Throttled, ValidationFailed
from app.middleware.rate_limit import address_key, principal_key
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT
from app.resolvers.audit import AUDIT_DEFAULT_LIMIT
from app.services.apikeys import MAX_PERMISSIONS
from app.services.inventory.levels import MAX_BULK
from app.services.search import SUGGEST_DEFAULT, SUGGEST_MAX

OBJECT_COST = 1
CONNECTION_COST = 2
MUTATION_COST = 10
# An analytics query aggregates over whole tables whatever it returns: a flat price, as much
# as a full page of a hundred objects, on top of what it selects.
ANALYTICS_COST = 100
FIELD_COSTS: Mapping[str, int] = {"Query.analytics": ANALYTICS_COST}
CONNECTION_ITEMS = frozenset({"items", "nodes", "edges"})

# Connections whose default page is not DEFAULT_LIMIT.
DEFAULT_PAGE_SIZES: Mapping[str, int] = {"Query.auditEntries": AUDIT_DEFAULT_LIMIT}


@dataclass(frozen=True, slots=True)
class ByCount:
    """A list priced at the count an integer argument asks for: `default` when it is not
    given, at most `maximum` (as the resolver caps it)."""

    argument: str
    default: int
    maximum: int


# How many items a list without paging is priced at: an argument's length (its name, dotted
# into an input object), the count an argument asks for (`ByCount`), or a typical size.
# `test_cost.py` fails for a list missing here.
LIST_SIZES: Mapping[str, int | str | ByCount] = {
    "Query.inventoryCheck": "entityIds",
    "Query.categoryTree": 10,
    "Query.fulfillments": 3,
    "Mutation.bulkSetInventory": "input.updates",
    "Mutation.reserveInventory": 3,  # one reservation per warehouse drawn from
    "Mutation.releaseInventory": 3,
    "CategoryTreeNode.children": 5,
    # An option matrix of two or three options of a few values each.
    "CatalogEntity.variants": 10,
    "CatalogEntity.optionTypes": 3,
    "CatalogEntity.categories": 3,
    "CatalogEntity.brands": 1,
    "CatalogEntity.inventory": 10,  # a level per variant and warehouse
    "CatalogEntity.media": 5,  # a thumbnail, a few gallery pictures, a document
    "MediaAsset.variants": 2,  # one thumbnail per CARTOGRAPH_MEDIA_THUMBNAIL_SIZES width
    "OptionType.values": 5,
    "Variant.optionValues": 3,
    "InventoryAvailability.warehouses": 3,
    "ResolvedPrice.modifiers": 3,
    "Customer.groups": 3,
    "User.roles": 2,
    "Cart.items": 10,
    "Order.lines": 10,
    "Order.payments": 3,
    "Order.fulfillments": 3,
    "Order.subOrders": 3,  # a few vendors per order
    "SubOrder.lines": 5,
    "Vendor.documents": 5,  # a licence, a tax certificate, an identity, a bank statement
    "Return.lines": 3,  # a few lines of one sub-order
    "Vendor.balance": 2,  # a currency or two
    "VendorBalance.balances": 2,
    "Mutation.refundSubOrder": 2,  # the refund, and the commission given back
    "Mutation.runPayouts": 20,  # a payout per vendor and currency due
    "Fulfillment.lines": 10,
    "GenerateVariantsResult.created": 10,
    "PromotionValidation.lines": "input.lineItems",
    "OrderTracking.fulfillments": 3,
    "OrderDownloads.items": 3,  # one link per digital line
    "ReorderResult.skipped": 3,
    "AnalyticsMeta.models": 4,
    "AnalyticsModel.measures": 3,
    "AnalyticsModel.dimensions": 7,
    "Query.suggest": ByCount("limit", SUGGEST_DEFAULT, SUGGEST_MAX),
    "SearchResults.facets": 4,  # type, category, brand, status
    "SearchFacet.values": 10,
}
DEFAULT_LIST_SIZE = 10

# Lists whose documented limit is their own (schema coordinates), with the words it is told in.
LIST_LENGTHS: Mapping[str, tuple[int, str]] = {
    "BulkSetInventoryInput.updates": (MAX_BULK, f"At most {MAX_BULK} SKUs per request."),
    "CreateApiKeyInput.permissions": (MAX_PERMISSIONS, f"At most {MAX_PERMISSIONS} permissions."),
}


@dataclass(slots=True)
class Priced:
    """An operation's requested cost, and its lists over their length (path -> problem)."""

    cost: int = 0
    too_long: dict[str, str] = field(default_factory=dict)


def _unwrap(type_: Any) -> Any:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return type_


def _fields(type_: Any) -> Mapping[str, Any]:
    return getattr(type_, "fields", None) or {}


class Pricer:
    """Prices one operation. A selection set is priced once per (node, type, page size): a
    fragment spread a thousand times is walked once, so pricing stays linear in the document
    however it nests."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues,
        max_list_length: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.max_list_length = max_list_length
        self.too_long: dict[str, str] = {}
        self.priced: dict[tuple[int, str, int | None], int] = {}

    def operation(self, operation: OperationDefinitionNode) -> Priced:
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return Priced()
        return Priced(self.selection_set(operation.selection_set, root), self.too_long)

    def selection_set(
        self, selection_set: SelectionSetNode, parent: Any, page: int | None = None
    ) -> int:
        """What the selections cost on `parent`; `page` is its page size when it is a
        connection."""
        key = (id(selection_set), parent.name, page)
        if key not in self.priced:
            self.priced[key] = sum(
                self.selection(s, parent, page) for s in selection_set.selections
            )
        return self.priced[key]

    def selection(self, selection: Any, parent: Any, page: int | None) -> int:
        if not self.included(selection):
            return 0
        if isinstance(selection, FieldNode):
            return self.field(selection, parent, page)
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            on = self.schema.get_type(condition.name.value) if condition else None
            return self.selection_set(selection.selection_set, on or parent, page)
        if isinstance(selection, FragmentSpreadNode):
            fragment = self.fragments.get(selection.name.value)
            if fragment is None:
                return 0
            on = self.schema.get_type(fragment.type_condition.name.value)
            return self.selection_set(fragment.selection_set, on or parent, page)
        return 0

    def included(self, node: Any) -> bool:
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip and skip.get("if") is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include and include.get("if") is False)

    def field(self, node: FieldNode, parent: Any, page: int | None) -> int:
        name = node.name.value
        definition = _fields(parent).get(name)
        if name.startswith("__") or definition is None:
            return 0
        coordinate = f"{parent.name}.{name}"
        try:
            arguments = get_argument_values(definition, node, self.variables)
        except GraphQLError:
            arguments = {}
        self.check_lengths(definition, coordinate, arguments)
        extra = MUTATION_COST if parent is self.schema.mutation_type else 0
        extra += FIELD_COSTS.get(coordinate, 0)
        named = get_named_type(definition.type)
        if is_leaf_type(named) or node.selection_set is None:
            return extra
        if "pageInfo" in _fields(named) and (
            "limit" in definition.args or "first" in definition.args
        ):
            size = self.page_size(coordinate, arguments)
            return extra + CONNECTION_COST + self.selection_set(node.selection_set, named, size)
        children = OBJECT_COST + self.selection_set(node.selection_set, named)
        if page is not None and name in CONNECTION_ITEMS:
            return extra + page * children
        if isinstance(_unwrap(definition.type), GraphQLList):
            return extra + self.list_size(coordinate, arguments) * children
        return extra + children

    @staticmethod
    def page_size(coordinate: str, arguments: dict[str, Any]) -> int:
        """A connection's page: `first` or `limit`, capped as the resolvers cap it."""
        asked = arguments.get("first")
        if asked is None:
            asked = arguments.get("limit")
        if asked is None:
            asked = DEFAULT_PAGE_SIZES.get(coordinate, DEFAULT_LIMIT)
        return max(0, min(asked, MAX_LIMIT))

    @staticmethod
    def list_size(coordinate: str, arguments: dict[str, Any]) -> int:
        sized_by = LIST_SIZES.get(coordinate, DEFAULT_LIST_SIZE)
        if isinstance(sized_by, int):
            return sized_by
        if isinstance(sized_by, ByCount):
            asked = arguments.get(sized_by.argument)
            count = sized_by.default if asked is None else asked
            return max(0, min(count, sized_by.maximum))
        value: Any = arguments
        for part in sized_by.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return len(value) if isinstance(value, list) else 0

    def check_lengths(self, definition: Any, coordinate: str, arguments: dict[str, Any]) -> None:
        for name, argument in definition.args.items():
            if name in arguments:
                self.check_value(arguments[name], argument.type, f"{coordinate}({name}:)", name)

    def check_value(self, value: Any, type_: GraphQLInputType, coordinate: str, path: str) -> None:
        type_ = _unwrap(type_)
        if value is None:
            return
        if isinstance(type_, GraphQLList) and isinstance(value, list):
            limit, message = LIST_LENGTHS.get(coordinate, (self.max_list_length, ""))
            if len(value) > limit:
                self.too_long.setdefault(
                    path, message or f"At most {limit} items ({len(value)} given)."
                )
                return
            for index, item in enumerate(value):
                self.check_value(item, type_.of_type, coordinate, f"{path}.{index}")
        elif isinstance(type_, GraphQLInputObjectType) and isinstance(value, dict):
            for name, input_field in type_.fields.items():
                key = input_field.out_name or name
                if key in value:
                    self.check_value(
                        value[key], input_field.type, f"{type_.name}.{name}", f"{path}.{name}"
                    )


def price(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    raw_variables: dict[str, Any] | None,
    *,
    max_list_length: int,
) -> Priced | None:
    """The operation's cost and its overlong lists; None when it cannot run as sent (no such
    operation, or variables that do not coerce: execution refuses it before any resolver)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    variables = get_variable_values(
        schema, operation.variable_definitions or (), raw_variables or {}, max_errors=1
    )
    if isinstance(variables, list):
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return Pricer(schema, fragments, variables, max_list_length).operation(operation)


class PriceCache:
    """Prices by (document, operation, variables), most recent first: a client repeats the
    same few operations, and pricing one costs a few hundred microseconds. Operations whose
    variables take more than `MAX_KEY_BYTES` as JSON are priced afresh each time, so that the
    cache stays small."""

    MAX_KEY_BYTES = 2048

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.prices: OrderedDict[tuple[str, str | None, bytes], Priced | None] = OrderedDict()

    def price(self, context: Any, max_list_length: int) -> Priced | None:
        key = self.key(context)
        if key is not None and key in self.prices:
            self.prices.move_to_end(key)
            return self.prices[key]
        priced = price(
            context.schema._schema,
            context.graphql_document,
            context.operation_name,
            context.variables,
            max_list_length=max_list_length,
        )
        if key is not None:
            self.prices[key] = priced
            if len(self.prices) > self.maxsize:
                self.prices.popitem(last=False)
        return priced

    def key(self, context: Any) -> tuple[str, str | None, bytes] | None:
        if context.query is None:
            return None
        try:
            variables = orjson.dumps(context.variables or {}, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            return None
        if len(variables) > self.MAX_KEY_BYTES:
            return None
        return context.query, context.operation_name, variables


class CostAnalysis(SchemaExtension):
    """Prices each operation once it has validated, and refuses it there if it must."""

    def __init__(self, *, max_cost: int, max_list_length: int, cache: PriceCache) -> None:
        self.max_cost = max_cost
        self.max_list_length = max_list_length
        self.cache = cache
        self.cost = 0
        self.status: dict[str, float] | None = None
        self.read_budget = True

    async def on_validate(self) -> AsyncIterator[None]:
        # Runs after ValidationCache (earlier in the list), which has validated the document.
        context = self.execution_context
        if not context.pre_execution_errors and context.graphql_document is not None:
            errors = await self.refusals()
            if errors:
                context.pre_execution_errors = errors
        yield

    async def refusals(self) -> list[GraphQLError]:
        context = self.execution_context
        priced = self.cache.price(context, self.max_list_length)
        if priced is None:
            return []
        self.cost = priced.cost
        errors: list[GraphQLError] = []
        if priced.too_long:
            problems = "; ".join(f"{path}: {text}" for path, text in priced.too_long.items())
            errors.append(_error(ValidationFailed(problems, details=priced.too_long)))
        if not self.priced:
            return errors
        if priced.cost > self.max_cost:
            errors.append(
                _error(
                    QueryTooCostly(
                        f"The query costs {priced.cost} points; at most {self.max_cost} are "
                        "allowed. Ask for smaller pages (first/limit) or fewer fields.",
                        details={"requestedQueryCost": priced.cost, "maxCost": self.max_cost},
                    )
                )
            )
        if errors or (budget := self.budget) is None:
            return errors
        balance = await budget.take(self.principal, priced.cost)
        self.read_budget = False
        if balance is None:
            return []
        self.status = balance.status
        if balance.taken:
            return []
        wait = balance.retry_after(priced.cost)
        response = getattr(context.context, "response", None)
        if isinstance(response, Response):
            response.headers["Retry-After"] = str(wait)
        message = (
            f"The query costs {priced.cost} points and {int(balance.available)} are available "
            f"(restoring {balance.restore_rate:g} a second); retry in {wait} s."
        )
        return [_error(Throttled(message, details={"retryAfter": wait}))]

    @property
    def priced(self) -> bool:
        return getattr(self.execution_context.context, "priced", True)

    @property
    def budget(self) -> Any:
        return getattr(self.execution_context.context, "cost_budget", None)

    @property
    def principal(self) -> str:
        context = self.execution_context.context
        request = getattr(context, "request", None)
        address = address_key(request.scope if request is not None else {})
        return principal_key(getattr(context, "actor", None), address)

    async def get_results(self) -> dict[str, Any]:
        if not self.priced:
            return {}
        if self.read_budget and (budget := self.budget) is not None:
            # Not charged (it did not parse or validate, or was refused before the budget):
            # the bucket as it stands.
            self.read_budget = False
            balance = await budget.take(self.principal, 0)
            self.status = balance.status if balance is not None else None
        cost: dict[str, Any] = {"requestedQueryCost": self.cost}
        if self.status is not None:
            cost["throttleStatus"] = self.status
        return {"cost": cost}


def _error(error: Exception) -> GraphQLError:
    return GraphQLError(str(error), original_error=error)


def cost_analysis(
    *, max_cost: int, max_list_length: int, cache_size: int
) -> Callable[[], CostAnalysis]:
    """The extension's factory: one instance per operation, one price cache for them all."""
    cache = PriceCache(cache_size)
    return lambda: CostAnalysis(max_cost=max_cost, max_list_length=max_list_length, cache=cache)
