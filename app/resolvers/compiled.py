"""Compiled completion: graphql-core's executor, with plain subtrees completed by a plan.

graphql-core completes every field the same general way: a `Path`, a `GraphQLResolveInfo`,
the resolver through the middleware, then `complete_value` walking the type (about 3 us a
field here). Most of a listing's fields need none of that: they read an attribute of the
object above them (Strawberry's default resolver) and serialise a scalar. `CompiledExecutor`
keeps graphql-core's executor and, per operation of a cached document, builds and caches a
plan for those fields:

- a field is *plain* when Strawberry resolves it with its default resolver (no resolver of
  ours, no permission classes, no field extensions) or it is `__typename`; or when it is a
  *simple resolver field* (`_resolver_reader`): a sync resolver of ours with no permission
  classes, field extensions or `info`, whose arguments are scalars or enums written as
  literals. Its arguments are coerced and converted once per plan and its function called
  with the source, as Strawberry's per-field path (an `Info`, argument conversion, awaitable
  checks) would call it;
- a type's completion is *planned* when it is a scalar or enum, a list of planned items, or
  an object type (not an interface or union) whose selection, with no directives left in
  it, holds only plain fields of planned types. Its plan reads each attribute, serialises
  leaves with the type's own `coerce_output_value`, and calls the type's `is_type_of` where
  it has one (Strawberry's own, which does not read its `info`).

Two places use the plans: `execute_fields` answers a selection's plain fields of planned
types itself and hands the others to graphql-core's `execute_field`; `complete_value`
completes a resolver's result with the plan of its type when there is one.

A plan only ever answers values that complete without an error. When anything is unusual (a
null in a non-null position, a value a scalar refuses, an awaitable, an exception as a
value, an iterable that is not a list or tuple, a missing attribute) it gives up, and the
field (the attribute read, for `execute_fields`; the resolver's result, for
`complete_value`) is completed again by graphql-core, which so reports the error, its path
and locations and the nulls it propagates exactly as it always does. Reading a plain
attribute twice is harmless: it is an attribute of an object already built; a simple
resolver is called again (a coroutine it answered is closed first, never awaited), which
takes resolvers of fields to be free of side effects, as the ones of queries are.

Operations run with middleware (a schema extension implementing `resolve`) are not planned:
middleware wraps every field's resolver, plain ones included. Mutations and subscriptions use
the plans below their root fields like queries (root mutation fields run serially through
graphql-core as always). Abstract types are completed by graphql-core, then the object type
they resolve to is planned like any other.

One assumption beyond graphql-core's: a value's class decides whether it is awaitable (an
object carrying its own `__await__` in its instance dictionary would be taken as plain; a
SQLAlchemy result row is plain, though it answers attribute lookups from its columns).
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import CoroutineType, GeneratorType
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLString,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.error import GraphQLError
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    GroupedFieldSet,
    collect_subfields,
)
from graphql.execution.values import get_argument_values
from graphql.language import ListValueNode, ObjectValueNode, ValueNode, VariableNode
from graphql.pyutils import Path, Undefined, gather_with_cancel
from sqlalchemy.engine import Row
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

# Operations whose plans are kept, most recent first (as many as the parse cache keeps).
PLAN_CACHE_SIZE = 1024

# A planned completion: the value, and the executor whose count of planned fields it adds to.
Completer = Callable[[Any, "CompiledExecutor"], Any]
# How a plain field reads its value from the object above it.
Reader = Callable[[Any], Any]
# A plain field in a plan: its response name, reader and completer.
Entry = tuple[str, Reader, Completer]


class GiveUp(Exception):
    """The plan cannot answer this value; graphql-core completes it instead."""


@dataclass(slots=True)
class Totals:
    """Fields completed by plans and plans given up, over the process's lifetime."""

    planned_fields: int = 0
    given_up: int = 0


TOTALS = Totals()

# Values whose class makes them plain: never awaitable, not an exception.
_NON_AWAITABLE = {type(None), bool, int, float, str, bytes, list, tuple, dict}
# A result row (the source of the types read from rows) answers an attribute lookup from its
# columns through `__getattr__`, and no column is named `__await__`: plain too, without the
# lookup that would fail (and build its error) for every row.
_plain_classes: set[type] = {*_NON_AWAITABLE, Row}
# Classes found not plain (one with a `__getattr__` of its own): asked once each.
_unplain_classes: set[type] = set()


def _plain_class(cls: type) -> bool:
    """Whether every instance of `cls` is a plain value to graphql-core: not awaitable (no
    coroutine, generator or `__await__`, no `__getattr__` that could make one) and not an
    exception, which graphql-core raises when a resolver returns one."""
    if cls in _plain_classes:
        return True
    if cls in _unplain_classes:
        return False
    # What an instance's attribute lookup sees: its class's MRO (not the metaclass's).
    defined = {name for klass in cls.__mro__ for name in vars(klass)}
    plain = (
        not issubclass(cls, (BaseException, CoroutineType, GeneratorType))
        and "__await__" not in defined
        and "__getattr__" not in defined
        and cls.__getattribute__ is object.__getattribute__
    )
    (_plain_classes if plain else _unplain_classes).add(cls)
    return plain


def _unusual(value: Any, executor: CompiledExecutor) -> bool:
    """A value graphql-core would await or raise: the plan gives it up."""
    if _plain_class(type(value)):
        return False
    return isinstance(value, Exception) or bool(executor.is_awaitable(value))


def _leaf(coerce: Callable[[Any], Any], nullable: bool, same: type | None) -> Completer:
    """A scalar or enum; `same` is the class the type answers as it is (str for String)."""

    def complete(value: Any, executor: CompiledExecutor) -> Any:
        if value is None or value is Undefined:
            if nullable:
                return None
            raise GiveUp
        cls = type(value)
        if cls is same:
            return value
        if cls not in _plain_classes and _unusual(value, executor):
            raise GiveUp
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise GiveUp
        return coerced

    return complete


def _list(item: Completer, nullable: bool) -> Completer:
    def complete(value: Any, executor: CompiledExecutor) -> Any:
        if value is None or value is Undefined:
            if nullable:
                return None
            raise GiveUp
        # Anything else (a generator, an async iterable, a mapping) is graphql-core's: it
        # must not be consumed here first.
        if type(value) is not list and type(value) is not tuple:
            raise GiveUp
        return [item(each, executor) for each in value]

    return complete


def _object(
    entries: tuple[Entry, ...],
    nullable: bool,
    is_type_of: Callable[[Any, Any], Any] | None,
) -> Completer:
    count = len(entries)

    def complete(value: Any, executor: CompiledExecutor) -> Any:
        if value is None or value is Undefined:
            if nullable:
                return None
            raise GiveUp
        if type(value) not in _plain_classes and _unusual(value, executor):
            raise GiveUp
        # Strawberry's own is_type_of reads no `info` (a type's own is never planned).
        if is_type_of is not None and is_type_of(value, None) is not True:
            raise GiveUp
        executor.planned_fields += count
        return {name: finish(read(value), executor) for name, read, finish in entries}

    return complete


def _typename_reader(name: str) -> Reader:
    return lambda _source: name


def _same(value: Any, _executor: CompiledExecutor) -> Any:
    return value


# The built-in scalars that answer a value of exactly this class unchanged.
_SAME_CLASS: dict[Any, type] = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool}


def _reader(field: GraphQLField) -> Reader | None:
    """How a plain field reads its value: Strawberry's default resolver, or None when the
    field is not plain (a resolver, permission classes or field extensions)."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField):
        return None
    if definition.base_resolver is not None or definition.extensions:
        return None
    if not getattr(field.resolve, "_is_default", False):
        return None
    name = definition.python_name
    default = definition.default_resolver
    if default is getattr:
        return operator.attrgetter(name)
    return lambda source: default(source, name)


def _has_variable(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_has_variable(item) for item in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_has_variable(item.value) for item in value.fields)
    return False


def _resolver_reader(
    field: GraphQLField, node: FieldNode, executor: CompiledExecutor
) -> Reader | None:
    """How a *simple resolver field* reads its value: a sync resolver of ours (no permission
    classes, no field extensions, no `info`, no exception handler that could apply) whose
    arguments are scalars or enums written as literals. Its arguments are coerced (by
    graphql-core) and converted (by Strawberry) here, once per plan, and the resolver's own
    function is called with the source, as Strawberry would call it. None when the field is
    not one (it is then not planned).

    A resolver may still answer an awaitable (a loader's, when nothing was prefetched): the
    plan gives it up (a coroutine is closed first, never awaited) and graphql-core calls the
    resolver again. Resolvers of fields are so taken to be free of side effects, as those of
    queries are."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or type(definition).get_result is not (
        StrawberryField.get_result
    ):
        return None
    resolver = definition.base_resolver
    if resolver is None or definition.extensions or definition.is_async:
        return None
    if resolver.info_parameter is not None or not callable(resolver.wrapped_func):
        return None
    # Strawberry's own sync resolver wrapper (nothing put in its place), with no exception
    # handlers in the schema.
    if (
        getattr(field.resolve, "__qualname__", "")
        != "GraphQLCoreConverter.from_resolver.<locals>._resolver"
    ):
        return None
    strawberry_schema = getattr(executor.schema, "_strawberry_schema", None)
    if strawberry_schema is None or strawberry_schema.schema_converter._exception_handler_specs:
        return None
    for argument in field.args.values():
        if not is_leaf_type(
            argument.type.of_type if is_non_null_type(argument.type) else argument.type
        ):
            return None
    if any(_has_variable(argument.value) for argument in node.arguments or ()):
        return None
    try:
        coerced = get_argument_values(field, node, None)
    except GraphQLError:
        return None  # graphql-core reports it
    try:
        kwargs = convert_arguments(
            coerced,
            definition.arguments,
            scalar_registry=strawberry_schema.schema_converter.scalar_registry,
            config=strawberry_schema.config,
        )
    except Exception:
        return None  # Strawberry reports it, on graphql-core's path
    function = resolver.wrapped_func
    as_self = resolver.self_parameter is not None
    as_keywords = tuple(
        parameter.name
        for parameter in (resolver.parent_parameter, resolver.root_parameter)
        if parameter is not None
    )

    def read(source: Any) -> Any:
        call = {**kwargs, **dict.fromkeys(as_keywords, source)} if as_keywords else kwargs
        value = function(source, **call) if as_self else function(**call)
        if type(value) is CoroutineType:
            value.close()
            raise GiveUp
        return value

    return read


def _static(selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDetails]) -> bool:
    """Whether collecting this selection set's fields evaluates nothing: no directive on any
    selection (nor in the fragments it spreads), no fragment variables."""
    pending = [selection_set]
    seen: set[str] = set()
    while pending:
        for selection in pending.pop().selections:
            if selection.directives:
                return False
            if isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is None or name in seen:
                    continue
                if fragment.variable_signatures:
                    return False
                seen.add(name)
                pending.append(fragment.definition.selection_set)
    return True


class OperationPlans:
    """The plans of one operation of a cached document: per object type and selection, which
    fields are plain and how they complete. Keyed by the identity of the document's nodes,
    which this holds so that no other node can take their identity."""

    __slots__ = ("completers", "fragments", "levels", "operation")

    def __init__(
        self, operation: OperationDefinitionNode, fragments: dict[str, FragmentDetails]
    ) -> None:
        self.operation = operation
        self.fragments = fragments
        self.completers: dict[tuple[Any, ...], Completer | None] = {}
        self.levels: dict[tuple[Any, ...], tuple[Entry | None, ...] | None] = {}

    def level(
        self, parent: GraphQLObjectType, fields: GroupedFieldSet, executor: CompiledExecutor
    ) -> tuple[Entry | None, ...] | None:
        """For each field of a collected selection, in order, its entry when it is plain and
        planned (else None); None when none is."""
        key = (parent, *(id(details.node) for group in fields.values() for details in group))
        if key in self.levels:
            return self.levels[key]
        entries = tuple(self.entry(parent, name, group, executor) for name, group in fields.items())
        plan = entries if any(entry is not None for entry in entries) else None
        self.levels[key] = plan
        return plan

    def completer(
        self, type_: GraphQLOutputType, group: FieldDetailsList, executor: CompiledExecutor
    ) -> Completer | None:
        """The plan completing a value of `type_` for these field nodes, if it has one."""
        key = (type_, *(id(details.node) for details in group))
        if key in self.completers:
            return self.completers[key]
        completer = self.compile(type_, group, executor, nullable=True)
        self.completers[key] = completer
        return completer

    def compile(
        self,
        type_: Any,
        group: FieldDetailsList,
        executor: CompiledExecutor,
        *,
        nullable: bool,
    ) -> Completer | None:
        if is_non_null_type(type_):
            return self.compile(type_.of_type, group, executor, nullable=False)
        if is_list_type(type_):
            item = self.completer(type_.of_type, group, executor)
            return _list(item, nullable) if item is not None else None
        if is_leaf_type(type_):
            return _leaf(type_.coerce_output_value, nullable, _SAME_CLASS.get(type_))
        if is_object_type(type_):
            entries = self.entries(type_, group, executor)
            if entries is None:
                return None
            return _object(entries, nullable, type_.is_type_of)
        return None  # an interface or union: graphql-core resolves its type

    def entries(
        self, type_: GraphQLObjectType, group: FieldDetailsList, executor: CompiledExecutor
    ) -> tuple[Entry, ...] | None:
        definition = (type_.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if not isinstance(definition, StrawberryObjectDefinition) or definition.is_type_of:
            return None  # not Strawberry's, or an is_type_of of our own that may read `info`
        for details in group:
            if details.fragment_variable_values is not None:
                return None
            selection_set = details.node.selection_set
            if selection_set is not None and not _static(selection_set, self.fragments):
                return None
        collected = collect_subfields(
            executor.schema,
            self.fragments,
            executor.variable_values,
            self.operation,
            type_,
            group,
            executor.hide_suggestions,
        )
        if collected.new_defer_usages:
            return None
        entries: list[Entry] = []
        for name, sub_group in collected.grouped_field_set.items():
            entry = self.entry(type_, name, sub_group, executor)
            if entry is None:
                return None
            entries.append(entry)
        return tuple(entries)

    def entry(
        self,
        parent: GraphQLObjectType,
        name: str,
        group: FieldDetailsList,
        executor: CompiledExecutor,
    ) -> Entry | None:
        field_name = group[0].node.name.value
        if field_name == "__typename":
            return name, _typename_reader(parent.name), _same
        field = parent.fields.get(field_name)
        if field is None or any(d.fragment_variable_values is not None for d in group):
            return None
        read = _reader(field) or _resolver_reader(field, group[0].node, executor)
        if read is None:
            return None
        complete = self.completer(field.type, group, executor)
        if complete is None:
            return None
        return name, read, complete


class PlanCache:
    """Plans by operation (the node of a parsed document), most recently used last."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.plans: OrderedDict[int, OperationPlans] = OrderedDict()

    def plans_for(
        self, operation: OperationDefinitionNode, fragments: dict[str, FragmentDetails]
    ) -> OperationPlans:
        key = id(operation)
        plans = self.plans.get(key)
        if plans is not None and plans.operation is operation:
            self.plans.move_to_end(key)
            return plans
        plans = OperationPlans(operation, fragments)
        self.plans[key] = plans
        if len(self.plans) > self.maxsize:
            self.plans.popitem(last=False)
        return plans


PLANS = PlanCache(PLAN_CACHE_SIZE)


class CompiledExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor (as Strawberry runs it), completing plain subtrees by plan."""

    planned_fields: int

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.planned_fields = 0
        middleware = self.middleware_manager
        self.plans: OperationPlans | None = (
            None
            if middleware is not None and middleware.middlewares
            else PLANS.plans_for(self.operation, self.fragments)
        )
        # This request's plans by the identity of graphql-core's collected field sets, which
        # each value keeps alive (so that no other can take its identity meanwhile).
        self._levels: dict[int, tuple[GroupedFieldSet, tuple[Entry | None, ...] | None]] = {}
        self._completers: dict[tuple[Any, int], tuple[FieldDetailsList, Completer | None]] = {}

    def build_per_event_executor(self, payload: Any) -> Any:
        executor = super().build_per_event_executor(payload)
        assert isinstance(executor, CompiledExecutor)
        executor.planned_fields = 0  # each event's answer counts its own
        return executor

    def build_response(self, data: dict[str, Any] | None) -> Any:
        TOTALS.planned_fields += self.planned_fields
        return super().build_response(data)

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        plan = self._level(parent_type, grouped_field_set)
        if plan is None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        # graphql-core's execute_fields, with plain fields answered by their plan.
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for entry, (response_name, field_details_list) in zip(
                plan, grouped_field_set.items(), strict=True
            ):
                if entry is not None:
                    planned = self.planned_fields
                    try:
                        results[response_name] = entry[2](entry[1](source_value), self)
                    except Exception:
                        self.planned_fields = planned
                        TOTALS.given_up += 1
                    else:
                        self.planned_fields += 1
                        continue
                field_path = Path(path, response_name, parent_type.name)
                result = self.execute_field(
                    parent_type, source_value, field_details_list, field_path, position_context
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise

        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_with_cancel(*(results[f] for f in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        complete = self._completer(return_type, field_details_list)
        if complete is not None:
            planned = self.planned_fields
            try:
                return complete(result, self)
            except Exception:
                self.planned_fields = planned
                TOTALS.given_up += 1
        return super().complete_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _level(
        self, parent: GraphQLObjectType, fields: GroupedFieldSet
    ) -> tuple[Entry | None, ...] | None:
        if self.plans is None:
            return None
        known = self._levels.get(id(fields))
        if known is None:
            known = self._levels[id(fields)] = (fields, self.plans.level(parent, fields, self))
        return known[1]

    def _completer(self, type_: GraphQLOutputType, group: FieldDetailsList) -> Completer | None:
        if self.plans is None:
            return None
        key = (type_, id(group))
        known = self._completers.get(key)
        if known is None:
            known = self._completers[key] = (group, self.plans.completer(type_, group, self))
        return known[1]
