"""The seeded library: it loads, quotes its sources verbatim, ties every figure to the clause,
and the loader refuses malformed rules (no eval, ever)."""
import copy
import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from core.money import wan_exact
from policies import RuleError, load_library, parse_library, parse_policy, verify_citations
from policies import text as fmt
from policies.loader import library_path
from policies.rules import CHAIN_CODES, Compare, IfElse, Min, Mul, Rate, RateBy, Yuan, cited_texts

REPO = Path(__file__).resolve().parents[2]


def raw():
    return yaml.safe_load(library_path().read_text(encoding="utf-8"))


def test_library_loads(library):
    ids = [p.id for p in library.policies]
    assert len(ids) == len(set(ids)) == 25
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in ids)
    for fixed in ("compute_voucher", "compute_interest_subsidy", "tech_upgrade"):
        assert fixed in ids
    for p in library.policies:
        assert p.title.zh and p.title.en and p.issuer.zh and p.responsible_unit.zh
        assert p.clause_text and p.clause.zh
        assert set(p.chains) <= set(CHAIN_CODES)
        assert p.regions == ("330100",)
        assert p.benefit.description.zh


def test_fixed_fact_names(library):
    assert set(library.policy("compute_voucher").facts) == {
        "compute_contract_fee", "compute_use", "is_foundation_model_enterprise"}
    assert set(library.policy("compute_interest_subsidy").facts) == {
        "project_total_investment", "in_government_layout", "loan_principal", "loan_rate", "interest_paid"}
    assert set(library.policy("tech_upgrade").facts) == {
        "is_manufacturing", "tiers", "project_started_on", "actual_investment"}
    assert library.facts["compute_use"].allowed_values == (
        "registered_model_service", "domestic_compute", "other_compute")
    assert {"little_giant", "provincial_specialised"} <= set(library.facts["tiers"].allowed_values)


def test_every_quantified_ai_clause_is_encoded(library):
    clauses = {p.clause.zh for p in library.policies if p.source.id == "hz_ai_measures"}
    assert clauses == {f"第({n})条" for n in "一二三四五六七八十"}


def test_validity_and_windows(library):
    import datetime as dt

    voucher = library.policy("compute_voucher")
    assert (voucher.valid_from, voucher.valid_until) == (dt.date(2024, 8, 19), dt.date(2027, 12, 31))
    upgrade = library.policy("tech_upgrade")
    assert upgrade.window.enterprise_deadline == dt.date(2024, 5, 30)
    assert upgrade.window.district_deadline == dt.date(2024, 6, 10)


def test_loading_is_idempotent(library):
    again = load_library()
    assert again.policies == library.policies
    # one policy's stored mapping (what the organisers' editor keeps) parses to the same policy
    p = library.policy("compute_voucher")
    defaults = {sid: s.get("defaults", {}) for sid, s in raw()["sources"].items()}
    assert parse_policy(p.data, facts=library.facts, sources=library.sources, groups=library.groups,
                        source_defaults=defaults) == p


@pytest.mark.outside_files
def test_clause_texts_are_verbatim(library, sources):
    assert verify_citations(library, sources) == []
    for p in library.policies:
        document = (sources / p.source.file).read_text(encoding="utf-8")
        assert p.clause_text in document, p.id
        for text in p.related_texts:
            assert text in document, p.id


def test_validity_clause_quoted(library):
    texts = library.policy("compute_voucher").related_texts
    assert any("本措施自2024年8月19日起施行,有效期至2027年12月31日" in t for t in texts)


def _figures(policy):
    """(figure as the document writes it, the passage that should contain it)."""
    out = []

    def walk_expr(node, cite):
        if isinstance(node, Min):
            for t in node.terms:
                walk_expr(t.value, t.cite)
        elif isinstance(node, Mul):
            for e in node.items:
                walk_expr(e, cite)
        elif isinstance(node, IfElse):
            walk_expr(node.then, cite)
            walk_expr(node.otherwise, cite)
        elif isinstance(node, Yuan) and cite:
            out.append((node.value, "yuan", cite))
        elif isinstance(node, Rate) and cite:
            out.append((node.value, "rate", cite))
        elif isinstance(node, RateBy):
            for _, rate in node.rates:
                out.append((rate, "rate", policy.clause_text))

    def walk_cond(node):
        if isinstance(node, Compare):
            if node.cite and isinstance(node.value, Decimal) and node.value > 0:
                out.append((node.value, "yuan", node.cite))
        elif hasattr(node, "items"):
            for c in node.items:
                walk_cond(c)

    walk_cond(policy.conditions)
    walk_expr(policy.benefit.expr, None)
    if policy.benefit.cite and policy.benefit.maximum:
        out.append((Decimal(policy.benefit.maximum), "yuan", policy.benefit.cite))
    if policy.benefit.cite and policy.benefit.minimum:
        out.append((Decimal(policy.benefit.minimum), "yuan", policy.benefit.cite))
    return out


def test_every_figure_is_in_its_cited_passage(library):
    checked = 0
    for p in library.policies:
        for value, kind, passage in _figures(p):
            if kind == "yuan":
                forms = {wan_exact(value)}
                if value % 100_000_000 == 0:
                    forms.add(f"{value // 100_000_000}亿")
            else:
                pct = fmt.percent(value)
                forms = {pct, pct.replace("%", "个百分点")}
            assert any(f in passage for f in forms), (p.id, value, passage)
            checked += 1
    assert checked >= 25


def test_cites_are_collected(library):
    where = [w for w, _ in cited_texts(library.policy("compute_interest_subsidy"))]
    assert "benefit.annual_cap.cite" in where


def test_docs_cover_every_policy_and_fact(library):
    doc = (REPO / "docs" / "policy-facts.md").read_text(encoding="utf-8")
    for p in library.policies:
        assert f"`{p.id}`" in doc, p.id
    for name in library.facts:
        assert f"`{name}`" in doc, name


# -- the loader refuses malformed rules -------------------------------------------------------------

def _with(mutate):
    data = raw()
    mutate(data)
    return data


def _policy(data, pid):
    return next(p for p in data["policies"] if p["id"] == pid)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: _policy(d, "compute_voucher")["conditions"].update(fact="no_such_fact"), "unknown fact"),
        (lambda d: _policy(d, "compute_voucher")["conditions"].update(op="contains_any"), "not allowed"),
        (lambda d: _policy(d, "compute_voucher")["conditions"].update(op="eval"), "not allowed"),
        (lambda d: _policy(d, "tech_upgrade")["conditions"]["all"][1].update(value="2018-13-01"),
         "project_started_on"),
        (lambda d: _policy(d, "future_factory_digital_workshop")["conditions"]["all"][2].update(value="gold"),
         "future_factory_rating"),
        (lambda d: _policy(d, "compute_rd_funding")["benefit"].update(expr={"python": "fee * 0.25"}),
         "unknown expression"),
        (lambda d: _policy(d, "compute_rd_funding").update(facts=["national_provincial_funding_received"]),
         "declared"),
        (lambda d: _policy(d, "compute_rd_funding").update(chains=["steel"]), "chain code"),
        (lambda d: _policy(d, "compute_rd_funding").update(exclusive_group="nope"), "unknown group"),
        (lambda d: _policy(d, "compute_rd_funding").update(title={"zh": "只有中文"}), "zh"),
        (lambda d: d["policies"].append(copy.deepcopy(_policy(d, "compute_voucher"))), "duplicate"),
        (lambda d: _policy(d, "tech_upgrade")["benefit"].update(kind="formula"), "needs"),
    ],
)
def test_loader_refuses(mutate, message):
    with pytest.raises(RuleError, match=message):
        parse_library(_with(mutate))


def test_pure_modules_import_no_flask_or_sqlalchemy():
    import subprocess
    import sys

    code = ("import sys, policies, policies.commands; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('flask', 'sqlalchemy', 'flask_sqlalchemy', 'werkzeug')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_docs_reference_is_current(library):
    from policies.reference import reference_markdown

    doc = (REPO / "docs" / "policy-facts.md").read_text(encoding="utf-8")
    start = doc.index("-->\n", doc.index("<!-- reference:start")) + len("-->\n")
    end = doc.index("<!-- reference:end -->")
    assert doc[start:end] == reference_markdown(library), "run `chainmatch policies reference`"
