"""The verbs of 政策对接: what an SME qualifies for, the facts it tells us, the organisers' views.

Services take the acting user explicitly, change data, flush and never commit. The evaluation date
defaults to today in Asia/Shanghai (`today()`, which tests replace). Policy editing is in
`policies.editing`; seeding and the run-time library in `policies.store`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

from sqlalchemy import or_, select

from core.errors import NotFound
from core.extensions import db
from core.regions import region_covers
from core.roles import Role
from market.enums import FinancingType
from market.models import Enterprise, Product
from policies import commands, ports
from policies.enterprise_facts import DERIVED_FACTS, facts_of, stored_facts, write_facts
from policies.evaluate import Evaluation, PolicyResult, SetAside, Status, evaluate, subsidised_loan
from policies.facts import FactError, FactSpec
from policies.models import Policy as PolicyRow
from policies.rules import ExclusiveGroup, Library, Policy
from policies.store import StoredLibrary, current_library

INTEREST_SUBSIDY = "compute_interest_subsidy"
# What 第(二)条 requires of the project; assumed when the enterprise has not said otherwise, so that a
# loan product can show what the subsidy would do ("若符合条件").
INTEREST_SUBSIDY_ASSUMPTIONS = {"in_government_layout": True, "project_total_investment": Decimal(50_000_000)}
RATE_PLACES = Decimal("0.0001")  # effective rates shown to 0.01 percentage point


def today() -> dt.date:
    """Today in Asia/Shanghai, where the policies' deadlines are set."""
    return commands.today()


class FactErrors(ValueError):
    """Answers that cannot be used, by fact name; nothing was stored."""

    def __init__(self, errors: Mapping[str, FactError]):
        super().__init__("; ".join(str(e) for e in errors.values()))
        self.errors = dict(errors)


# ---- 我的政策 ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FactSection:
    """Facts the form asks, under the policy (or the 从优 group) that needs them."""

    specs: tuple[FactSpec, ...]
    policy: Policy | None = None
    group: ExclusiveGroup | None = None


@dataclass(frozen=True)
class MyPolicies:
    enterprise: Enterprise
    library: Library
    evaluation: Evaluation
    facts: Mapping[str, Any]
    derived: frozenset[str]
    stored: Mapping[str, Any]
    problems: Mapping[str, str] = field(default_factory=dict)

    def with_status(self, status: str) -> tuple[PolicyResult, ...]:
        return self.evaluation.by_status(Status(status))

    @property
    def set_aside(self) -> dict[str, SetAside]:
        """loser policy id → why it is set aside."""
        return {s.policy_id: s for s in self.evaluation.set_aside}

    @property
    def displaced(self) -> dict[str, list[SetAside]]:
        """winner policy id → the overlapping policies it displaced."""
        out: dict[str, list[SetAside]] = {}
        for s in self.evaluation.set_aside:
            out.setdefault(s.in_favour_of, []).append(s)
        return out

    def policy(self, policy_id: str) -> Policy:
        return self.library.policy(policy_id)

    def missing_sections(self, policy_id: str | None = None) -> list[FactSection]:
        """The facts still missing, each once, under the first policy that needs it."""
        seen: set[str] = set()
        sections = []
        for result in self.evaluation.results:
            if policy_id is not None and result.policy.id != policy_id:
                continue
            specs = tuple(s for s in result.missing_facts if s.name not in seen and s.name not in self.derived)
            seen.update(s.name for s in specs)
            if specs:
                sections.append(FactSection(specs, policy=result.policy))
        for s in self.evaluation.set_aside:
            if not s.assumed or (policy_id is not None and policy_id not in (s.policy_id, s.in_favour_of)):
                continue
            specs = tuple(self.library.facts[f] for f in s.group.facts if f not in seen and f not in self.facts)
            seen.update(spec.name for spec in specs)
            if specs:
                sections.append(FactSection(specs, group=s.group))
        return sections

    def answered_section(self) -> FactSection:
        """The answers the SME gave (not the derived ones), to review and change."""
        specs = tuple(spec for name, spec in self.library.facts.items()
                      if name in self.stored and name not in self.derived)
        return FactSection(specs)


def own_enterprise(actor) -> Enterprise:
    enterprise = db.session.get(Enterprise, actor.enterprise_id) if actor.enterprise_id else None
    if enterprise is None:
        raise NotFound()
    return enterprise


def my_policies(actor, on: dt.date | None = None, stored_library: StoredLibrary | None = None) -> MyPolicies:
    """Every policy for the actor's enterprise: eligible, not eligible or needing information."""
    enterprise = own_enterprise(actor)
    stored_library = stored_library or current_library()
    library = stored_library.library
    stored = stored_facts([enterprise.id], library.facts)[enterprise.id]
    facts, derived = facts_of(enterprise, library.facts, stored)
    evaluation = evaluate(library, facts, on or today())
    return MyPolicies(enterprise, library, evaluation, facts, derived, stored, stored_library.problems)


def save_fact_answers(actor, answers: Mapping[str, Any], specs: Mapping[str, FactSpec]) -> int:
    """Check every answer (raw form values, None = no answer) and store them all, or none.

    Raises FactErrors naming each bad fact. Derived facts are not taken from the form."""
    enterprise = own_enterprise(actor)
    typed: dict[str, Any] = {}
    errors: dict[str, FactError] = {}
    for name, raw in answers.items():
        if name not in specs or name in DERIVED_FACTS:
            continue
        if raw is None:
            typed[name] = None
            continue
        try:
            typed[name] = specs[name].parse(raw)
        except FactError as error:
            errors[name] = error
    if errors:
        raise FactErrors(errors)
    return write_facts(actor, enterprise.id, typed, specs)


# ---- 政策对接: which of an event's SMEs qualify for what ------------------------------------------

@dataclass(frozen=True)
class EnterpriseEvaluation:
    enterprise: Enterprise
    evaluation: Evaluation

    def with_status(self, status: str) -> tuple[PolicyResult, ...]:
        return self.evaluation.by_status(Status(status))


@dataclass(frozen=True)
class PolicyTally:
    policy: Policy
    eligible: list[tuple[Enterprise, PolicyResult]]
    needs_information: list[tuple[Enterprise, PolicyResult]]


@dataclass(frozen=True)
class EventPolicies:
    event: Any
    library: Library
    rows: list[EnterpriseEvaluation]
    tallies: list[PolicyTally]
    on: dt.date


def event_policies(actor, event_id: int, on: dt.date | None = None) -> EventPolicies:
    """For an event within the actor's region: each registered SME × each policy, and per policy who
    qualifies (eligible) or might (needs information). 404 outside the actor's region."""
    event = ports.event_for(actor, event_id)
    on = on or today()
    library = current_library().library
    enterprises = ports.approved_enterprises(event)
    stored = stored_facts([e.id for e in enterprises], library.facts)
    rows = []
    for enterprise in enterprises:
        facts, _ = facts_of(enterprise, library.facts, stored[enterprise.id])
        rows.append(EnterpriseEvaluation(enterprise, evaluate(library, facts, on)))
    # Who qualifies for most comes first: the organiser's table reads top down.
    rows.sort(key=lambda row: (-len(row.with_status("eligible")), -len(row.with_status("needs_information"))))
    tallies = []
    for policy in library.policies:
        results = [(row.enterprise, row.evaluation.result(policy.id)) for row in rows]
        eligible = [(e, r) for e, r in results if r.status is Status.ELIGIBLE]
        unknown = [(e, r) for e, r in results if r.status is Status.NEEDS_INFORMATION]
        if eligible or unknown:
            tallies.append(PolicyTally(policy, eligible, unknown))
    return EventPolicies(event, library, rows, tallies, on)


def visible_events(actor) -> list:
    return ports.visible_events(actor)


def open_policies_for_chain(chain_code: str, today: dt.date) -> list[PolicyRow]:
    """Policy rows still valid and open to applications (no enterprise deadline, or one not yet passed) whose
    chains include `chain_code` or that name no chain, in the library's order (the online hall lists them)."""
    rows = db.session.scalars(select(PolicyRow).where(
        or_(PolicyRow.valid_until.is_(None), PolicyRow.valid_until >= today),
        or_(PolicyRow.enterprise_deadline.is_(None), PolicyRow.enterprise_deadline >= today))
        .order_by(PolicyRow.sort_order, PolicyRow.id)).all()
    return [row for row in rows if not row.chains or chain_code in row.chains]


# ---- loan products: the effective rate after 第(二)条's interest subsidy ---------------------------

@dataclass(frozen=True)
class LoanSubsidyView:
    policy: Policy
    rate_low: Decimal
    rate_high: Decimal
    effective_low: Decimal
    effective_high: Decimal
    conditional: bool  # the enterprise has not (yet) confirmed the clause's conditions
    principal: int


def _regions_overlap(codes: list[str], areas: tuple[str, ...]) -> bool:
    return any(region_covers(a, c) or region_covers(c, a) for a in areas for c in codes)


def _product_concerns_subsidy(product: Product, policy: Policy, enterprise: Enterprise | None) -> bool:
    if product.region_codes and not _regions_overlap(list(product.region_codes), policy.regions):
        return False
    product_chains = {chain.code for chain in product.chains}
    if product_chains & set(policy.chains):
        return True
    return enterprise is not None and enterprise.chain.code in policy.chains and (
        not product_chains or enterprise.chain.code in product_chains)


def loan_subsidy_for_product(actor, product: Product, on: dt.date | None = None,
                             library: Library | None = None) -> LoanSubsidyView | None:
    """What 第(二)条 (compute-infrastructure loan interest subsidy) would do to this loan's rate, when it
    could apply: the product targets the policy's chains or the signed-in SME is on one. None otherwise,
    or when the SME's own answers rule the subsidy out."""
    if product.type != FinancingType.LOAN or (product.rate_min_bp is None and product.rate_max_bp is None):
        return None
    library = library or current_library().library
    try:
        policy = library.policy(INTEREST_SUBSIDY)
    except KeyError:
        return None
    enterprise = None
    if actor is not None and getattr(actor, "is_authenticated", False) and actor.role == Role.SME:
        enterprise = db.session.get(Enterprise, actor.enterprise_id)
    if not _product_concerns_subsidy(product, policy, enterprise):
        return None
    facts: dict[str, Any] = {}
    if enterprise is not None:
        facts, _ = facts_of(enterprise, library.facts)
    conditional = any(name not in facts for name in INTEREST_SUBSIDY_ASSUMPTIONS)
    facts = {**INTEREST_SUBSIDY_ASSUMPTIONS, **facts}
    low_bp = product.rate_min_bp if product.rate_min_bp is not None else product.rate_max_bp
    high_bp = product.rate_max_bp if product.rate_max_bp is not None else product.rate_min_bp
    principal = product.amount_max_yuan  # the 1000万-a-year cap bites on the largest loans first
    effective = []
    for bp in (low_bp, high_bp):
        loan = subsidised_loan(library, facts, principal=principal, annual_rate=Decimal(bp) / 10000, on=on or today())
        if loan.effective_rate is None:
            return None
        effective.append(loan.effective_rate.quantize(RATE_PLACES))
    return LoanSubsidyView(policy, Decimal(low_bp) / 10000, Decimal(high_bp) / 10000, effective[0], effective[1],
                           conditional, principal)
