"""Parse the policy library from YAML (or from one policy's stored mapping) and check it.

`load_library()` reads `seeds/policies.yaml` (or $CHAINMATCH_POLICY_LIBRARY); `parse_policy()`
validates one policy mapping, e.g. one an organiser edited. Every fact a rule uses must be declared;
literals are typed like their fact; operators must suit the fact's type; `verify_citations()`
checks that every quoted passage is verbatim in its source document.
"""
from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import yaml

from policies.facts import FactError, FactSpec, FactType, parse_fact_spec
from policies.rules import (
    CHAIN_CODES,
    AllOf,
    AnyOf,
    Benefit,
    BenefitKind,
    Coalesce,
    Compare,
    Condition,
    ExclusiveGroup,
    Expr,
    FactRef,
    IfElse,
    Library,
    Material,
    Min,
    Mul,
    NotOf,
    Period,
    Policy,
    Rate,
    RateBy,
    RuleError,
    SourceDocument,
    Term,
    Window,
    Yuan,
    cited_texts,
    condition_facts,
    expr_facts,
)
from policies.text import Text

DEFAULT_LIBRARY = Path(str(resources.files("seeds") / "policies.yaml"))  # also in an installed wheel


# -- parsing ------------------------------------------------------------------------------------

_OPS_BY_TYPE = {
    FactType.BOOL: {"==", "!="},
    FactType.MONEY: {"==", "!=", "<", "<=", ">", ">="},
    FactType.INT: {"==", "!=", "<", "<=", ">", ">="},
    FactType.DECIMAL: {"==", "!=", "<", "<=", ">", ">="},
    FactType.DATE: {"==", "!=", "<", "<=", ">", ">="},
    FactType.ENUM: {"==", "!=", "in", "not_in"},
    FactType.LIST: {"contains_any", "contains_all", "contains_none"},
    FactType.REGION: {"within"},
}
_NUMERIC = {FactType.MONEY, FactType.INT, FactType.DECIMAL}


def _text(data: Any, where: str) -> Text:
    try:
        return Text.parse(data, where)
    except ValueError as exc:
        raise RuleError(str(exc)) from None


def _opt_text(data: Mapping, key: str, where: str) -> Text | None:
    return _text(data[key], f"{where}.{key}") if key in data else None


def _date(value: Any, where: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise RuleError(f"{where}: not a date: {value!r}") from None


def _keys(data: Any, where: str, allowed: set[str], required: set[str] = frozenset()) -> Mapping:
    if not isinstance(data, Mapping):
        raise RuleError(f"{where}: expected a mapping, got {data!r}")
    extra = set(data) - allowed
    if extra:
        raise RuleError(f"{where}: unknown keys {sorted(extra)}")
    missing = set(required) - set(data)
    if missing:
        raise RuleError(f"{where}: missing keys {sorted(missing)}")
    return data


class _Parser:
    def __init__(self, facts: Mapping[str, FactSpec]):
        self.facts = facts

    def spec(self, name: Any, where: str) -> FactSpec:
        if name not in self.facts:
            raise RuleError(f"{where}: unknown fact {name!r}")
        return self.facts[name]

    # conditions
    def condition(self, data: Any, where: str) -> Condition:
        if not isinstance(data, Mapping):
            raise RuleError(f"{where}: a condition is a mapping, got {data!r}")
        label = _opt_text(data, "label", where)
        if "all" in data or "any" in data:
            key = "all" if "all" in data else "any"
            _keys(data, where, {key, "label"})
            items = data[key]
            if not isinstance(items, list) or not items:
                raise RuleError(f"{where}.{key}: a non-empty list")
            parsed = tuple(self.condition(c, f"{where}.{key}[{i}]") for i, c in enumerate(items))
            return AllOf(parsed, label) if key == "all" else AnyOf(parsed, label)
        if "not" in data:
            _keys(data, where, {"not", "label"}, {"label"})
            return NotOf(self.condition(data["not"], f"{where}.not"), label)
        _keys(data, where, {"fact", "op", "value", "label", "cite"}, {"fact", "op", "value"})
        spec = self.spec(data["fact"], f"{where}.fact")
        op = data["op"]
        if op not in _OPS_BY_TYPE[spec.type]:
            raise RuleError(
                f"{where}.op: {op!r} not allowed for {spec.type} fact {spec.name}; "
                f"use one of {sorted(_OPS_BY_TYPE[spec.type])}"
            )
        value = self.literal(spec, op, data["value"], f"{where}.value")
        cite = data.get("cite")
        return Compare(spec.name, op, value, label, cite)

    def literal(self, spec: FactSpec, op: str, raw: Any, where: str) -> Any:
        if spec.type in _NUMERIC and isinstance(raw, Mapping):
            return self.expr(raw, where)
        try:
            if op in ("in", "not_in"):
                if not isinstance(raw, list):
                    raise RuleError(f"{where}: {op} takes a list")
                return frozenset(spec.parse(v) for v in raw)
            if spec.type is FactType.REGION:
                if not isinstance(raw, list):
                    raise RuleError(f"{where}: within takes a list of region codes")
                return tuple(spec.parse(v) for v in raw)
            if spec.type is FactType.DECIMAL:
                return Decimal(str(raw))
            if spec.type is FactType.INT and isinstance(raw, int):
                return raw
            if spec.type is FactType.MONEY and isinstance(raw, (int, str)):
                return Decimal(str(raw))
            return spec.parse(raw)
        except FactError as exc:
            raise RuleError(f"{where}: {exc}") from None

    # expressions
    def expr(self, data: Any, where: str) -> Expr:
        if not isinstance(data, Mapping) or len(data) == 0:
            raise RuleError(f"{where}: an expression is a mapping, got {data!r}")
        if "yuan" in data:
            _keys(data, where, {"yuan"})
            return Yuan(self.number(data["yuan"], where))
        if "rate" in data:
            _keys(data, where, {"rate"})
            return Rate(self.number(data["rate"], where))
        if "fact" in data:
            _keys(data, where, {"fact"})
            spec = self.spec(data["fact"], where)
            if spec.type not in _NUMERIC:
                raise RuleError(f"{where}: fact {spec.name} is {spec.type}, not a number")
            return FactRef(spec.name)
        if "mul" in data:
            _keys(data, where, {"mul"})
            return Mul(tuple(self.expr(e, f"{where}.mul[{i}]") for i, e in enumerate(data["mul"])))
        if "coalesce" in data:
            _keys(data, where, {"coalesce"})
            items = data["coalesce"]
            return Coalesce(tuple(self.expr(e, f"{where}.coalesce[{i}]") for i, e in enumerate(items)))
        if "min" in data:
            _keys(data, where, {"min"})
            terms = []
            for i, t in enumerate(data["min"]):
                w = f"{where}.min[{i}]"
                _keys(t, w, {"term", "label", "value", "cite"}, {"term", "label", "value"})
                terms.append(Term(str(t["term"]), _text(t["label"], f"{w}.label"),
                                  self.expr(t["value"], f"{w}.value"), t.get("cite")))
            if len({t.id for t in terms}) != len(terms):
                raise RuleError(f"{where}.min: term ids must be distinct")
            return Min(tuple(terms))
        if "rate_by" in data:
            _keys(data, where, {"rate_by", "rates"}, {"rates"})
            spec = self.spec(data["rate_by"], where)
            if spec.type is not FactType.ENUM:
                raise RuleError(f"{where}: rate_by needs an enum fact")
            rates = data["rates"]
            if set(rates) != set(spec.allowed_values or ()):
                raise RuleError(f"{where}.rates: give a rate for each of {spec.allowed_values}")
            return RateBy(spec.name, tuple((k, self.number(v, where)) for k, v in rates.items()))
        if "if" in data:
            _keys(data, where, {"if", "then", "else", "then_note", "else_note"}, {"if", "then", "else"})
            return IfElse(
                self.condition(data["if"], f"{where}.if"),
                self.expr(data["then"], f"{where}.then"),
                self.expr(data["else"], f"{where}.else"),
                _opt_text(data, "then_note", where),
                _opt_text(data, "else_note", where),
            )
        raise RuleError(f"{where}: unknown expression {sorted(data)}")

    @staticmethod
    def number(raw: Any, where: str) -> Decimal:
        if isinstance(raw, bool) or not isinstance(raw, (int, str, float)):
            raise RuleError(f"{where}: a number, got {raw!r}")
        value = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(str(raw))
        if not value.is_finite() or value < 0:
            raise RuleError(f"{where}: a non-negative number, got {raw!r}")
        return value

    def benefit(self, data: Any, where: str) -> Benefit:
        _keys(data, where, {"kind", "expr", "max", "min", "period", "review", "reason",
                            "description", "cite"}, {"kind", "description"})
        try:
            kind = BenefitKind(data["kind"])
        except ValueError:
            raise RuleError(f"{where}.kind: one of {[k.value for k in BenefitKind]}") from None
        period = Period(data.get("period", "not_applicable"))
        benefit = Benefit(
            kind=kind,
            description=_text(data["description"], f"{where}.description"),
            period=period,
            expr=self.expr(data["expr"], f"{where}.expr") if "expr" in data else None,
            maximum=int(data["max"]) if "max" in data else None,
            minimum=int(data["min"]) if "min" in data else None,
            review=bool(data.get("review", False)),
            reason=_opt_text(data, "reason", where),
            cite=data.get("cite"),
        )
        need = {
            BenefitKind.FORMULA: (benefit.expr is not None, "an expr"),
            BenefitKind.UP_TO: (benefit.maximum is not None and benefit.expr is None, "max and no expr"),
            BenefitKind.RANGE: (
                benefit.minimum is not None and benefit.maximum is not None
                and benefit.minimum <= benefit.maximum and benefit.expr is None,
                "min ≤ max and no expr",
            ),
            BenefitKind.NONE: (benefit.reason is not None and benefit.expr is None, "a reason and no expr"),
        }
        ok, what = need[kind]
        if not ok:
            raise RuleError(f"{where}: a {kind} benefit needs {what}")
        return benefit


_POLICY_KEYS = {
    "id", "title", "summary", "source", "issuer", "clause", "clause_text", "related_texts",
    "valid_from", "valid_until", "responsible_unit", "contact", "chains", "regions", "window",
    "materials", "facts", "optional_facts", "conditions", "prerequisites", "benefit",
    "exclusive_group", "notes",
}
_DEFAULTABLE = {"issuer", "valid_from", "valid_until", "responsible_unit", "contact", "chains",
                "regions", "window", "related_texts", "notes"}


def _flatten(items: Any, where: str) -> list:
    """Materials and texts may nest one level (YAML anchors for shared lists)."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise RuleError(f"{where}: expected a list")
    out: list = []
    for item in items:
        out.extend(item if isinstance(item, list) else [item])
    return out


def parse_policy(
    data: Mapping[str, Any],
    *,
    facts: Mapping[str, FactSpec],
    sources: Mapping[str, SourceDocument],
    groups: Mapping[str, ExclusiveGroup],
    source_defaults: Mapping[str, Mapping[str, Any]] | None = None,
) -> Policy:
    """One policy from its mapping (as in the YAML, or as stored by the organisers' editor)."""
    pid = data.get("id") if isinstance(data, Mapping) else None
    where = f"policies.{pid}"
    if not isinstance(pid, str) or not pid.replace("_", "").isalnum() or pid != pid.lower():
        raise RuleError(f"{where}: id must be snake_case")
    source_id = data.get("source")
    if source_id not in sources:
        raise RuleError(f"{where}.source: unknown source {source_id!r}")
    merged = dict((source_defaults or {}).get(source_id, {}))
    notes = _flatten(merged.pop("notes", []), f"sources.{source_id}.defaults.notes")
    merged.update(data)
    if "notes" in data:
        notes = notes + _flatten(data["notes"], f"{where}.notes")
    merged["notes"] = notes
    _keys(merged, where, _POLICY_KEYS,
          {"id", "title", "summary", "source", "clause", "clause_text", "responsible_unit",
           "regions", "facts", "benefit"})
    p = _Parser(facts)

    clause_text = merged["clause_text"]
    if not isinstance(clause_text, str) or not clause_text.strip():
        raise RuleError(f"{where}.clause_text: the verbatim clause text is required")
    chains = tuple(merged.get("chains") or ())
    for chain in chains:
        if chain not in CHAIN_CODES:
            raise RuleError(f"{where}.chains: unknown chain code {chain!r}")
    regions = tuple(str(r) for r in merged["regions"])
    for region in regions:
        if not (len(region) == 6 and region.isdigit()):
            raise RuleError(f"{where}.regions: not a GB/T 2260 code: {region!r}")

    window = None
    if merged.get("window"):
        w = _keys(merged["window"], f"{where}.window",
                  {"enterprise_deadline", "district_deadline", "cite"})
        window = Window(_date(w.get("enterprise_deadline"), f"{where}.window"),
                        _date(w.get("district_deadline"), f"{where}.window"), w.get("cite"))

    materials = []
    for i, m in enumerate(_flatten(merged.get("materials"), f"{where}.materials")):
        mw = f"{where}.materials[{i}]"
        _keys(m, mw, {"zh", "en", "when", "inferred"}, {"zh", "en"})
        materials.append(Material(
            _text({"zh": m["zh"], "en": m["en"]}, mw),
            p.condition(m["when"], f"{mw}.when") if "when" in m else None,
            bool(m.get("inferred", False)),
        ))

    conditions = p.condition(merged["conditions"], f"{where}.conditions") if merged.get("conditions") else None
    prerequisites = []
    for i, c in enumerate(merged.get("prerequisites") or ()):
        cond = p.condition(c, f"{where}.prerequisites[{i}]")
        if cond.label is None:
            raise RuleError(f"{where}.prerequisites[{i}]: a prerequisite needs a label")
        prerequisites.append(cond)
    benefit = p.benefit(merged["benefit"], f"{where}.benefit")

    declared = tuple(merged["facts"] or ())
    optional = tuple(merged.get("optional_facts") or ())
    for name in declared + optional:
        p.spec(name, f"{where}.facts")
    used = condition_facts(conditions) | expr_facts(benefit.expr)
    if set(declared) != used:
        raise RuleError(
            f"{where}.facts: declared {sorted(declared)} but the conditions and formula use {sorted(used)}"
        )
    soft = set().union(*(condition_facts(c) for c in prerequisites),
                       *(condition_facts(m.when) for m in materials)) - used
    if set(optional) != soft:
        raise RuleError(
            f"{where}.optional_facts: declared {sorted(optional)} but prerequisites and materials use {sorted(soft)}"
        )

    group = merged.get("exclusive_group")
    if group is not None and group not in groups:
        raise RuleError(f"{where}.exclusive_group: unknown group {group!r}")
    source = sources[source_id]
    return Policy(
        id=pid,
        title=_text(merged["title"], f"{where}.title"),
        summary=_text(merged["summary"], f"{where}.summary"),
        source=source,
        issuer=_text(merged["issuer"], f"{where}.issuer") if "issuer" in merged else source.issuer,
        clause=_text(merged["clause"], f"{where}.clause"),
        clause_text=clause_text,
        related_texts=tuple(_flatten(merged.get("related_texts"), f"{where}.related_texts")),
        valid_from=_date(merged.get("valid_from"), f"{where}.valid_from"),
        valid_until=_date(merged.get("valid_until"), f"{where}.valid_until"),
        responsible_unit=_text(merged["responsible_unit"], f"{where}.responsible_unit"),
        contact=merged.get("contact"),
        chains=chains,
        regions=regions,
        window=window,
        materials=tuple(materials),
        facts=declared,
        optional_facts=optional,
        conditions=conditions,
        prerequisites=tuple(prerequisites),
        benefit=benefit,
        exclusive_group=group,
        notes=tuple(_text(n, f"{where}.notes") for n in notes),
        data=dict(data),
    )


def parse_library(data: Mapping[str, Any]) -> Library:
    """The whole library from the YAML document's mapping."""
    # `shared` holds YAML anchors reused by the policies; it is not read on its own.
    _keys(data, "library", {"version", "facts", "sources", "exclusive_groups", "policies", "shared"},
          {"facts", "sources", "policies"})
    facts = {}
    for name, spec in (data["facts"] or {}).items():
        try:
            facts[name] = parse_fact_spec(name, spec)
        except ValueError as exc:
            raise RuleError(str(exc)) from None

    sources, defaults = {}, {}
    for sid, s in data["sources"].items():
        w = f"sources.{sid}"
        _keys(s, w, {"title", "issuer", "file", "note", "defaults"}, {"title", "issuer", "file"})
        sources[sid] = SourceDocument(sid, _text(s["title"], f"{w}.title"),
                                      _text(s["issuer"], f"{w}.issuer"), s["file"],
                                      _opt_text(s, "note", w))
        d = s.get("defaults") or {}
        bad = set(d) - _DEFAULTABLE
        if bad:
            raise RuleError(f"{w}.defaults: cannot default {sorted(bad)}")
        defaults[sid] = d

    groups = {}
    for gid, g in (data.get("exclusive_groups") or {}).items():
        w = f"exclusive_groups.{gid}"
        _keys(g, w, {"label", "basis", "cite", "when", "facts"}, {"label", "basis"})
        when = _Parser(facts).condition(g["when"], f"{w}.when") if g.get("when") else None
        declared = tuple(g.get("facts") or ())
        if set(declared) != condition_facts(when):
            raise RuleError(f"{w}.facts: declared {sorted(declared)} but `when` uses "
                            f"{sorted(condition_facts(when))}")
        groups[gid] = ExclusiveGroup(gid, _text(g["label"], f"{w}.label"),
                                     _text(g["basis"], f"{w}.basis"), g.get("cite"), when, declared)

    policies = tuple(
        parse_policy(p, facts=facts, sources=sources, groups=groups, source_defaults=defaults)
        for p in data["policies"]
    )
    seen: set[str] = set()
    for policy in policies:
        if policy.id in seen:
            raise RuleError(f"policies.{policy.id}: duplicate id")
        seen.add(policy.id)
    for gid in groups:
        if len([p for p in policies if p.exclusive_group == gid]) < 2:
            raise RuleError(f"exclusive_groups.{gid}: a group needs at least two policies")
    return Library(facts=facts, sources=sources, groups=groups, policies=policies)


def library_path() -> Path:
    return Path(os.environ.get("CHAINMATCH_POLICY_LIBRARY") or DEFAULT_LIBRARY)


LIBRARY_MAX_BYTES = 2 * 1024 * 1024  # seeds/policies.yaml is about 100 kB
LIBRARY_MAX_DEPTH = 64
LIBRARY_MAX_NODES = 1_000_000  # with every alias expanded; seeds/policies.yaml has about 10,000


def _check_yaml_shape(text: str) -> None:
    """Walk the YAML events (libyaml's parser keeps its own stack; the composer recurses and can crash the
    process on deep nesting) and refuse depth beyond LIBRARY_MAX_DEPTH, or more than LIBRARY_MAX_NODES nodes
    once aliases are expanded (the "billion laughs")."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    open_nodes: list[list] = [[None, 0]]  # [anchor, nodes so far] of the document and each open collection
    sizes: dict[str, int] = {}
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            open_nodes.append([event.anchor, 0])
            if len(open_nodes) > LIBRARY_MAX_DEPTH + 1:
                raise RuleError(f"nests more than {LIBRARY_MAX_DEPTH} levels deep")
            continue
        if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            anchor, inner = open_nodes.pop()
            size = inner + 1
        elif isinstance(event, yaml.ScalarEvent):
            anchor, size = event.anchor, 1
        elif isinstance(event, yaml.AliasEvent):
            anchor, size = None, sizes.get(event.anchor, 1)
        else:
            continue
        if anchor:
            sizes[anchor] = size
        open_nodes[-1][1] += size
        if open_nodes[-1][1] > LIBRARY_MAX_NODES:
            raise RuleError(f"more than {LIBRARY_MAX_NODES:,} nodes with its aliases expanded")


def load_library(path: str | os.PathLike | None = None) -> Library:
    """Parse the YAML library (default: `seeds/policies.yaml`, or $CHAINMATCH_POLICY_LIBRARY).

    A file over LIBRARY_MAX_BYTES, nested too deeply, too large with its aliases expanded, or that is not YAML
    is a RuleError."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: same result, faster
    where = str(path or library_path())
    with open(where, "rb") as handle:
        raw = handle.read(LIBRARY_MAX_BYTES + 1)
    if len(raw) > LIBRARY_MAX_BYTES:
        raise RuleError(f"more than {LIBRARY_MAX_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8")
        _check_yaml_shape(text)
        data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except UnicodeDecodeError as exc:
        raise RuleError(f"not UTF-8 ({exc})") from None
    except yaml.YAMLError as exc:
        raise RuleError(f"not valid YAML ({exc})") from None
    return parse_library(data)


def verify_citations(library: Library, source_dir: str | os.PathLike) -> list[str]:
    """Problems where a quoted passage is not a verbatim substring of its source document."""
    problems = []
    cache: dict[str, str] = {}
    for policy in library.policies:
        path = Path(source_dir) / policy.source.file
        if policy.source.file not in cache:
            cache[policy.source.file] = path.read_text(encoding="utf-8")
        document = cache[policy.source.file]
        for where, passage in cited_texts(policy):
            if passage not in document:
                problems.append(f"{policy.id}.{where}: not verbatim in {policy.source.file}: {passage[:40]!r}…")
    for group in library.groups.values():
        if group.cite:
            members = library.group_members(group.id)
            document = cache.get(members[0].source.file) if members else None
            if document is not None and group.cite not in document:
                problems.append(f"exclusive_groups.{group.id}.cite: not verbatim")
    return problems
