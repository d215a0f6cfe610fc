"""The policy library as data: policies, their conditions and benefit formulas.

No `eval`: the YAML composes a small fixed vocabulary that `policies.loader` parses into the
frozen dataclasses of this module and `policies.interpreter` evaluates.

Conditions (a tree):
  {all: [...]} {any: [...]} {not: ..., label: ...}      each may carry `label: {zh, en}`
  {fact: NAME, op: OP, value: V, label?: {zh, en}, cite?: "verbatim words of the clause"}
     OP by fact type: bool ==, !=;  money/int/decimal/date ==, !=, <, <=, >, >=;
     enum ==, !=, in, not_in;  list contains_any, contains_all, contains_none;  region within.
     For numbers V may be an expression (below), e.g. revenue_2023 > 1.2 × revenue_2022.
Expressions (for amounts and comparisons), evaluated exactly with Decimal:
  {yuan: 5000000}  {rate: "0.25"}  {fact: NAME}  {mul: [e, ...]}
  {min: [{term: ID, label: {zh, en}, cite?: "...", value: e}, ...]}   the binding term is reported
  {rate_by: ENUM_FACT, rates: {value: "0.30", ...}}
  {if: CONDITION, then: e, else: e, then_note?: {zh, en}, else_note?: {zh, en}}
  {coalesce: [e, ...]}   the first that can be computed
Benefits:
  {kind: formula, expr: e, period, review?, description}  amount = floor(e) yuan
  {kind: up_to, max: N, period, review?, description}      amount = N (an upper estimate)
  {kind: range, min: N, max: M, ...}                       amount = M, amount_min = N
  {kind: none, reason: {zh, en}, description}             the document states no amount
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Iterable, Mapping, Union

from policies.facts import FactSpec
from policies.text import Text

CHAIN_CODES = (
    "ai",
    "integrated_circuits",
    "new_energy_vehicles",
    "machine_tools",
    "pharma",
    "medical_devices",
    "industrial_software",
    "servers",
    "industrial_robots",
    "new_materials",
)


class RuleError(ValueError):
    """The policy data is malformed; the message starts with where (e.g. `policies.compute_voucher.conditions`)."""


# -- conditions ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Compare:
    fact: str
    op: str
    value: Any  # a literal already typed like the fact, or an Expr
    label: Text | None = None
    cite: str | None = None


@dataclass(frozen=True)
class AllOf:
    items: tuple["Condition", ...]
    label: Text | None = None


@dataclass(frozen=True)
class AnyOf:
    items: tuple["Condition", ...]
    label: Text | None = None


@dataclass(frozen=True)
class NotOf:
    item: "Condition"
    label: Text


Condition = Union[Compare, AllOf, AnyOf, NotOf]


# -- expressions --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Yuan:
    value: Decimal


@dataclass(frozen=True)
class Rate:
    value: Decimal


@dataclass(frozen=True)
class FactRef:
    name: str


@dataclass(frozen=True)
class Mul:
    items: tuple["Expr", ...]


@dataclass(frozen=True)
class Term:
    id: str
    label: Text
    value: "Expr"
    cite: str | None = None


@dataclass(frozen=True)
class Min:
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class RateBy:
    fact: str
    rates: tuple[tuple[str, Decimal], ...]

    def rate(self, value: str) -> Decimal:
        return dict(self.rates)[value]


@dataclass(frozen=True)
class IfElse:
    cond: Condition
    then: "Expr"
    otherwise: "Expr"
    then_note: Text | None = None
    else_note: Text | None = None


@dataclass(frozen=True)
class Coalesce:
    items: tuple["Expr", ...]


Expr = Union[Yuan, Rate, FactRef, Mul, Min, RateBy, IfElse, Coalesce]
EXPR_TYPES = (Yuan, Rate, FactRef, Mul, Min, RateBy, IfElse, Coalesce)


# -- benefits and policies ----------------------------------------------------------------------

class BenefitKind(StrEnum):
    FORMULA = "formula"
    UP_TO = "up_to"
    RANGE = "range"
    NONE = "none"


class Period(StrEnum):
    PER_YEAR = "per_year"
    ONE_OFF = "one_off"
    PER_PROJECT = "per_project"
    PER_AWARD = "per_award"
    NOT_APPLICABLE = "not_applicable"


PERIOD_TEXT = {
    Period.PER_YEAR: Text("每年", "per year"),
    Period.ONE_OFF: Text("一次性", "one-off"),
    Period.PER_PROJECT: Text("每个项目", "per project"),
    Period.PER_AWARD: Text("每次评选", "per selection round"),
    Period.NOT_APPLICABLE: Text("不适用", "n/a"),
}


@dataclass(frozen=True)
class Benefit:
    kind: BenefitKind
    description: Text  # the formula in words, for the docs and the page
    period: Period = Period.NOT_APPLICABLE
    expr: Expr | None = None
    maximum: int | None = None
    minimum: int | None = None
    review: bool = False  # 择优评审: the amount is an upper estimate, review decides
    reason: Text | None = None  # kind none: why there is no amount
    cite: str | None = None


@dataclass(frozen=True)
class Material:
    text: Text
    when: Condition | None = None
    inferred: bool = False  # implied by the clause, not listed by the document


@dataclass(frozen=True)
class Window:
    """Application window: the enterprise deadline and, where given, the district-office deadline."""

    enterprise_deadline: dt.date | None
    district_deadline: dt.date | None = None
    cite: str | None = None


@dataclass(frozen=True)
class SourceDocument:
    id: str
    title: Text
    issuer: Text
    file: str
    note: Text | None = None


@dataclass(frozen=True)
class ExclusiveGroup:
    """Clauses that overlap: 从优、就高、不重复 — the best applies once, the others are set aside."""

    id: str
    label: Text
    basis: Text
    cite: str | None = None
    # When the members overlap only for the same subject (e.g. the same project): the condition
    # saying so. Unknown → overlap assumed (no double counting) and the fact is asked for.
    when: "Condition | None" = None
    facts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    id: str
    title: Text
    summary: Text
    source: SourceDocument
    issuer: Text
    clause: Text  # the label, e.g. 第(三)条
    clause_text: str  # verbatim from the source document
    related_texts: tuple[str, ...]  # further verbatim passages (validity clause, common conditions)
    valid_from: dt.date | None
    valid_until: dt.date | None
    responsible_unit: Text
    contact: str | None
    chains: tuple[str, ...]  # empty: not limited to a chain
    regions: tuple[str, ...]
    window: Window | None
    materials: tuple[Material, ...]
    facts: tuple[str, ...]  # needed to decide eligibility and amount
    optional_facts: tuple[str, ...]  # refine prerequisites and materials; never block
    conditions: Condition | None
    prerequisites: tuple[Condition, ...]  # checked when the facts are given, else listed to confirm
    benefit: Benefit
    exclusive_group: str | None
    notes: tuple[Text, ...]
    data: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)


@dataclass(frozen=True)
class Library:
    facts: Mapping[str, FactSpec]
    sources: Mapping[str, SourceDocument]
    groups: Mapping[str, ExclusiveGroup]
    policies: tuple[Policy, ...]

    def policy(self, policy_id: str) -> Policy:
        for policy in self.policies:
            if policy.id == policy_id:
                return policy
        raise KeyError(policy_id)

    def specs(self, names: Iterable[str]) -> tuple[FactSpec, ...]:
        return tuple(self.facts[name] for name in names)

    def group_members(self, group_id: str) -> tuple[Policy, ...]:
        return tuple(p for p in self.policies if p.exclusive_group == group_id)


def condition_facts(node: Condition | None) -> set[str]:
    if node is None:
        return set()
    if isinstance(node, Compare):
        out = {node.fact}
        if isinstance(node.value, EXPR_TYPES):
            out |= expr_facts(node.value)
        return out
    if isinstance(node, (AllOf, AnyOf)):
        return set().union(*(condition_facts(c) for c in node.items))
    return condition_facts(node.item)


def expr_facts(node: Expr | None) -> set[str]:
    if node is None or isinstance(node, (Yuan, Rate)):
        return set()
    if isinstance(node, FactRef):
        return {node.name}
    if isinstance(node, RateBy):
        return {node.fact}
    if isinstance(node, (Mul, Coalesce)):
        return set().union(*(expr_facts(e) for e in node.items))
    if isinstance(node, Min):
        return set().union(*(expr_facts(t.value) for t in node.terms))
    return condition_facts(node.cond) | expr_facts(node.then) | expr_facts(node.otherwise)


def cited_texts(policy: Policy) -> list[tuple[str, str]]:
    """Every passage the policy quotes, as (where, text): clause, related texts, cites."""
    out = [("clause_text", policy.clause_text)]
    out += [(f"related_texts[{i}]", t) for i, t in enumerate(policy.related_texts)]
    if policy.window and policy.window.cite:
        out.append(("window.cite", policy.window.cite))
    if policy.benefit.cite:
        out.append(("benefit.cite", policy.benefit.cite))

    def walk_cond(node: Condition | None, where: str) -> None:
        if node is None:
            return
        if isinstance(node, Compare):
            if node.cite:
                out.append((f"{where}.cite", node.cite))
            if isinstance(node.value, EXPR_TYPES):
                walk_expr(node.value, where)
        elif isinstance(node, (AllOf, AnyOf)):
            for i, c in enumerate(node.items):
                walk_cond(c, f"{where}[{i}]")
        else:
            walk_cond(node.item, f"{where}.not")

    def walk_expr(node: Expr | None, where: str) -> None:
        if isinstance(node, Min):
            for t in node.terms:
                if t.cite:
                    out.append((f"{where}.{t.id}.cite", t.cite))
                walk_expr(t.value, f"{where}.{t.id}")
        elif isinstance(node, (Mul, Coalesce)):
            for e in node.items:
                walk_expr(e, where)
        elif isinstance(node, IfElse):
            walk_cond(node.cond, f"{where}.if")
            walk_expr(node.then, f"{where}.then")
            walk_expr(node.otherwise, f"{where}.else")

    walk_cond(policy.conditions, "conditions")
    for i, c in enumerate(policy.prerequisites):
        walk_cond(c, f"prerequisites[{i}]")
    walk_expr(policy.benefit.expr, "benefit")
    return out


