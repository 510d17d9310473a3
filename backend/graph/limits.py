"""What one request may ask for: document size, query cost, rate limits.

Checked in this order, each before any resolver runs:

1. **Size** (before validation, whose overlap check is quadratic in repeated
   fields): at most GRAPHQL_MAX_TOKENS tokens (the parser stops there), at
   most GRAPHQL_MAX_FIELDS fields with fragments expanded, at most
   GRAPHQL_MAX_ALIASES aliases, and at most one of each expensive root
   mutation (each is a password hash, an upload, …).
2. **Cost** (after validation, with the variables), on the model of GitHub's
   and Shopify's APIs: a field that returns an object costs 1, plus what is
   below it times its `first` (or that argument's default) when it has one;
   scalars cost nothing; a root mutation field costs MUTATION_COST more.
   Aliases and fragments count as what they expand to. Over GRAPHQL_MAX_COST:
   QUERY_TOO_COMPLEX with `extensions.cost {requested maximum}`.
3. **Rate limits** (backend/ratelimit.py): the cost is taken from the
   account's bucket (the client IP's when anonymous), and each root mutation
   field from the account's write bucket. Over: RATE_LIMITED, `retryAfter`.

Every response carries `extensions.cost {requested maximum}`.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from typing import Any

from django.conf import settings
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    get_named_type,
    is_composite_type,
    value_from_ast,
)
from graphql.execution.values import get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.extensions.validation_cache import _get_validate_cache

from backend import metrics, ratelimit
from backend.errors import QueryTooComplex, RateLimited
from backend.graph.pagination import MAX_PAGE_SIZE

MUTATION_COST = 10
# Root mutations of which one request may hold at most one each.
EXPENSIVE_MUTATIONS = frozenset({"signUp", "logIn", "uploadPhoto"})
VALIDATION_CACHE_SIZE = 512


def refusal(error: Exception) -> GraphQLError:
    return GraphQLError(str(error), original_error=error)


# ---------------------------------------------------------------- size


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def expanded_field_count(document: DocumentNode, stop_at: int) -> int:
    """Fields of the document with every fragment spread expanded (a fragment's
    count is computed once, so nested spreads cannot blow this up); stops
    counting past `stop_at`. Cyclic spreads count nothing (validation refuses
    them afterwards)."""
    fragments = _fragments(document)
    memo: dict[str, int] = {}
    active: set[str] = set()

    def of_set(selection_set: SelectionSetNode | None) -> int:
        total = 0
        for sel in selection_set.selections if selection_set else ():
            if isinstance(sel, FieldNode):
                total += 1 + of_set(sel.selection_set)
            elif isinstance(sel, InlineFragmentNode):
                total += of_set(sel.selection_set)
            elif isinstance(sel, FragmentSpreadNode):
                total += of_fragment(sel.name.value)
            if total > stop_at:
                return total
        return total

    def of_fragment(name: str) -> int:
        if name in memo:
            return memo[name]
        if name in active or name not in fragments:
            return 0
        active.add(name)
        memo[name] = of_set(fragments[name].selection_set)
        active.discard(name)
        return memo[name]

    total = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            total += of_set(definition.selection_set)
        if total > stop_at:
            break
    return total


def alias_count(document: DocumentNode) -> int:
    count = 0

    def walk(selection_set: SelectionSetNode | None) -> None:
        nonlocal count
        for sel in selection_set.selections if selection_set else ():
            if isinstance(sel, FieldNode):
                count += sel.alias is not None
                walk(sel.selection_set)
            elif isinstance(sel, InlineFragmentNode):
                walk(sel.selection_set)

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            walk(definition.selection_set)
    return count


def repeated_expensive_mutations(document: DocumentNode) -> list[str]:
    seen: dict[str, int] = {}
    for definition in document.definitions:
        if (
            isinstance(definition, OperationDefinitionNode)
            and definition.operation == OperationType.MUTATION
        ):
            for sel in definition.selection_set.selections:
                if isinstance(sel, FieldNode) and sel.name.value in EXPENSIVE_MUTATIONS:
                    seen[sel.name.value] = seen.get(sel.name.value, 0) + 1
    return sorted(name for name, n in seen.items() if n > 1)


def check_size(document: DocumentNode) -> None:
    """Raises QueryTooComplex for a document too big to validate or run."""
    fields = expanded_field_count(document, stop_at=settings.GRAPHQL_MAX_FIELDS)
    if fields > settings.GRAPHQL_MAX_FIELDS:
        raise QueryTooComplex(
            f"the document has more than {settings.GRAPHQL_MAX_FIELDS} fields (fragments expanded)"
        )
    aliases = alias_count(document)
    if aliases > settings.GRAPHQL_MAX_ALIASES:
        raise QueryTooComplex(
            f"the document has {aliases} aliases; at most {settings.GRAPHQL_MAX_ALIASES}"
        )
    repeated = repeated_expensive_mutations(document)
    if repeated:
        raise QueryTooComplex(f"at most one {', '.join(repeated)} per request")


# ---------------------------------------------------------------- cost


def select_operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def _multiplier(node: FieldNode, field: GraphQLField, variables: dict[str, Any]) -> int:
    arg = field.args.get("first")
    if arg is None:
        return 1
    value: Any = Undefined
    for given in node.arguments or ():
        if given.name.value == "first":
            value = value_from_ast(given.value, arg.type, variables)
    if value is Undefined or value is None:
        value = arg.default_value
    if not isinstance(value, int):
        return MAX_PAGE_SIZE  # not known before execution: the most a page can be
    # A `first` past the page limit is refused by its resolver (BAD_USER_INPUT).
    return min(max(0, value), MAX_PAGE_SIZE)


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any] | None,
) -> int:
    fragments = _fragments(document)
    values = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    # With their defaults; variables that do not coerce (a list of errors)
    # fail execution anyway, so price them as given.
    coerced = getattr(values, "coerced", values)
    variables = coerced if isinstance(coerced, dict) else (variables or {})

    def of_set(parent: GraphQLNamedType | None, selection_set: SelectionSetNode | None) -> int:
        total = 0
        for sel in selection_set.selections if selection_set else ():
            if isinstance(sel, FieldNode):
                fields = getattr(parent, "fields", {})
                field = fields.get(sel.name.value)
                if field is None:  # __typename, introspection: priced as one object
                    total += 1 if sel.selection_set else 0
                    continue
                named = get_named_type(field.type)
                if not is_composite_type(named):
                    continue
                below = of_set(named, sel.selection_set)
                total += 1 + _multiplier(sel, field, variables) * below
            elif isinstance(sel, InlineFragmentNode):
                typed = sel.type_condition
                total += of_set(
                    schema.get_type(typed.name.value) if typed else parent, sel.selection_set
                )
            elif isinstance(sel, FragmentSpreadNode) and sel.name.value in fragments:
                fragment = fragments[sel.name.value]
                total += of_set(
                    schema.get_type(fragment.type_condition.name.value), fragment.selection_set
                )
        return total

    root = schema.get_root_type(operation.operation)
    cost = of_set(root, operation.selection_set)
    if operation.operation == OperationType.MUTATION:
        cost += MUTATION_COST * len(operation.selection_set.selections)
    return cost


# ---------------------------------------------------------------- the extension


class RequestLimits(SchemaExtension):
    """Size before validation (then the shared validation cache), cost and
    rate limits before execution; the cost into every response."""

    def __init__(self) -> None:
        self.cost: int | None = None
        self.validate = _get_validate_cache(VALIDATION_CACHE_SIZE)

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        assert ctx.graphql_document is not None
        try:
            check_size(ctx.graphql_document)
        except QueryTooComplex as exc:
            ctx.pre_execution_errors = [refusal(exc)]
        else:
            ctx.pre_execution_errors = self.validate(
                ctx.schema._schema, ctx.graphql_document, ctx.validation_rules
            )
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        assert ctx.graphql_document is not None
        operation = select_operation(ctx.graphql_document, ctx.operation_name)
        if operation is not None:
            self.cost = query_cost(
                ctx.schema._schema, ctx.graphql_document, operation, ctx.variables
            )
            metrics.GRAPHQL_COST.observe(self.cost)
            try:
                await self._check(operation, self.cost)
            except (QueryTooComplex, RateLimited) as exc:
                ctx.result = ExecutionResult(data=None, errors=[refusal(exc)])
        yield

    async def _check(self, operation: OperationDefinitionNode, cost: int) -> None:
        maximum = settings.GRAPHQL_MAX_COST
        if cost > maximum:
            raise QueryTooComplex(
                f"the query costs {cost}; at most {maximum} (lower `first` or ask for less)",
                cost={"requested": cost, "maximum": maximum},
            )
        context = self.execution_context.context
        viewer_id = getattr(context, "viewer_id", None)
        client_ip = getattr(context, "client_ip", None) or "unknown"
        if viewer_id is not None:
            takes = [ratelimit.Take(limit("cost"), f"user:{viewer_id}", cost)]
            if operation.operation == OperationType.MUTATION:
                writes = len(operation.selection_set.selections)
                takes.append(ratelimit.Take(limit("writes"), f"user:{viewer_id}", writes))
        else:
            takes = [ratelimit.Take(limit("cost_anonymous"), f"ip:{client_ip}", cost)]
        # A request that costs nothing takes nothing: no round trip for it.
        await check_rate(*(t for t in takes if t.cost > 0))

    def get_results(self) -> dict[str, Any]:
        if self.cost is None:
            return {}
        return {"cost": {"requested": self.cost, "maximum": settings.GRAPHQL_MAX_COST}}


@functools.lru_cache(maxsize=64)
def _parsed(name: str, spec: str) -> ratelimit.Limit:
    return ratelimit.Limit.parse(name, spec)


async def check_rate(*takes: ratelimit.Take) -> None:
    """Raise RATE_LIMITED unless every bucket allows it (no call for no buckets)."""
    refused = await ratelimit.take(*takes) if takes else None
    if refused is not None:
        raise RateLimited(
            f"too many requests ({refused.limit}); try again in {refused.retry_after} s",
            retry_after=refused.retry_after,
        )


def limit(name: str) -> ratelimit.Limit:
    """The configured limit `name` (settings.RATE_LIMITS)."""
    return _parsed(name, settings.RATE_LIMITS[name])


# A malformed limit fails at startup, not on the first request that needs it.
for _name in settings.RATE_LIMIT_NAMES:
    limit(_name)
    # Present from the start (at 0), so rate() sees a limit's first refusal.
    metrics.RATE_LIMITED.labels(_name)
