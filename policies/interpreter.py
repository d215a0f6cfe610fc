"""Interpret conditions and formulas over typed facts — three-valued, exact, explained.

A condition is true, false or unknown (a fact it needs is missing); an `all` is false as soon as
one part is false, an `any` true as soon as one part is true, so a form need only ask for the facts
that could still change the answer. Expressions compute with Decimal; `min` reports which term
binds (the cap, the rate, …); `if` over an unknown test still answers when both branches agree.
Every step yields bilingual reasons for the page.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Mapping

from core.money import exact_money_text
from core.regions import region_covers
from policies import text as fmt
from policies.facts import FactSpec, FactType
from policies.rules import (
    EXPR_TYPES,
    AllOf,
    Coalesce,
    Compare,
    Condition,
    Expr,
    FactRef,
    IfElse,
    Library,
    Min,
    Mul,
    NotOf,
    Rate,
    RateBy,
    Yuan,
)
from policies.text import Text

# -- conditions ---------------------------------------------------------------------------------

@dataclass
class Outcome:
    value: bool | None
    reasons: list[Text] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


_OP_TEXT = {
    "==": ("为", "is"), "!=": ("不为", "is not"), "<": ("<", "<"), "<=": ("≤", "≤"),
    ">": (">", ">"), ">=": ("≥", "≥"), "in": ("属于", "is one of"), "not_in": ("不属于", "is none of"),
    "contains_any": ("包含其一", "includes one of"), "contains_all": ("全部包含", "includes all of"),
    "contains_none": ("不包含", "includes none of"), "within": ("位于", "is within"),
}


def missing_reason(spec: FactSpec) -> Text:
    return Text(f"缺少信息：{spec.label.zh}", f"Missing: {spec.label.en}")


def unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


class Interpreter:
    def __init__(self, library: Library, facts: Mapping[str, Any]):
        self.library = library
        self.facts = facts

    def spec(self, name: str) -> FactSpec:
        return self.library.facts[name]

    # conditions -------------------------------------------------------------------------------
    def cond(self, node: Condition) -> Outcome:
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, NotOf):
            inner = self.cond(node.item)
            value = None if inner.value is None else not inner.value
            reasons = [self.labelled(node.label, value)]
            return Outcome(value, reasons + (inner.reasons if value is None else []), inner.missing)
        outs = [self.cond(c) for c in node.items]
        values = [o.value for o in outs]
        if isinstance(node, AllOf):
            if False in values:
                picked = [o for o in outs if o.value is False]
                out = Outcome(False, [r for o in picked for r in o.reasons])
            elif None in values:
                out = Outcome(None, [r for o in outs for r in o.reasons],
                               unique([m for o in outs if o.value is None for m in o.missing]))
            else:
                out = Outcome(True, [r for o in outs for r in o.reasons])
        else:
            if True in values:
                first = next(o for o in outs if o.value is True)
                out = Outcome(True, list(first.reasons))
            elif None in values:
                out = Outcome(None, [r for o in outs for r in o.reasons],
                               unique([m for o in outs if o.value is None for m in o.missing]))
            else:
                out = Outcome(False, [r for o in outs for r in o.reasons])
        if node.label is not None:
            out.reasons.insert(0, self.labelled(node.label, out.value))
        return out

    @staticmethod
    def labelled(label: Text, value: bool | None) -> Text:
        if value is None:
            return Text(f"待确认：{label.zh}", f"To confirm: {label.en}")
        return Text(f"{'满足' if value else '不满足'}：{label.zh}",
                    f"{'Met' if value else 'Not met'}: {label.en}")

    def compare(self, node: Compare) -> Outcome:
        spec = self.spec(node.fact)
        if node.fact not in self.facts:
            return Outcome(None, [missing_reason(spec)], [node.fact])
        actual = self.facts[node.fact]
        target = node.value
        target_val = None
        if isinstance(target, EXPR_TYPES):
            target_val = self.expr(target)
            if target_val.value is None:
                specs = [self.spec(m) for m in target_val.missing]
                return Outcome(None, [missing_reason(s) for s in specs], target_val.missing)
            target = target_val.value
        ok = _apply(node.op, actual, target)
        if node.label is not None:
            req_zh, req_en = node.label.zh, node.label.en
        else:
            op_zh, op_en = _OP_TEXT[node.op]
            req_zh = f"{spec.label.zh}{op_zh}{self.show(spec, target, 'zh')}"
            req_en = f"{spec.label.en} {op_en} {self.show(spec, target, 'en')}"
        got_zh = f"填报：{spec.format(actual, 'zh')}"
        got_en = f"reported: {spec.format(actual, 'en')}"
        if target_val is not None:
            got_zh += f"；比较值：{spec.format(target, 'zh')}"
            got_en += f"; compared with: {spec.format(target, 'en')}"
        return Outcome(ok, [Text(f"{'满足' if ok else '不满足'}：{req_zh}（{got_zh}）",
                                  f"{'Met' if ok else 'Not met'}: {req_en} ({got_en})")])

    @staticmethod
    def show(spec: FactSpec, value: Any, lang: str) -> str:
        if isinstance(value, (frozenset, tuple, set)):
            sep = "、" if lang == "zh" else ", "
            if spec.type is FactType.REGION:
                return sep.join(sorted(value))
            ordered = [c.value for c in spec.choices if c.value in value]
            return sep.join(spec.choice_label(v).get(lang) for v in ordered)
        return spec.format(value, lang)

    # expressions ------------------------------------------------------------------------------
    def expr(self, node: Expr) -> "Value":
        if isinstance(node, Yuan):
            return Value(node.value, [], exact_money_text(node.value, "zh"), exact_money_text(node.value, "en"))
        if isinstance(node, Rate):
            return Value(node.value, [], fmt.percent(node.value), fmt.percent(node.value))
        if isinstance(node, FactRef):
            if node.name not in self.facts:
                return Value(None, [node.name])
            value = Decimal(self.facts[node.name])
            spec = self.spec(node.name)
            return Value(value, [], spec.format(value, "zh"), spec.format(value, "en"))
        if isinstance(node, RateBy):
            if node.fact not in self.facts:
                return Value(None, [node.fact])
            rate = node.rate(self.facts[node.fact])
            return Value(rate, [], fmt.percent(rate), fmt.percent(rate))
        if isinstance(node, Mul):
            parts = [self.expr(e) for e in node.items]
            missing = unique([m for p in parts for m in p.missing])
            if missing:
                return Value(None, missing)
            value = Decimal(1)
            for p in parts:
                value *= p.value
            return Value(value, [], " × ".join(p.zh for p in parts), " × ".join(p.en for p in parts),
                        notes=[n for p in parts for n in p.notes])
        if isinstance(node, Coalesce):
            parts = [self.expr(e) for e in node.items]
            for p in parts:
                if p.value is not None:
                    return p
            return Value(None, parts[-1].missing)
        if isinstance(node, Min):
            parts = [(t, self.expr(t.value)) for t in node.terms]
            missing = unique([m for _, p in parts for m in p.missing])
            if missing:
                return Value(None, missing)
            least = min(p.value for _, p in parts)
            bound = tuple(t.id for t, p in parts if p.value == least)
            zh = "取以下各项的最小值：" + "；".join(
                f"{t.label.zh}：{p.zh}" + ("" if p.zh == exact_money_text(p.value, 'zh') else f" = {exact_money_text(p.value, 'zh')}")
                for t, p in parts)
            en = "the least of: " + "; ".join(
                f"{t.label.en}: {p.en}" + ("" if p.en == exact_money_text(p.value, 'en') else f" = {exact_money_text(p.value, 'en')}")
                for t, p in parts)
            binding = [t for t, _ in parts if t.id in bound]
            zh += f"。受“{'”“'.join(t.label.zh for t in binding)}”约束"
            en += f". Bound by: {'; '.join(t.label.en for t in binding)}"
            return Value(least, [], zh, en, bound, [n for _, p in parts for n in p.notes])
        if isinstance(node, IfElse):
            test = self.cond(node.cond)
            if test.value is not None:
                branch = self.expr(node.then if test.value else node.otherwise)
                note = node.then_note if test.value else node.else_note
                if note is not None and branch.value is not None:
                    branch = replace(branch, notes=branch.notes + [note])
                return branch
            then, other = self.expr(node.then), self.expr(node.otherwise)
            if then.value is not None and then.value == other.value:
                return other  # the answer does not depend on the unknown test
            return Value(None, unique(test.missing + then.missing + other.missing))
        raise TypeError(node)  # pragma: no cover


@dataclass(frozen=True)
class Value:
    value: Decimal | None
    missing: list[str]
    zh: str = ""
    en: str = ""
    bound_by: tuple[str, ...] = ()
    notes: list[Text] = field(default_factory=list)


def _apply(op: str, actual: Any, target: Any) -> bool:
    if op == "==":
        return actual == target
    if op == "!=":
        return actual != target
    if op == "<":
        return actual < target
    if op == "<=":
        return actual <= target
    if op == ">":
        return actual > target
    if op == ">=":
        return actual >= target
    if op == "in":
        return actual in target
    if op == "not_in":
        return actual not in target
    if op == "contains_any":
        return bool(actual & target)
    if op == "contains_all":
        return target <= actual
    if op == "contains_none":
        return not (actual & target)
    if op == "within":
        return any(region_covers(area, actual) for area in target)
    raise ValueError(op)  # pragma: no cover - the loader refuses unknown operators


def floor_yuan(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


