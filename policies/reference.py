"""The policy reference in Markdown (the "Policies" and "All facts" parts of docs/policy-facts.md).

`chainmatch policies reference` prints it; a test keeps the document in step with the library.
"""
from __future__ import annotations

from policies.facts import FactSpec, FactType
from policies.rules import PERIOD_TEXT, AllOf, Compare, Condition, Library, NotOf


def _type(spec: FactSpec) -> str:
    if spec.type is FactType.MONEY:
        return "money (yuan)"
    if spec.type is FactType.DECIMAL:
        return f"decimal [{spec.minimum}, {spec.maximum}]"
    if spec.type is FactType.INT:
        return f"int ≥ {spec.minimum}"
    return str(spec.type)


def _allowed(spec: FactSpec) -> str:
    if spec.choices:
        return "<br>".join(f"`{c.value}` {c.label.zh}" for c in spec.choices)
    return {FactType.DATE: "YYYY-MM-DD", FactType.BOOL: "true / false",
            FactType.REGION: "6-digit code"}.get(spec.type, "")


_OPS = {"==": "=", "!=": "≠", ">=": "≥", "<=": "≤", ">": ">", "<": "<", "in": "∈", "not_in": "∉",
        "contains_any": "∋ any of", "contains_all": "∋ all of", "contains_none": "∌", "within": "within"}


def _literal(value) -> str:
    if isinstance(value, (frozenset, tuple)):
        return "[" + ", ".join(sorted(map(str, value))) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "__dataclass_fields__"):
        return "(formula, see label)"
    return str(value)


def _condition(node: Condition, depth: int = 0) -> list[str]:
    pad = "  " * depth
    if isinstance(node, Compare):
        label = f" — {node.label.zh}" if node.label else ""
        return [f"{pad}- `{node.fact}` {_OPS[node.op]} {_literal(node.value)}{label}"]
    if isinstance(node, NotOf):
        return [f"{pad}- NOT — {node.label.zh}"] + _condition(node.item, depth + 1)
    word = "all of" if isinstance(node, AllOf) else "any of"
    lines = [f"{pad}- {word}" + (f" — {node.label.zh}" if node.label else "") + ":"]
    for item in node.items:
        lines += _condition(item, depth + 1)
    return lines


def policies_markdown(lib: Library) -> str:
    out: list[str] = []
    for p in lib.policies:
        out.append(f"### `{p.id}` — {p.title.zh} {p.clause.zh}")
        out.append("")
        out.append(f"*{p.title.en}* · {p.source.title.zh} · {p.issuer.zh} · 责任单位 {p.responsible_unit.zh}"
                   + (f"（{p.contact}）" if p.contact else ""))
        out.append("")
        if p.valid_from or p.valid_until:
            validity = f"{p.valid_from or '—'} – {p.valid_until or '—'}"
        else:
            validity = "not stated in the notice (the application window governs)"
        deadline = "—"
        if p.window:
            deadline = f"企业 {p.window.enterprise_deadline}" + (
                f"；各地经信部门 {p.window.district_deadline}" if p.window.district_deadline else "")
        out.append(f"- Validity: {validity}; application deadline: {deadline}; "
                   f"chains: {', '.join(p.chains) or 'all'}; regions: {', '.join(p.regions)}")
        out.append(f"- Amount ({PERIOD_TEXT[p.benefit.period].en}): {p.benefit.description.zh} — "
                   f"{p.benefit.description.en}" + ("；择优评审，金额为上限估计" if p.benefit.review else ""))
        if p.benefit.kind == "none":
            out.append(f"- Why no amount: {p.benefit.reason.zh}")
        if p.exclusive_group:
            out.append(f"- 从优不重复 group: `{p.exclusive_group}`")
        out.append("")
        out.append("| fact | type | meaning | allowed values |")
        out.append("|---|---|---|---|")
        for name in p.facts:
            s = lib.facts[name]
            out.append(f"| `{name}` | {_type(s)} | {s.label.zh} / {s.label.en} | {_allowed(s)} |")
        for name in p.optional_facts:
            s = lib.facts[name]
            out.append(f"| `{name}` (optional) | {_type(s)} | {s.label.zh} / {s.label.en} | {_allowed(s)} |")
        out.append("")
        if p.conditions is not None:
            out += ["Conditions:", ""] + _condition(p.conditions) + [""]
        if p.prerequisites:
            out += ["Checked when reported, otherwise listed to confirm at application:", ""]
            out += [f"- {pre.label.zh}" for pre in p.prerequisites] + [""]
    return "\n".join(out)


def facts_markdown(lib: Library) -> str:
    out = ["| fact | type | meaning | allowed values | used by |", "|---|---|---|---|---|"]
    for name, s in lib.facts.items():
        users = [p.id for p in lib.policies if name in p.facts or name in p.optional_facts]
        users += [f"group {g.id}" for g in lib.groups.values() if name in g.facts]
        out.append(f"| `{name}` | {_type(s)} | {s.label.zh}<br>{s.label.en} | {_allowed(s)} | {', '.join(users)} |")
    return "\n".join(out)


def reference_markdown(lib: Library) -> str:
    return "## Policies\n\n" + policies_markdown(lib) + "\n## All facts\n\n" + facts_markdown(lib) + "\n"
