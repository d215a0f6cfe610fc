"""The policy pages end to end: library and clause pages, 我的政策 and its facts form, the organisers'
editor and 政策对接 table, the loan-subsidy panel; in Chinese and English."""
import re
from html import unescape
from urllib.parse import urlsplit

import pytest
from flask import render_template_string
from flask_login import login_user
from sqlalchemy import func, select

from accounts.models import User
from events.enums import RegistrationStatus
from events.models import Registration
from market.models import Product
from policies.models import EnterpriseFact
from policies.models import Policy as PolicyRow
from tests.conftest import sign_in
from tests.policies.pages_support import AI_DAY, on_day, seeded, store_facts  # noqa: F401
from tests.support import factories
from tests.support.database import count, database
from tests.support.events import make_event, make_session
from tests.support.pages import assert_field_error, element_html, field_html

AMOUNT_LINK = re.compile(r'<a class="amount" href="([^"]+)"')


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def clause_texts(app) -> dict[str, str]:
    with database(app) as session:
        return dict(session.execute(select(PolicyRow.key, PolicyRow.clause_text)).all())


def inner(fragment: str | None) -> str | None:
    """The content of an element from `element_html` (which includes the element's own tags)."""
    return None if fragment is None else re.sub(r"^<[^>]+>|</[^>]+>$", "", fragment.strip())


def assert_links_to_clause_text(client, app, html: str, at_least: int) -> None:
    """Every amount on the page links to a page holding the clause's original text at the anchor."""
    hrefs = [unescape(h) for h in AMOUNT_LINK.findall(html)]
    assert len(hrefs) >= at_least, hrefs
    texts = clause_texts(app)
    for href in hrefs:
        parts = urlsplit(href)
        key = parts.path.rsplit("/", 1)[-1]
        assert parts.fragment == f"clause-{key}", href
        quoted = inner(element_html(text(client.get(parts.path)), parts.fragment))
        assert quoted == texts[key], href


@pytest.fixture
def ai_sme(seeded, on_day):
    """An SME on the AI chain in Hangzhou with answers for 算力券, 模型备案 and 贴息; evaluated on AI_DAY."""
    on_day(AI_DAY)
    with database(seeded):
        user = factories.sme(chain_code="ai", region_code="330108", industry="software_it")
    store_facts(seeded, user, compute_contract_fee="3000000", compute_use="domestic_compute",
                model_filed_with_cac=True, model_filing_award_received=False, model_evaluation_fees="420000",
                in_government_layout=True, project_total_investment="80000000", loan_principal="20000000",
                loan_rate="0.0385")
    return user


# ---- the library --------------------------------------------------------------------------------

def test_library_and_clause_pages_in_chinese_and_english(seeded, client):
    page = text(client.get("/policies/"))
    assert "政策库" in page and "算力券" in page and 'lang="zh-CN"' in page
    detail = text(client.get("/policies/clause/compute_voucher"))
    assert "单家企业每年“算力券”申领不超过800万元" in element_html(detail, "clause-compute_voucher")
    assert "杭州市经信局" in detail and "2027-12-31" in detail
    assert client.get("/policies/clause/no_such_policy").status_code == 404

    client.post("/language/en")
    page = text(client.get("/policies/"))
    assert 'lang="en"' in page and "Compute vouchers" in page
    assert "Interest subsidy for compute-infrastructure loans" in page
    detail = text(client.get("/policies/clause/compute_voucher"))
    assert "Compute vouchers" in detail and "Hangzhou Bureau of Economy and IT" in detail
    assert "单家企业每年“算力券”申领不超过800万元" in element_html(detail, "clause-compute_voucher")
    assert_links_to_clause_text(client, seeded, page.replace('class="amount-summary"', 'class="amount"'), 20)


# ---- 我的政策 -------------------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["zh", "en"])
def test_my_policies_amounts_link_to_their_clause_text(seeded, client, ai_sme, language):
    if language == "en":
        client.post("/language/en")
    sign_in(client, ai_sme.email)
    page = text(client.get("/policies/mine"))
    voucher = element_html(page, "policy-compute_voucher")
    subsidy = element_html(page, "policy-compute_interest_subsidy")
    if language == "zh":
        assert "我的政策" in page and "符合条件" in voucher and "最高 90 万元" in voucher and "第(三)条" in voucher
        assert "最高 30 万元" in subsidy and "第(二)条" in subsidy and "每年" in subsidy
        assert "算力合同及费用支付凭证（发票）" in voucher  # what to prepare
    else:
        assert 'lang="en"' in page and "Compute vouchers" in voucher and "CNY 900k" in voucher and "Art. (3)" in voucher
        assert "per year" in subsidy
    assert_links_to_clause_text(client, seeded, page, 3)


def test_set_aside_clause_is_named(seeded, client, on_day):
    on_day(AI_DAY)
    with database(seeded):
        user = factories.sme()
    store_facts(seeded, user, undertakes_national_provincial_key_rd=True,
                national_provincial_funding_received="8000000", recognised_future_industry_innovation_centre=True,
                has_core_leader_rd_team=True, innovation_centre_investment="20000000",
                innovation_centre_project_investment="6000000", innovation_centre_years_funded=0,
                same_rd_project=True)
    sign_in(client, user.email)
    page = text(client.get("/policies/mine"))
    loser = element_html(page, "policy-compute_rd_funding")
    plain = re.sub(r"<[^>]+>", "", loser)
    assert "不重复享受" in loser and "从优、就高、不重复：已按第(七)条计，第(一)条不重复享受" in plain
    assert "从优、就高、不重复：已按第(七)条计" in re.sub(r"<[^>]+>", "", element_html(
        page, "policy-future_industry_innovation_centre"))


# ---- the facts form -------------------------------------------------------------------------------

def _fields(html: str) -> set[str]:
    return set(re.findall(r'id="field-([a-z0-9_]+)"', html))


def test_the_form_asks_only_missing_facts_and_stores_them(seeded, client, on_day):
    on_day(AI_DAY)
    with database(seeded):
        user = factories.sme(chain_code="ai", region_code="330106", industry="software_it")
    sign_in(client, user.email)
    form = text(client.get("/policies/mine/facts?policy=compute_voucher"))
    assert _fields(form) == {"compute_contract_fee", "compute_use", "is_foundation_model_enterprise"}
    assert "本年度算力合同费用（万元）" in form  # money is typed in 万元
    everything = _fields(text(client.get("/policies/mine/facts")))
    assert {"compute_contract_fee", "model_filed_with_cac"} <= everything
    assert not everything & {"region", "tiers", "is_manufacturing"}  # read off the profile

    response = client.post("/policies/mine/facts?policy=compute_voucher",
                           data={"compute_contract_fee": "300", "compute_use": "domestic_compute"})
    assert response.status_code == 302 and response.headers["Location"] == "/policies/mine"
    with database(seeded) as session:
        stored = dict(session.execute(select(EnterpriseFact.name, EnterpriseFact.value)).all())
    assert stored == {"compute_contract_fee": "3000000", "compute_use": "domestic_compute"}
    assert "最高 90 万元" in element_html(text(client.get("/policies/mine")), "policy-compute_voucher")
    # below the 800万 cap both branches agree: whether it is a foundation-model firm no longer matters
    assert not _fields(text(client.get("/policies/mine/facts"))) & {"compute_contract_fee", "compute_use",
                                                                     "is_foundation_model_enterprise"}

    again = text(client.get("/policies/mine/facts?all=1"))  # answers can be reviewed and changed
    assert 'value="300"' in field_html(again, "compute_contract_fee")
    client.post("/policies/mine/facts?all=1", data={"compute_contract_fee": "", "compute_use": "domestic_compute",
                                                   "loan_rate": "3.85"})
    with database(seeded) as session:
        stored = dict(session.execute(select(EnterpriseFact.name, EnterpriseFact.value)).all())
    assert stored == {"compute_use": "domestic_compute", "loan_rate": "0.0385"}  # a cleared answer is removed


def test_bad_facts_are_shown_beside_the_field_and_nothing_is_stored(seeded, client, on_day):
    on_day(AI_DAY)
    with database(seeded):
        user = factories.sme()
    sign_in(client, user.email)
    response = client.post("/policies/mine/facts", data={
        "compute_contract_fee": "-5", "compute_use": "gpu", "model_filed_with_cac": "true",
        "model_evaluation_fees": "12.3456789"})
    assert_field_error(response, "compute_contract_fee", "请输入不小于 0 的金额（万元）")
    assert_field_error(response, "compute_use", "请从列出的选项中选择。")
    assert_field_error(response, "model_evaluation_fees", "最多精确到分")
    assert 'class="errors"' not in field_html(text(response), "model_filed_with_cac")
    assert count(seeded, EnterpriseFact) == 0


def test_only_smes_have_my_policies(seeded, client):
    assert client.get("/policies/mine").status_code == 302  # to sign in
    with database(seeded):
        organiser = factories.organiser()
    sign_in(client, organiser.email)
    assert client.get("/policies/mine").status_code == 403
    assert client.get("/policies/mine/facts").status_code == 403


# ---- organisers: the editor -------------------------------------------------------------------------

RULE = """facts: [compute_contract_fee]
conditions: {fact: compute_contract_fee, op: ">", value: 0, label: {zh: 有算力合同费用, en: Has compute fees}}
benefit: {kind: up_to, max: 500000, period: one_off, description: {zh: 不超过50万元, en: Up to CNY 500k}}
materials:
  - {zh: 算力合同, en: Compute contract}
"""


def policy_data(**overrides) -> dict:
    data = {"key": "demo_grant", "source": "hz_ai_measures", "title_zh": "演示补助", "title_en": "Demo grant",
            "summary_zh": "不超过50万元", "summary_en": "Up to CNY 500k", "clause_zh": "第(九)条", "clause_en": "Art. (9)",
            "clause_text": "(九)演示条款原文。", "responsible_unit_zh": "杭州市经信局",
            "responsible_unit_en": "Hangzhou Bureau of Economy and IT", "valid_from": "2025-01-01",
            "valid_until": "2027-12-31", "regions": "330100", "chains": ["ai"], "enterprise_deadline": "2025-09-30",
            "rule": RULE}
    data.update(overrides)
    return data


def test_organisers_add_a_policy_and_bad_rules_are_refused_beside_the_field(seeded, client):
    with database(seeded):
        organiser = factories.organiser()
    sign_in(client, organiser.email)
    assert "规则（YAML 或 JSON）" in text(client.get("/policies/new"))
    before = count(seeded, PolicyRow)

    response = client.post("/policies/new", data=policy_data(rule="facts: [compute_contract_fee\nbenefit: {"))
    assert_field_error(response, "rule", "YAML 格式错误")
    response = client.post("/policies/new", data=policy_data(rule=RULE.replace("op: \">\"", "op: contains_any")))
    assert_field_error(response, "rule", "not allowed for money fact compute_contract_fee")
    response = client.post("/policies/new", data=policy_data(rule="__import__('os').system('true')"))
    assert_field_error(response, "rule", "规则须是一个映射")
    aliased = RULE + "notes: &n [{zh: 甲, en: a}]\nrelated_texts: *n\n"
    response = client.post("/policies/new", data=policy_data(rule=aliased))
    assert_field_error(response, "rule", "不能使用 YAML 锚点和别名")
    response = client.post("/policies/new", data=policy_data(regions="33010"))
    assert_field_error(response, "regions", "六位行政区划代码")
    response = client.post("/policies/new", data=policy_data(key="compute_voucher"))
    assert_field_error(response, "key", "已被其他政策使用")
    assert count(seeded, PolicyRow) == before

    response = client.post("/policies/new", data=policy_data())
    assert response.status_code == 302 and response.headers["Location"] == "/policies/clause/demo_grant"
    detail = text(client.get("/policies/clause/demo_grant"))
    assert "演示补助" in detail and inner(element_html(detail, "clause-demo_grant")) == "(九)演示条款原文。"
    assert "算力合同" in detail and "2025-09-30" in detail


def test_organisers_edit_a_seeded_policy(seeded, client):
    with database(seeded):
        organiser = factories.organiser()
    sign_in(client, organiser.email)
    form = text(client.get("/policies/clause/compute_voucher/edit"))
    rule = unescape(re.search(r'<textarea[^>]*name="rule"[^>]*>(.*?)</textarea>', form, re.S).group(1))
    assert rule.lstrip().startswith("facts:") and "rate_by: compute_use" in rule
    data = policy_data(key="compute_voucher", title_zh="算力券（2025年版）", title_en="Compute vouchers (2025)",
                       summary_zh="摘要", summary_en="Summary", clause_zh="第(三)条", clause_en="Art. (3)",
                       clause_text=clause_texts(seeded)["compute_voucher"], rule=rule, enterprise_deadline="")

    bad = client.post("/policies/clause/compute_voucher/edit", data={**data, "rule": rule.replace("0.30", "-1")})
    assert_field_error(bad, "rule", "a non-negative number")
    with database(seeded) as session:
        row = session.scalar(select(PolicyRow).where(PolicyRow.key == "compute_voucher"))
        assert row.is_seeded and row.title_zh == "算力券"

    response = client.post("/policies/clause/compute_voucher/edit", data=data)
    assert response.status_code == 302
    with database(seeded) as session:
        row = session.scalar(select(PolicyRow).where(PolicyRow.key == "compute_voucher"))
        assert not row.is_seeded and row.title_zh == "算力券（2025年版）" and row.updated_by_user_id == organiser.id
        assert row.definition["benefit"]["expr"]["if"]["fact"] == "is_foundation_model_enterprise"
    with database(seeded):
        sme = factories.sme()
    other = seeded.test_client()
    sign_in(other, sme.email)
    assert other.get("/policies/clause/compute_voucher/edit").status_code == 403
    assert other.post("/policies/new", data=policy_data()).status_code == 403


# ---- organisers: 政策对接 for an event --------------------------------------------------------------

def test_organisers_see_which_registered_smes_qualify_for_what(seeded, client, ai_sme):
    with database(seeded) as session:
        organiser = factories.organiser("330100")
        event = make_event(organiser)
        policy_session = make_session(organiser, event, kind="policy_matching", title="政策对接会")
        newcomer = factories.sme(name="杭州新来的科技有限公司")
        for user in (ai_sme, newcomer):
            session.add(Registration(session_id=policy_session.id, enterprise_id=user.enterprise_id,
                                     status=RegistrationStatus.APPROVED.value))
        session.commit()
        outsider = factories.organiser("320100")
    sign_in(client, organiser.email)
    assert event.title in text(client.get("/policies/events"))
    page = text(client.get(f"/policies/events/{event.id}"))
    row = element_html(page, f"enterprise-{ai_sme.enterprise_id}")
    assert "算力券" in row and "最高 90 万元" in row and "第(三)条" in row
    tally = element_html(page, "tally-compute_voucher")
    assert "符合条件 1 家" in tally and "需补充信息 1 家" in tally and "杭州新来的科技有限公司" in tally
    assert_links_to_clause_text(client, seeded, page, 3)
    client.post("/language/en")
    assert "Compute vouchers" in text(client.get(f"/policies/events/{event.id}"))

    other = seeded.test_client()
    sign_in(other, outsider.email)
    assert other.get(f"/policies/events/{event.id}").status_code == 404
    assert event.title not in text(other.get("/policies/events"))


# ---- loans ----------------------------------------------------------------------------------------------

def test_loan_products_show_the_rate_after_the_interest_subsidy(seeded, ai_sme):
    with database(seeded):
        bank = factories.institution_user()
        product = factories.product(bank, chain_codes=["ai"], rate_min_bp=385, rate_max_bp=385,
                                    amount_max_yuan=20_000_000)
    include = "{% include 'policies/_loan_subsidy.html' %}"
    with seeded.test_request_context():
        html = render_template_string(include, product=seeded.extensions["sqlalchemy"].session.get(Product, product.id))
        assert "贴息后实际利率约 2.35%" in html and "若项目为纳入政府统一布局" in html
        assert "最多贴 1.5 个百分点且不超过利息的 50%）" in html
        assert 'href="/policies/clause/compute_interest_subsidy#clause-compute_interest_subsidy"' in html
    with seeded.test_request_context():
        from core.extensions import db
        login_user(db.session.get(User, ai_sme.id))
        html = render_template_string(include, product=db.session.get(Product, product.id))
        assert "贴息后实际利率约 2.35%" in html and "按贵企业填报的信息，项目符合" in html
    with seeded.test_request_context():  # the catalogue's card: one line
        from core.extensions import db
        card = "{% with compact=true %}{% include 'policies/_loan_subsidy.html' %}{% endwith %}"
        assert "贴息后约 2.35%（第(二)条）" in render_template_string(card, product=db.session.get(Product, product.id))
    with seeded.test_request_context():
        from core.extensions import db
        equity = db.session.get(Product, product.id)
        equity.type = "equity"
        assert render_template_string(include, product=equity).strip() == ""
        db.session.rollback()


def test_policy_facts_are_counted_once_per_enterprise(seeded, ai_sme):
    """The unique (enterprise, fact) key: a second answer replaces the first row."""
    store_facts(seeded, ai_sme, compute_contract_fee="10")
    with database(seeded) as session:
        assert session.scalar(select(func.count()).select_from(EnterpriseFact).where(
            EnterpriseFact.name == "compute_contract_fee")) == 1
