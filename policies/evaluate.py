"""The policy engine: which policies an enterprise qualifies for, what they are worth, and why.

Pure Python: no Flask, no database. Three-valued: each condition is true, false or unknown (a
needed fact is missing). Amounts are computed exactly with Decimal and floored to the whole yuan at
the end. Overlapping clauses in one exclusive group are resolved by 从优、就高、不重复: the eligible
member with the highest amount applies, the others are set aside and say in favour of which.

Entry points:
  evaluate(library, facts, on) -> Evaluation
  evaluate_policy(library, policy, facts, on) -> PolicyResult   (no group resolution)
  subsidised_loan(library, facts, principal=, annual_rate=, on=) -> LoanSubsidy
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any, Mapping

from core.money import exact_money_text
from core.regions import region_covers
from policies.facts import FactSpec
from policies.interpreter import Interpreter, Outcome, floor_yuan, missing_reason, unique
from policies.rules import (
    PERIOD_TEXT,
    BenefitKind,
    ExclusiveGroup,
    Library,
    Policy,
    Window,
    condition_facts,
)
from policies.text import Text

REVIEW_NOTE = Text(
    "择优评审，金额为上限估计，最终以评审结果为准。",
    "Awarded selectively after review; the amount is an upper estimate, the review decides.",
)


class Status(StrEnum):
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"
    NEEDS_INFORMATION = "needs_information"


@dataclass(frozen=True)
class PolicyResult:
    """One policy for one enterprise on one date — what the page "我的政策" shows in a row."""

    policy: Policy
    status: Status
    eligible: bool | None  # None: facts are missing (see missing_facts)
    amount: int | None  # whole yuan; None when not eligible, unknown, or not stated by the document
    amount_min: int | None  # lower end where the document gives a range (分档)
    potential_amount: int | None  # the amount if the still-missing conditions turn out to hold
    amount_is_upper_bound: bool  # "不超过", "择优": the figure is a maximum, not a promise
    bound_by: tuple[str, ...]  # ids of the formula terms that set the amount (caps, rates)
    reasons: tuple[Text, ...]
    missing_facts: tuple[FactSpec, ...]  # what a form should still ask (only what is missing)
    materials: tuple[Text, ...]
    window: Window | None
    conditions_met: bool | None = None  # the clause's conditions alone, whatever the date
    in_force: bool = True  # the evaluation date lies within the policy's validity
    window_open: bool = True  # the enterprise deadline has not passed
    set_aside_for: str | None = None  # 从优不重复: the policy that applies instead of this one

    @property
    def policy_id(self) -> str:
        return self.policy.id

    @property
    def applies(self) -> bool:
        """Eligible and not set aside: counts towards what the enterprise can get."""
        return self.eligible is True and self.set_aside_for is None

    def to_json(self) -> dict[str, Any]:
        """The CLI's row: the fixed fields first, then extras for pages and scripts."""
        w = self.window
        return {
            "policy": self.policy.id,
            "clause": self.policy.clause.zh,
            "eligible": self.eligible,
            "amount": self.amount,
            "reasons": [r.zh for r in self.reasons],
            "reasons_en": [r.en for r in self.reasons],
            "missing_facts": [s.name for s in self.missing_facts],
            "status": str(self.status),
            "title": self.policy.title.zh,
            "amount_min": self.amount_min,
            "potential_amount": self.potential_amount,
            "amount_is_upper_bound": self.amount_is_upper_bound,
            "bound_by": list(self.bound_by),
            "period": str(self.policy.benefit.period),
            "deadline": None if w is None else {
                "enterprise": w.enterprise_deadline.isoformat() if w.enterprise_deadline else None,
                "district_office": w.district_deadline.isoformat() if w.district_deadline else None,
            },
            "set_aside_in_favour_of": self.set_aside_for,
            "conditions_met": self.conditions_met,
            "in_force": self.in_force,
            "window_open": self.window_open,
            "materials": [m.zh for m in self.materials],
        }


@dataclass(frozen=True)
class SetAside:
    """A policy not counted because an overlapping one in its group is better (从优、就高、不重复)."""

    policy_id: str
    in_favour_of: str
    group: ExclusiveGroup
    reason: Text
    assumed: bool = False  # the overlap condition (e.g. same project) is not yet confirmed


@dataclass(frozen=True)
class Evaluation:
    on: dt.date
    results: tuple[PolicyResult, ...]
    set_aside: tuple[SetAside, ...]
    group_missing_facts: tuple[FactSpec, ...] = ()  # would confirm or rule out an assumed overlap

    def result(self, policy_id: str) -> PolicyResult:
        for r in self.results:
            if r.policy.id == policy_id:
                return r
        raise KeyError(policy_id)

    def by_status(self, status: Status) -> tuple[PolicyResult, ...]:
        return tuple(r for r in self.results if r.status is status)

    @property
    def missing_facts(self) -> tuple[FactSpec, ...]:
        """Every fact still missing for some undecided policy, once, in first-needed order."""
        seen: dict[str, FactSpec] = {}
        for r in self.results:
            for spec in r.missing_facts:
                seen.setdefault(spec.name, spec)
        for spec in self.group_missing_facts:
            seen.setdefault(spec.name, spec)
        return tuple(seen.values())

    @property
    def total_amount(self) -> int:
        """Sum of the amounts that apply (eligible, not set aside). Periods differ: indicative only."""
        return sum(r.amount for r in self.results if r.applies and r.amount is not None)

    def to_json(self) -> list[dict[str, Any]]:
        return [r.to_json() for r in self.results]


# -- one policy ---------------------------------------------------------------------------------

def evaluate_policy(library: Library, policy: Policy, facts: Mapping[str, Any], on: dt.date) -> PolicyResult:
    """Evaluate one policy. `facts` are typed (see `policies.facts.parse_facts`)."""
    engine = Interpreter(library, facts)
    reasons: list[Text] = []
    in_force = window_open = region_ok = True

    if policy.valid_from and on < policy.valid_from:
        in_force = False
        reasons.append(Text(f"不在有效期内：本政策自{policy.valid_from}起施行（评估日{on}）",
                            f"Not in force: applies from {policy.valid_from} (evaluated on {on})"))
    if policy.valid_until and on > policy.valid_until:
        in_force = False
        reasons.append(Text(f"不在有效期内：本政策有效期至{policy.valid_until}（评估日{on}）",
                            f"No longer in force: valid until {policy.valid_until} (evaluated on {on})"))
    w = policy.window
    if w and w.enterprise_deadline and on > w.enterprise_deadline:
        window_open = False
        reasons.append(Text(f"申报已截止：企业申报截止时间为{w.enterprise_deadline}（评估日{on}）",
                            f"Applications closed: the enterprise deadline was {w.enterprise_deadline} "
                            f"(evaluated on {on})"))

    # The enterprise's region, when known, must lie in the policy's regions (unless a condition
    # already tests the region explicitly).
    if "region" in facts and policy.regions and "region" not in condition_facts(policy.conditions):
        if not any(region_covers(area, facts["region"]) for area in policy.regions):
            region_ok = False
            reasons.append(Text(
                f"地区不符：本政策适用于{'、'.join(policy.regions)}，企业所在地区代码为{facts['region']}",
                f"Outside the region: the policy covers {', '.join(policy.regions)}; "
                f"the enterprise is in {facts['region']}"))

    cond = engine.cond(policy.conditions) if policy.conditions else Outcome(True)
    reasons.extend(cond.reasons)

    prereq_failed = False
    for pre in policy.prerequisites:
        out = engine.cond(pre)
        if out.value is False:
            prereq_failed = True
            reasons.extend(out.reasons)
        elif out.value is True:
            reasons.append(engine.labelled(pre.label, True))
        else:
            reasons.append(Text(f"申报时须满足（未填报，将由主管部门核验）：{pre.label.zh}",
                                f"Required at application (not reported; checked by the authority): "
                                f"{pre.label.en}"))

    # amount
    benefit = policy.benefit
    value: Decimal | None = None
    amount_missing: list[str] = []
    bound_by: tuple[str, ...] = ()
    amount_text: list[Text] = []
    upper = benefit.review
    amount_min = None
    period = PERIOD_TEXT[benefit.period]
    if benefit.kind is BenefitKind.FORMULA:
        val = engine.expr(benefit.expr)
        if val.value is None:
            amount_missing = val.missing
        else:
            value, bound_by = val.value, val.bound_by
            floored = floor_yuan(value)
            tail_zh = "" if value == floored else f"，向下取整为{exact_money_text(floored, 'zh')}"
            tail_en = "" if value == floored else f", floored to {exact_money_text(floored, 'en')}"
            amount_text.append(Text(
                f"金额（{period.zh}）：{val.zh} → {exact_money_text(value, 'zh')}{tail_zh}",
                f"Amount ({period.en}): {val.en} → {exact_money_text(value, 'en')}{tail_en}"))
            amount_text.extend(val.notes)
        upper = True  # the documents' figures are maxima ("不超过", "均为最高标准")
    elif benefit.kind is BenefitKind.UP_TO:
        value = Decimal(benefit.maximum)
        upper = True
        amount_text.append(Text(f"金额（{period.zh}）：不超过{exact_money_text(value, 'zh')}，按上限估计",
                                f"Amount ({period.en}): up to {exact_money_text(value, 'en')}; "
                                f"estimated at the maximum"))
    elif benefit.kind is BenefitKind.RANGE:
        value = Decimal(benefit.maximum)
        amount_min = benefit.minimum
        upper = True
        amount_text.append(Text(
            f"金额（{period.zh}）：分档{exact_money_text(benefit.minimum, 'zh')}—{exact_money_text(benefit.maximum, 'zh')}，"
            f"按上限估计",
            f"Amount ({period.en}): tiered from {exact_money_text(benefit.minimum, 'en')} to "
            f"{exact_money_text(benefit.maximum, 'en')}; estimated at the maximum"))
    else:
        upper = False
        amount_text.append(benefit.reason)
    if benefit.review:
        amount_text.append(REVIEW_NOTE)

    # combine
    if not region_ok or cond.value is False or prereq_failed:
        conditions_met: bool | None = False
    else:
        conditions_met = cond.value
    if not (in_force and window_open) or conditions_met is False:
        eligible: bool | None = False
        missing: list[str] = []
    elif cond.value is None:
        eligible = None
        missing = unique(cond.missing + amount_missing)
    elif amount_missing:
        eligible = None
        missing = amount_missing
        reasons.append(Text("条件已满足，计算金额尚需补充信息",
                            "The conditions are met; the amount needs more information"))
        reasons.extend(missing_reason(engine.spec(m)) for m in amount_missing)
    else:
        eligible = True
        missing = []

    floored = floor_yuan(value) if value is not None else None
    if eligible is not False:
        reasons.extend(amount_text)
        if w and (w.enterprise_deadline or w.district_deadline):
            parts_zh, parts_en = [], []
            if w.enterprise_deadline:
                parts_zh.append(f"企业{w.enterprise_deadline}")
                parts_en.append(f"enterprises by {w.enterprise_deadline}")
            if w.district_deadline:
                parts_zh.append(f"各地经信部门{w.district_deadline}")
                parts_en.append(f"district offices by {w.district_deadline}")
            reasons.append(Text("申报截止：" + "；".join(parts_zh),
                                "Deadline: " + "; ".join(parts_en)))
    reasons.extend(policy.notes)

    materials = tuple(
        m.text if not m.inferred else Text(f"{m.text.zh}（据条款推断）", f"{m.text.en} (implied by the clause)")
        for m in policy.materials
        if m.when is None or engine.cond(m.when).value is not False
    )
    status = {True: Status.ELIGIBLE, False: Status.NOT_ELIGIBLE, None: Status.NEEDS_INFORMATION}[eligible]
    return PolicyResult(
        policy=policy,
        status=status,
        eligible=eligible,
        amount=floored if eligible is True else None,
        amount_min=amount_min if eligible is True else None,
        potential_amount=floored if eligible is None else None,
        amount_is_upper_bound=bool(upper),
        bound_by=bound_by if eligible is not False else (),
        reasons=tuple(reasons),
        missing_facts=library.specs(missing),
        materials=materials,
        window=policy.window,
        conditions_met=conditions_met,
        in_force=in_force,
        window_open=window_open,
    )


# -- the whole library --------------------------------------------------------------------------

def evaluate(library: Library, facts: Mapping[str, Any], on: dt.date) -> Evaluation:
    """Every policy for one enterprise on date `on`, with 从优、就高、不重复 applied per group."""
    results = [evaluate_policy(library, p, facts, on) for p in library.policies]
    index = {r.policy.id: i for i, r in enumerate(results)}
    set_aside: list[SetAside] = []
    group_missing: list[str] = []
    interpreter = Interpreter(library, facts)
    for group in library.groups.values():
        members = [results[index[p.id]] for p in library.group_members(group.id)]
        contenders = [r for r in members if r.eligible is True]
        if len(contenders) < 2:
            continue
        overlap = interpreter.cond(group.when) if group.when is not None else Outcome(True)
        if overlap.value is False:
            continue  # e.g. not the same project: each applies on its own
        assumed = overlap.value is None
        group_missing.extend(overlap.missing)
        # Highest known amount first; a stated amount beats none; ties go to library order.
        order = {r.policy.id: i for i, r in enumerate(members)}
        winner = min(contenders, key=lambda r: (r.amount is None, -(r.amount or 0), order[r.policy.id]))
        losers = [r for r in contenders if r is not winner]
        for loser in losers:
            reason = _set_aside_reason(group, winner, loser, assumed, library)
            set_aside.append(SetAside(loser.policy.id, winner.policy.id, group, reason, assumed))
            results[index[loser.policy.id]] = replace(
                loser, set_aside_for=winner.policy.id, reasons=loser.reasons + (reason,))
        applied = Text(
            f"从优不重复：本项与{'、'.join(r.policy.clause.zh + '“' + r.policy.title.zh + '”' for r in losers)}"
            f"重叠（{group.label.zh}），按“从优、就高、不重复”原则适用本项",
            f"The better, the higher, not twice: overlaps with "
            f"{', '.join(r.policy.clause.en + ' ' + repr(r.policy.title.en) for r in losers)} "
            f"({group.label.en}); this one applies")
        results[index[winner.policy.id]] = replace(winner, reasons=winner.reasons + (applied,))
    return Evaluation(on=on, results=tuple(results), set_aside=tuple(set_aside),
                      group_missing_facts=library.specs(unique(group_missing)))


def _set_aside_reason(group: ExclusiveGroup, winner: PolicyResult, loser: PolicyResult,
                      assumed: bool, library: Library) -> Text:
    w = winner.policy
    if loser.amount is None or winner.amount is None:
        why_zh = "本项金额未列明，无法比较高低，按金额可确定的一项估算，申报时可自行择一"
        why_en = ("this clause states no amount, so the two cannot be compared; the estimate uses the "
                  "clause with a stated amount — the enterprise may choose either when applying")
    elif loser.amount == winner.amount:
        why_zh, why_en = "两项金额相同，取先列的一项", "equal amounts; the first listed applies"
    else:
        why_zh = (f"“{w.title.zh}”金额更高（{exact_money_text(winner.amount, 'zh')}，"
                  f"本项{exact_money_text(loser.amount, 'zh')}）")
        why_en = (f"'{w.title.en}' is worth more ({exact_money_text(winner.amount, 'en')} against "
                  f"{exact_money_text(loser.amount, 'en')})")
    zh = (f"从优不重复：与{w.clause.zh}“{w.title.zh}”重叠（{group.label.zh}：{group.basis.zh}），"
          f"{why_zh}；本项不重复享受，列为让位项")
    en = (f"Set aside (the better, the higher, not twice): overlaps with {w.clause.en} "
          f"'{w.title.en}' ({group.label.en}: {group.basis.en}); {why_en}")
    if assumed:
        names_zh = "、".join(library.facts[f].label.zh for f in group.facts)
        names_en = "; ".join(library.facts[f].label.en for f in group.facts)
        zh += f"（尚未确认“{names_zh}”，按重叠估算；如不重叠可分别享受）"
        en += f" (not yet confirmed: {names_en}; assumed to overlap — if not, both apply)"
    return Text(zh, en)


# -- loans --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LoanSubsidy:
    """What an applicable interest subsidy does to a loan product's rate."""

    result: PolicyResult
    subsidy: int | None  # yuan a year
    effective_rate: Decimal | None  # annual_rate − subsidy / principal, exact


def subsidised_loan(
    library: Library,
    facts: Mapping[str, Any],
    *,
    principal: int | Decimal,
    annual_rate: Decimal,
    on: dt.date,
    policy_id: str = "compute_interest_subsidy",
) -> LoanSubsidy:
    """The subsidy and effective rate of a loan (principal, rate) under the interest-subsidy policy,
    using the enterprise's other facts (project size, layout). Interest = principal × rate."""
    loan_facts = {k: v for k, v in facts.items() if k != "interest_paid"}
    loan_facts.update(loan_principal=Decimal(principal), loan_rate=Decimal(annual_rate))
    result = evaluate_policy(library, library.policy(policy_id), loan_facts, on)
    if result.eligible is not True or result.amount is None or not principal:
        return LoanSubsidy(result, None, None)
    return LoanSubsidy(result, result.amount, Decimal(annual_rate) - Decimal(result.amount) / Decimal(principal))
