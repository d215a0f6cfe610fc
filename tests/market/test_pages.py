"""The market pages end to end: sign-up, needs, products, the catalogue, bad input, language."""
import re

import pytest
from sqlalchemy import select

from accounts.models import User
from market.models import Enterprise, FinancingNeed, Institution, Product
from tests.conftest import DEMO_PASSWORD, finish_sign_up, mailed_link, sign_in
from tests.support import factories
from tests.support.database import counts, database
from tests.support.pages import assert_field_error, element_html

LONG_NAME = "链" * 121
LONG_TEXT = "用" * 2001


# ---- form data ---------------------------------------------------------------------------------

def sme_sign_up_data(**overrides) -> dict:
    data = {
        "email": "founder@example.com", "display_name": "王五", "password": DEMO_PASSWORD, "confirm": DEMO_PASSWORD,
        "credit_code": factories.credit_code(), "name": "杭州新链智算科技有限公司", "region": "330106",
        "chain": "ai", "nodes": ["ai/liquid_cooled_servers", "ai/ai_agents"], "stage": "growth",
        "industry": "software_it", "employees": "80", "revenue": "3000", "total_assets": "",
        "tiers": ["innovative_sme", "high_tech"], "description": "液冷服务器与智能体。", "contact_name": "王五",
        "contact_phone": "0571-55501234",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def need_data(**overrides) -> dict:
    data = {"type": "loan", "amount": "500", "term_months": "24", "purpose": "购置 200 台液冷服务器。",
            "collateral": ["credit", "ip"]}
    data.update(overrides)
    return data


def product_data(**overrides) -> dict:
    data = {"name": "算力贷", "type": "loan", "description": "面向算力企业的信用贷款。", "amount_min": "100",
            "amount_max": "3000", "rate_min": "3.2", "rate_max": "4.5", "term_min_months": "6",
            "term_max_months": "36", "chains": ["ai"], "region_codes": ["330100"], "stages": ["growth"],
            "tiers": [], "collateral": ["credit"], "is_exclusive": "y", "response_working_days": "3"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def text(response) -> str:
    return response.get_data(as_text=True)


# ---- SME sign-up -------------------------------------------------------------------------------

def test_sme_sign_up_end_to_end(app, client):
    assert client.get("/account/sign-up/enterprise").status_code == 200
    before = counts(app, User, Enterprise)
    data = sme_sign_up_data()
    response = client.post("/account/sign-up/enterprise", data=data)
    assert response.status_code == 200 and "请查收邮件" in text(response)
    assert client.get("/enterprise").status_code == 302  # not signed in before the address is verified
    response = finish_sign_up(client, app, data["email"])
    assert response.status_code == 302
    assert response.headers["Location"] == "/enterprise"
    assert counts(app, User, Enterprise) == {"User": before["User"] + 1, "Enterprise": before["Enterprise"] + 1}

    with database(app) as session:
        user = session.scalar(select(User).where(User.email == "founder@example.com"))
        assert user.role == "sme" and user.check_password(DEMO_PASSWORD)
        enterprise = user.enterprise
        assert enterprise.credit_code == data["credit_code"]
        assert enterprise.region_code == "330106" and enterprise.chain.code == "ai"
        assert sorted(node.code for node in enterprise.nodes) == ["ai_agents", "liquid_cooled_servers"]
        assert sorted(enterprise.tiers) == ["high_tech", "innovative_sme"]
        assert enterprise.revenue_yuan == 30_000_000 and enterprise.total_assets_yuan is None

    page = client.get("/enterprise")
    assert page.status_code == 200
    html = text(page)
    assert "杭州新链智算科技有限公司" in html and data["credit_code"] in html
    assert "西湖区" in html and "人工智能" in html and "高性能液冷服务器" in html
    assert "小型" in html  # software & IT, 80 people, 3000 万元
    assert "高新技术企业" in html
    assert "发布融资需求" in html


def test_size_class_missing_assets_is_shown(app, client):
    with database(app):
        sme = factories.sme(industry="construction", total_assets_yuan=None)
    sign_in(client, sme.email)
    html = text(client.get("/enterprise"))
    assert "需补充资产总额" in html


CODE_LENGTH = "统一社会信用代码应为 18 位。"
CODE_CHARSET = "统一社会信用代码只含数字和大写字母，且不含 I、O、S、V、Z。"
CODE_CHECK = "统一社会信用代码校验位不正确，请核对营业执照。"


def _wrong_check(code: str) -> str:
    from market.credit_code import ALPHABET
    return code[:17] + ALPHABET[(ALPHABET.index(code[17]) + 1) % len(ALPHABET)]


@pytest.mark.parametrize("field, value, message", [
    ("credit_code", "wrong-check", CODE_CHECK),
    ("credit_code", "91110000600037341", CODE_LENGTH),
    ("credit_code", "91110000600037341LL", CODE_LENGTH),
    ("credit_code", "91110000600037341I", CODE_CHARSET),
    ("credit_code", "9111000060003734OL", CODE_CHARSET),
    ("credit_code", "911100006000373S1L", CODE_CHARSET),
    ("credit_code", "91110000600V37341L", CODE_CHARSET),
    ("credit_code", "9111000060Z037341L", CODE_CHARSET),
    ("credit_code", "91110000600037341l", CODE_CHARSET),
    ("region", "999999", "未知的行政区划代码"),
    ("region", "33010", "未知的行政区划代码"),
    ("chain", "no_such_chain", "未知的产业链。"),
    ("nodes", ["ai/no_such_node"], "未知的产业链环节。"),
    ("nodes", ["integrated_circuits/chip_design"], "所选环节不属于所选产业链。"),
    ("name", LONG_NAME, "字段长度不能超过 120 个字符"),
    ("description", LONG_TEXT, "字段长度不能超过 2000 个字符"),
    ("employees", "-1", "请输入 0 到 1000000 之间的人数。"),
    ("revenue", "-1", "金额必须大于 0。"),
    ("revenue", "10000001", "金额过大：不能超过 1000 亿元。"),
    ("total_assets", "-5", "金额必须大于 0。"),
    ("industry", "no_such_industry", ""),
    ("stage", "no_such_stage", ""),
])
def test_sme_sign_up_refuses_bad_input(app, client, field, value, message):
    if value == "wrong-check":
        value = _wrong_check(factories.credit_code())
    before = counts(app, User, Enterprise)
    response = client.post("/account/sign-up/enterprise", data=sme_sign_up_data(**{field: value}))
    assert_field_error(response, field, message)
    assert counts(app, User, Enterprise) == before


def test_sign_up_refuses_a_registered_credit_code(app, client):
    with database(app):
        existing = factories.sme()
        code = existing.enterprise.credit_code
    before = counts(app, User, Enterprise)
    response = client.post("/account/sign-up/enterprise", data=sme_sign_up_data(credit_code=code))
    assert_field_error(response, "credit_code", "该统一社会信用代码已注册。")
    assert counts(app, User, Enterprise) == before


def test_sign_up_with_a_registered_email_looks_the_same_and_mails_its_owner(app, client):
    with database(app):
        existing = factories.sme()
    before = counts(app, User, Enterprise)
    taken = client.post("/account/sign-up/enterprise", data=sme_sign_up_data(email=existing.email.upper()))
    assert counts(app, User, Enterprise) == before
    free = app.test_client().post("/account/sign-up/enterprise", data=sme_sign_up_data(email="free@example.com"))
    assert counts(app, User, Enterprise) == {name: n + 1 for name, n in before.items()}

    def page(response):
        html = re.sub(r'name="csrf_token" value="[^"]+"', "TOKEN", text(response))
        return re.sub(r"[\w.+-]+@example\.com", "ADDRESS", html)
    assert taken.status_code == free.status_code == 200
    assert page(taken) == page(free) and "已注册" not in text(taken)
    assert mailed_link(app, existing.email, "account_sign_up_attempt") == "/account/password/forgot"


def test_construction_needs_total_assets(app, client):
    before = counts(app, User, Enterprise)
    response = client.post("/account/sign-up/enterprise",
                           data=sme_sign_up_data(industry="construction", total_assets=""))
    assert_field_error(response, "total_assets", "该行业按资产总额划型，请填写。")
    assert counts(app, User, Enterprise) == before


def test_institution_sign_up_waits_for_review(app, client):
    data = {"email": "bank@example.com", "display_name": "赵六", "password": DEMO_PASSWORD,
            "confirm": DEMO_PASSWORD, "name": "测试农商银行", "kind": "bank", "kind_other": "",
            "region_codes": ["330100"], "contact_name": "赵六", "contact_phone": "0571-55509999",
            "contact_email": "sme@bank.example", "description": "", "website": "https://bank.example"}
    response = client.post("/account/sign-up/institution", data=data)
    assert response.status_code == 200
    response = finish_sign_up(client, app, data["email"])
    assert response.status_code == 302 and response.headers["Location"] == "/institution"
    html = text(client.get("/institution"))
    assert "待审核" in html and "杭州市" in html
    with database(app) as session:
        institution = session.scalar(select(Institution).where(Institution.name == "测试农商银行"))
        assert institution.status == "pending"


def test_institution_sign_up_refuses_a_taken_name_beside_the_name(app, client):
    with database(app):
        existing = factories.institution_user()
        name = existing.institution.name
    data = {"email": "bank2@example.com", "display_name": "赵六", "password": DEMO_PASSWORD,
            "confirm": DEMO_PASSWORD, "name": name, "kind": "bank", "contact_name": "赵六",
            "contact_phone": "0571-55509999"}
    before = counts(app, User, Institution)
    response = client.post("/account/sign-up/institution", data=data)
    assert_field_error(response, "name", "该机构名称已注册。")
    assert counts(app, User, Institution) == before


def test_institution_website_must_be_http(app, client):
    data = {"email": "bank3@example.com", "display_name": "赵六", "password": DEMO_PASSWORD,
            "confirm": DEMO_PASSWORD, "name": "脚本银行", "kind": "bank", "contact_name": "赵六",
            "contact_phone": "0571-55509999", "website": "javascript://bank.example/%0Aalert(1)"}
    before = counts(app, User, Institution)
    response = client.post("/account/sign-up/institution", data=data)
    assert_field_error(response, "website", "http")
    assert counts(app, User, Institution) == before


# ---- the SME's enterprise and needs -----------------------------------------------------------

@pytest.fixture
def sme_client(app, client):
    with database(app):
        sme = factories.sme()
    sign_in(client, sme.email)
    client.sme = sme
    return client


def test_create_edit_and_withdraw_a_need(app, sme_client):
    client = sme_client
    assert client.get("/needs/new").status_code == 200
    response = client.post("/needs/new", data=need_data())
    assert response.status_code == 302 and response.headers["Location"] == "/enterprise"
    with database(app) as session:
        need = session.scalar(select(FinancingNeed).where(FinancingNeed.enterprise_id == client.sme.enterprise_id))
        need_id = need.id
        assert (need.type, need.amount_yuan, need.term_months, need.status) == ("loan", 5_000_000, 24, "open")
        assert sorted(need.collateral) == ["credit", "ip"]

    html = text(client.get("/enterprise"))
    card = element_html(html, f"need-{need_id}")
    assert "500 万元" in card and "待对接" in card and "信贷" in card and "知识产权质押" in card
    assert f"/needs/{need_id}/edit" in card and f"/needs/{need_id}/withdraw" in card

    form = client.get(f"/needs/{need_id}/edit")
    assert form.status_code == 200 and 'value="500"' in text(form)
    response = client.post(f"/needs/{need_id}/edit", data=need_data(amount="1200.5", type="guarantee",
                                                                     collateral=[]))
    assert response.status_code == 302
    with database(app) as session:
        need = session.get(FinancingNeed, need_id)
        assert (need.type, need.amount_yuan, list(need.collateral)) == ("guarantee", 12_005_000, [])

    response = client.post(f"/needs/{need_id}/withdraw", data={"reason": "已获银行授信"})
    assert response.status_code == 302
    with database(app) as session:
        need = session.get(FinancingNeed, need_id)
        assert (need.status, need.withdrawn_reason) == ("withdrawn", "已获银行授信")
    card = element_html(text(client.get("/enterprise")), f"need-{need_id}")
    assert "已撤回" in card and "已获银行授信" in card
    assert f"/needs/{need_id}/edit" not in card and f"/needs/{need_id}/withdraw" not in card

    # a withdrawn need is no longer editable, nor withdrawable twice
    response = client.post(f"/needs/{need_id}/edit", data=need_data(amount="1"))
    assert response.status_code == 200
    response = client.post(f"/needs/{need_id}/withdraw", data={"reason": "again"})
    assert response.status_code == 302
    with database(app) as session:
        need = session.get(FinancingNeed, need_id)
        assert (need.amount_yuan, need.withdrawn_reason) == (12_005_000, "已获银行授信")


def test_only_open_needs_are_editable(app, sme_client):
    with database(app) as session:
        need = factories.need(sme_client.sme)
        need.status = "matched"
        session.commit()
    card = element_html(text(sme_client.get("/enterprise")), f"need-{need.id}")
    assert "已匹配" in card and f"/needs/{need.id}/edit" not in card and f"/needs/{need.id}/withdraw" in card


@pytest.mark.parametrize("field, value, message", [
    ("amount", "-5", "金额必须大于 0。"),
    ("amount", "0", "金额必须大于 0。"),
    ("amount", "10000000.0001", "金额过大：不能超过 1000 亿元。"),
    ("amount", "99999999999", "金额过大：不能超过 1000 亿元。"),
    ("amount", "12.00001", "金额最多精确到元"),
    ("amount", "", "此项必填。"),
    ("term_months", "0", "期限应在 1 到 360 个月之间。"),
    ("term_months", "361", "期限应在 1 到 360 个月之间。"),
    ("purpose", LONG_TEXT, "字段长度不能超过 2000 个字符"),
    ("purpose", "", "此项必填。"),
    ("type", "bitcoin", ""),
    ("collateral", ["gold"], ""),
])
def test_need_form_refuses_bad_input(app, sme_client, field, value, message):
    before = counts(app, FinancingNeed)
    response = sme_client.post("/needs/new", data=need_data(**{field: value}))
    assert_field_error(response, field, message)
    assert counts(app, FinancingNeed) == before


def test_need_edit_refuses_bad_input_and_keeps_the_need(app, sme_client):
    with database(app):
        need = factories.need(sme_client.sme, amount_yuan=3_000_000)
    response = sme_client.post(f"/needs/{need.id}/edit", data=need_data(amount="-1"))
    assert_field_error(response, "amount", "金额必须大于 0。")
    with database(app) as session:
        assert session.get(FinancingNeed, need.id).amount_yuan == 3_000_000


def test_edit_enterprise(app, sme_client):
    form = sme_client.get("/enterprise/edit")
    html = text(form)
    assert form.status_code == 200
    assert sme_client.sme.enterprise_id and 'name="credit_code"' not in html  # shown read-only
    with database(app) as session:
        enterprise = session.get(Enterprise, sme_client.sme.enterprise_id)
        code = enterprise.credit_code
    assert code in html
    data = sme_sign_up_data(name="改名后的企业", region="330100", industry="construction", total_assets="8000",
                            revenue="7000", credit_code=None)
    response = sme_client.post("/enterprise/edit", data=data)
    assert response.status_code == 302
    with database(app) as session:
        enterprise = session.get(Enterprise, sme_client.sme.enterprise_id)
        assert (enterprise.name, enterprise.region_code, enterprise.credit_code) == ("改名后的企业", "330100", code)
        assert enterprise.size_class == "medium"
    # bad input changes nothing
    response = sme_client.post("/enterprise/edit", data=sme_sign_up_data(region="999999", name="又改名",
                                                                          credit_code=None))
    assert_field_error(response, "region", "未知的行政区划代码")
    with database(app) as session:
        assert session.get(Enterprise, sme_client.sme.enterprise_id).name == "改名后的企业"


# ---- the institution's products -----------------------------------------------------------------

@pytest.fixture
def bank_client(app, client):
    with database(app):
        bank = factories.institution_user(region_codes=["330000"])
    sign_in(client, bank.email)
    client.bank = bank
    return client


def test_create_edit_retire_and_reactivate_a_product(app, bank_client, client):
    client = bank_client
    assert client.get("/products/new").status_code == 200
    response = client.post("/products/new", data=product_data())
    assert response.status_code == 302 and response.headers["Location"] == "/institution"
    with database(app) as session:
        product = session.scalar(select(Product).where(Product.institution_id == client.bank.institution_id))
        product_id = product.id
        assert (product.amount_min_yuan, product.amount_max_yuan) == (1_000_000, 30_000_000)
        assert (product.rate_min_bp, product.rate_max_bp) == (320, 450)
        assert (product.term_min_months, product.term_max_months) == (6, 36)
        assert [chain.code for chain in product.chains] == ["ai"]
        assert list(product.region_codes) == ["330100"] and list(product.stages) == ["growth"]
        assert product.is_exclusive and product.response_working_days == 3 and product.status == "active"

    row = element_html(text(client.get("/institution")), f"product-{product_id}")
    assert "算力贷" in row and "在售" in row and "活动专属" in row and f"/products/{product_id}/retire" in row

    detail = text(client.get(f"/catalogue/{product_id}"))
    for fact in ("100 万元 – 3,000 万元", "3.20% – 4.50%", "6–36 个月", "人工智能", "成长期", "杭州市",
                 "信用（无抵押）", "3 个工作日内", "0571-55500001"):
        assert fact in detail, fact

    response = client.post(f"/products/{product_id}/edit",
                           data=product_data(name="算力贷二期", region_codes=[], is_exclusive=None))
    assert response.status_code == 302
    with database(app) as session:
        product = session.get(Product, product_id)
        assert product.name == "算力贷二期" and list(product.region_codes) == [] and not product.is_exclusive
    assert "全国" in text(client.get(f"/catalogue/{product_id}"))

    assert "算力贷二期" in text(client.get("/catalogue"))
    assert client.post(f"/products/{product_id}/retire").status_code == 302
    with database(app) as session:
        assert session.get(Product, product_id).status == "retired"
    assert "算力贷二期" not in text(client.get("/catalogue"))
    row = element_html(text(client.get("/institution")), f"product-{product_id}")
    assert "已下架" in row and f"/products/{product_id}/reactivate" in row

    assert client.post(f"/products/{product_id}/reactivate").status_code == 302
    with database(app) as session:
        assert session.get(Product, product_id).status == "active"
    assert "算力贷二期" in text(client.get("/catalogue"))


@pytest.mark.parametrize("overrides, field, message", [
    ({"amount_min": "500", "amount_max": "100"}, "amount_max", "最高金额不能低于最低金额。"),
    ({"rate_min": "5", "rate_max": "4.99"}, "rate_max", "最高费率不能低于最低费率。"),
    ({"term_min_months": "24", "term_max_months": "12"}, "term_max_months", "最长期限不能短于最短期限。"),
    ({"amount_min": "-1"}, "amount_min", "金额必须大于 0。"),
    ({"amount_min": "0"}, "amount_min", "金额必须大于 0。"),
    ({"amount_max": "10000001"}, "amount_max", "金额过大：不能超过 1000 亿元。"),
    ({"rate_max": "101"}, "rate_max", "费率须在 0% 到 100% 之间。"),
    ({"rate_min": "-0.5"}, "rate_min", "费率须在 0% 到 100% 之间。"),
    ({"term_max_months": "400"}, "term_max_months", "期限应在 1 到 360 个月之间。"),
    ({"response_working_days": "0"}, "response_working_days", "响应时间应在 1 到 30 个工作日之间。"),
    ({"chains": ["no_such_chain"]}, "chains", "未知的产业链。"),
    ({"region_codes": ["999999"]}, "region_codes", "未知的行政区划代码"),
    ({"region_codes": ["330100", "33"]}, "region_codes", "未知的行政区划代码"),
    ({"stages": ["teenage"]}, "stages", ""),
    ({"name": LONG_NAME}, "name", "字段长度不能超过 120 个字符"),
    ({"description": LONG_TEXT}, "description", "字段长度不能超过 2000 个字符"),
    ({"name": ""}, "name", "此项必填。"),
])
def test_product_form_refuses_bad_input(app, bank_client, overrides, field, message):
    before = counts(app, Product)
    response = bank_client.post("/products/new", data=product_data(**overrides))
    assert_field_error(response, field, message)
    assert counts(app, Product) == before


def test_product_edit_refuses_bad_input_and_keeps_the_product(app, bank_client):
    with database(app):
        product = factories.product(bank_client.bank, amount_min_yuan=1_000_000, amount_max_yuan=2_000_000)
    response = bank_client.post(f"/products/{product.id}/edit",
                                data=product_data(amount_min="900", amount_max="100"))
    assert_field_error(response, "amount_max", "最高金额不能低于最低金额。")
    with database(app) as session:
        kept = session.get(Product, product.id)
        assert (kept.name, kept.amount_min_yuan, kept.amount_max_yuan) == (product.name, 1_000_000, 2_000_000)


def test_product_name_unique_within_the_institution(app, bank_client):
    with database(app):
        factories.product(bank_client.bank, name="科创贷")
    before = counts(app, Product)
    response = bank_client.post("/products/new", data=product_data(name="科创贷"))
    assert_field_error(response, "name", "本机构已有同名产品。")
    assert counts(app, Product) == before


def test_institution_profile_edit_and_banner(app, client):
    with database(app):
        bank = factories.institution_user(status="rejected", review_note="请补充营业执照信息",
                                          region_codes=["330106", "320100"])
    sign_in(client, bank.email)
    html = text(client.get("/institution"))
    assert "审核未通过" in html and "请补充营业执照信息" in html and "西湖区" in html and "南京市" in html
    form = client.get("/institution/edit")
    assert form.status_code == 200
    data = {"name": "改名银行", "kind": "other", "kind_other": "", "region_codes": [], "contact_name": "钱七",
            "contact_phone": "0571-1"}
    assert_field_error(client.post("/institution/edit", data=data), "kind_other", "请填写机构类别名称。")
    data["kind_other"] = "供应链金融"
    assert client.post("/institution/edit", data=data).status_code == 302
    html = text(client.get("/institution"))
    assert "改名银行" in html and "供应链金融" in html and "全国" in html
    # corrected after a rejection: back to the organisers' queue, with the last note kept
    assert "待审核" in html and "请补充营业执照信息" in html
    with database(app) as session:
        institution = session.get(Institution, bank.institution_id)
        assert (institution.status, institution.review_note) == ("pending", "请补充营业执照信息")


# ---- the catalogue (金融超市) ------------------------------------------------------------------

@pytest.fixture
def market_products(app):
    """Products of approved institutions across regions, plus ones the catalogue must not show."""
    with database(app):
        bank = factories.institution_user()
        other = factories.institution_user(name="宁波测试银行")
        pending = factories.institution_user(status="pending")
        rejected = factories.institution_user(status="rejected")
        made = {
            "nationwide": factories.product(bank, name="全国通用贷", amount_min_yuan=100_000,
                                            amount_max_yuan=5_000_000),
            "zhejiang": factories.product(bank, name="浙江股权基金", type="equity", region_codes=["330000"],
                                          chain_codes=["ai"], is_exclusive=True, amount_min_yuan=10_000_000,
                                          amount_max_yuan=50_000_000, rate_min_bp=None, rate_max_bp=None,
                                          term_min_months=None, term_max_months=None),
            "hangzhou": factories.product(bank, name="杭州科技保险", type="insurance", region_codes=["330100"],
                                          chain_codes=["integrated_circuits"], amount_min_yuan=500_000,
                                          amount_max_yuan=2_000_000),
            "xihu": factories.product(other, name="西湖小微贷", region_codes=["330106"], chain_codes=["ai"],
                                      amount_min_yuan=100_000, amount_max_yuan=1_000_000),
            "ningbo": factories.product(other, name="宁波担保通", type="guarantee", region_codes=["330200"]),
            "nanjing": factories.product(other, name="南京科创贷", region_codes=["320100"]),
            "retired": factories.product(bank, name="已下架的贷款"),
            "pending": factories.product(pending, name="待审机构的产品"),
            "rejected": factories.product(rejected, name="被拒机构的产品"),
        }
        factories.sme()
    with database(app) as session:
        session.get(Product, made["retired"].id).status = "retired"
        session.commit()
    return {key: product.name for key, product in made.items()}


LISTED = ["nationwide", "zhejiang", "hangzhou", "xihu", "ningbo", "nanjing"]


def listed(client, query: str = "") -> set[str]:
    response = client.get("/catalogue" + query)
    assert response.status_code == 200
    html = text(response)
    names = set(re.findall(r'<h3><a href="/catalogue/\d+">([^<]+)</a></h3>', html))
    match = re.search(r"共 (\d+) 个产品", html)
    assert match and int(match.group(1)) == len(names), html[:3000]
    return names


def names(market_products, *keys) -> set[str]:
    return {market_products[key] for key in keys}


def test_catalogue_lists_active_products_of_approved_institutions(client, market_products):
    assert listed(client) == names(market_products, *LISTED)


@pytest.mark.parametrize("query, expected", [
    ("?type=equity", ["zhejiang"]),
    ("?type=insurance", ["hangzhou"]),
    ("?type=loan", ["nationwide", "xihu", "nanjing"]),
    ("?chain=ai", ["nationwide", "zhejiang", "xihu", "ningbo", "nanjing"]),
    ("?chain=integrated_circuits", ["nationwide", "hangzhou", "ningbo", "nanjing"]),
    # region: a product's region must contain the chosen one; nationwide products always qualify
    ("?region=330106", ["nationwide", "zhejiang", "hangzhou", "xihu"]),
    ("?region=330108", ["nationwide", "zhejiang", "hangzhou"]),
    ("?region=330100", ["nationwide", "zhejiang", "hangzhou"]),
    ("?region=330000", ["nationwide", "zhejiang"]),
    ("?region=330200", ["nationwide", "zhejiang", "ningbo"]),
    ("?region=320100", ["nationwide", "nanjing"]),
    ("?region=440300", ["nationwide"]),
    # amount in 万元: within [min, max], bounds included
    ("?amount=10", ["nationwide", "xihu"]),
    ("?amount=100", ["nationwide", "hangzhou", "xihu", "ningbo", "nanjing"]),
    ("?amount=1000", ["zhejiang", "ningbo", "nanjing"]),
    ("?amount=5000", ["zhejiang"]),
    ("?amount=5001", []),
    ("?exclusive=y", ["zhejiang"]),
    ("?type=loan&region=330106&amount=50&chain=ai", ["nationwide", "xihu"]),
    ("?type=&chain=&region=&amount=", LISTED),
])
def test_catalogue_filters(client, market_products, query, expected):
    assert listed(client, query) == names(market_products, *expected)


def test_catalogue_empty_state_and_bad_filters(client, market_products):
    html = text(client.get("/catalogue?amount=5001"))
    assert "没有符合条件的产品" in html and "共 0 个产品" in html
    response = client.get("/catalogue?region=999999")
    assert response.status_code == 200
    assert_field_error(response, "region", "未知的行政区划代码")
    assert_field_error(client.get("/catalogue?amount=-3"), "amount", "金额必须大于 0。")
    assert client.get("/catalogue?type=bitcoin").status_code == 200


def test_hidden_products_have_no_public_page(app, client, market_products):
    with database(app) as session:
        ids = {name: id_ for name, id_ in session.execute(select(Product.name, Product.id))}
    assert client.get(f"/catalogue/{ids[market_products['pending']]}").status_code == 404
    assert client.get(f"/catalogue/{ids[market_products['rejected']]}").status_code == 404
    assert client.get(f"/catalogue/{ids[market_products['nationwide']]}").status_code == 200
    html = text(client.get(f"/catalogue/{ids[market_products['retired']]}"))
    assert "该产品已下架" in html


def test_pending_institution_sees_its_own_product(app, client):
    with database(app):
        pending = factories.institution_user(status="pending")
        product = factories.product(pending, name="审核中的产品")
    sign_in(client, pending.email)
    assert "审核中的产品" not in text(client.get("/catalogue"))
    html = text(client.get(f"/catalogue/{product.id}"))
    assert "尚未通过审核" in html
    assert "待审核" in text(client.get("/institution"))


# ---- review and language ------------------------------------------------------------------------

def test_organiser_approves_and_rejects(app, client):
    with database(app):
        first = factories.institution_user(status="pending", region_codes=["330106"], name="甲银行")
        second = factories.institution_user(status="pending", region_codes=["330100"], name="乙银行")
        product = factories.product(first, name="甲银行的贷款")
        organiser = factories.organiser("330100")
    sign_in(client, organiser.email)
    html = text(client.get("/institutions/review"))
    assert "甲银行" in html and "乙银行" in html and "西湖区" in html and "待审核" in html
    response = client.post(f"/institutions/{first.institution_id}/review", data={"decision": "approve", "note": "资料齐全"})
    assert response.status_code == 302
    response = client.post(f"/institutions/{second.institution_id}/review",
                           data={"decision": "reject", "note": "无法核实联系人"})
    assert response.status_code == 302
    with database(app) as session:
        assert session.get(Institution, first.institution_id).status == "approved"
        rejected = session.get(Institution, second.institution_id)
        assert (rejected.status, rejected.review_note) == ("rejected", "无法核实联系人")
    assert "甲银行的贷款" in text(client.get("/catalogue"))
    assert client.get(f"/catalogue/{product.id}").status_code == 200
    row = element_html(text(client.get("/institutions/review")), f"institution-{second.institution_id}")
    assert "未通过" in row and "无法核实联系人" in row and 'name="decision"' not in row
    assert client.post(f"/institutions/{second.institution_id}/review", data={"decision": "maybe"}).status_code == 400


def test_english_switch(client, market_products):
    response = client.post("/language/en", data={"next": "/"})
    assert response.status_code == 302
    page = client.get("/")
    assert page.status_code == 200 and 'lang="en"' in text(page)
    catalogue = client.get("/catalogue")
    assert catalogue.status_code == 200 and 'lang="en"' in text(catalogue)
    client.post("/language/zh")
    assert 'lang="zh-CN"' in text(client.get("/"))


def test_english_pages_render_for_each_role(app, client):
    with database(app):
        sme = factories.sme()
        factories.need(sme)
        bank = factories.institution_user(status="pending")
        product = factories.product(bank)
    client.post("/language/en")
    sign_in(client, sme.email)
    for path in ("/enterprise", "/enterprise/edit", "/needs/new", "/catalogue"):
        assert client.get(path).status_code == 200, path
    other = client.application.test_client()
    other.post("/language/en")
    sign_in(other, bank.email)
    for path in ("/institution", "/institution/edit", "/products/new", f"/products/{product.id}/edit",
                 f"/catalogue/{product.id}"):
        assert other.get(path).status_code == 200, path


def test_an_over_long_review_note_is_cut_to_the_column(app, client):
    with database(app):
        pending = factories.institution_user(status="pending", region_codes=["330106"])
        admin = factories.admin()
    sign_in(client, admin.email)
    response = client.post(f"/institutions/{pending.institution_id}/review",
                           data={"decision": "reject", "note": "资料" * 300})
    assert response.status_code == 302
    with database(app) as session:
        institution = session.get(Institution, pending.institution_id)
        assert institution.status == "rejected" and institution.review_note == "资料" * 250
