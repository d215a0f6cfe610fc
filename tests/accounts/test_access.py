"""Who may do what: a permission table over every page of home, auth and market, and sessions."""
from types import SimpleNamespace

import pytest
from flask import url_for
from sqlalchemy import select

from accounts import services as accounts
from accounts.models import User
from accounts.redirects import safe_next
from market.models import FinancingNeed, Institution, Product
from tests.conftest import DEMO_PASSWORD, finish_sign_up, mailed_link, sign_in
from tests.support import factories
from tests.support.database import database

ROLES = ["anonymous", "sme", "other_sme", "institution", "other_institution", "organiser", "other_organiser",
         "admin"]
LOGIN = "login"  # 302 to the sign-in page
OK, REDIRECT, FORBIDDEN, MISSING, BAD = 200, 302, 403, 404, 400


@pytest.fixture
def world(app):
    """Two SMEs with a need each, two approved institutions with a product each, a pending
    institution with a product, a Hangzhou organiser, a Nanjing organiser and an admin."""
    with database(app):
        users = {
            "sme": factories.sme(region_code="330106"),
            "other_sme": factories.sme(region_code="330100"),
            "institution": factories.institution_user(region_codes=["330106"]),
            "other_institution": factories.institution_user(region_codes=["330100"]),
            "organiser": factories.organiser("330100"),
            "other_organiser": factories.organiser("320100"),
            "admin": factories.admin(),
        }
        pending = factories.institution_user(status="pending", region_codes=["330106"])
        ids = {
            "need": factories.need(users["sme"]).id,
            "other_need": factories.need(users["other_sme"]).id,
            "product": factories.product(users["institution"]).id,
            "other_product": factories.product(users["other_institution"]).id,
            "pending_product": factories.product(pending).id,
            "pending_institution": pending.institution_id,
            "token": "not-a-signed-token",
        }
    return SimpleNamespace(users=users, ids=ids)


def roles(default, **special) -> dict:
    table = dict.fromkeys(ROLES, default)
    table.update(special)
    return table


def only(allowed: dict, anonymous=LOGIN, others=FORBIDDEN) -> dict:
    table = roles(others, anonymous=anonymous)
    table.update(allowed)
    return table


SME = dict(sme=OK, other_sme=OK)
INSTITUTION = dict(institution=OK, other_institution=OK)
REVIEWERS = dict(organiser=OK, other_organiser=OK, admin=OK)
SIGNED_IN = {role: REDIRECT for role in ROLES if role != "anonymous"}

# (method, path, form data, expected by role). Paths name ids of `world` in braces.
TABLE = [
    ("GET", "/", None, roles(OK)),
    ("POST", "/language/zh", {}, roles(REDIRECT)),
    ("GET", "/account/sign-in", None, roles(OK)),
    ("POST", "/account/sign-in", {}, roles(OK)),
    ("GET", "/account/sign-up", None, roles(OK)),
    ("GET", "/account/sign-up/enterprise", None, roles(OK)),
    ("POST", "/account/sign-up/enterprise", {}, roles(OK)),
    ("GET", "/account/sign-up/institution", None, roles(OK)),
    ("POST", "/account/sign-up/institution", {}, roles(OK)),
    ("POST", "/account/sign-out", {}, only(SIGNED_IN, others=REDIRECT)),
    ("GET", "/account/", None, only({role: OK for role in SIGNED_IN})),
    ("GET", "/account/password", None, only({role: OK for role in SIGNED_IN})),
    ("POST", "/account/password", {}, only({role: OK for role in SIGNED_IN})),
    ("GET", "/account/password/forgot", None, roles(OK)),
    ("POST", "/account/password/forgot", {}, roles(OK)),
    ("GET", "/account/password/reset/{token}", None, roles(BAD)),
    ("POST", "/account/password/reset/{token}", {}, roles(BAD)),
    ("GET", "/account/verify/{token}", None, roles(OK)),
    ("POST", "/account/verify/{token}", {}, roles(BAD)),
    ("GET", "/account/audit", None, only(dict(SME, **REVIEWERS))),
    ("GET", "/enterprise", None, only(SME)),
    ("GET", "/enterprise/edit", None, only(SME)),
    ("POST", "/enterprise/edit", {}, only(SME)),
    ("GET", "/needs/new", None, only(SME)),
    ("POST", "/needs/new", {}, only(SME)),
    ("GET", "/needs/{need}/edit", None, only(dict(sme=OK, other_sme=MISSING))),
    ("POST", "/needs/{need}/edit", {}, only(dict(sme=OK, other_sme=MISSING))),
    ("POST", "/needs/{need}/withdraw", {"reason": "x"}, only(dict(sme=REDIRECT, other_sme=MISSING))),
    ("GET", "/needs/999999/edit", None, only(dict(sme=MISSING, other_sme=MISSING))),
    ("GET", "/institution", None, only(INSTITUTION)),
    ("GET", "/institution/edit", None, only(INSTITUTION)),
    ("POST", "/institution/edit", {"name": ""}, only(INSTITUTION)),
    ("GET", "/products/new", None, only(INSTITUTION)),
    ("POST", "/products/new", {}, only(INSTITUTION)),
    ("GET", "/products/{product}/edit", None, only(dict(institution=OK, other_institution=MISSING))),
    ("POST", "/products/{product}/edit", {}, only(dict(institution=OK, other_institution=MISSING))),
    ("POST", "/products/{product}/retire", {}, only(dict(institution=REDIRECT, other_institution=MISSING))),
    ("POST", "/products/{product}/reactivate", {}, only(dict(institution=REDIRECT, other_institution=MISSING))),
    ("GET", "/products/999999/edit", None, only(dict(institution=MISSING, other_institution=MISSING))),
    ("GET", "/catalogue", None, roles(OK)),
    ("GET", "/catalogue/{product}", None, roles(OK)),
    ("GET", "/catalogue/{pending_product}", None, roles(MISSING)),
    ("GET", "/catalogue/999999", None, roles(MISSING)),
    ("GET", "/institutions/review", None, only(REVIEWERS)),
    ("POST", "/institutions/{pending_institution}/review", {"decision": "approve"},
     only(dict(organiser=REDIRECT, other_organiser=MISSING, admin=REDIRECT))),
    ("POST", "/institutions/{pending_institution}/review", {"decision": "reject", "note": "x"},
     only(dict(organiser=REDIRECT, other_organiser=MISSING, admin=REDIRECT))),
    ("POST", "/institutions/{pending_institution}/review", {"decision": "perhaps"},
     only(dict(organiser=BAD, other_organiser=BAD, admin=BAD))),
    ("POST", "/institutions/999999/review", {"decision": "approve"},
     only(dict(organiser=MISSING, other_organiser=MISSING, admin=MISSING))),
]

CASES = [pytest.param(method, path, data, role, expected[role], id=f"{method} {path} as {role}")
         for method, path, data, expected in TABLE for role in ROLES]


def signed_in_client(app, world, role):
    client = app.test_client()
    if role != "anonymous":
        sign_in(client, world.users[role].email)
    return client


@pytest.mark.parametrize("method, path, data, role, expected", CASES)
def test_permission_table(app, world, method, path, data, role, expected):
    client = signed_in_client(app, world, role)
    url = path.format(**world.ids)
    response = client.open(url, method=method, data=data)
    if expected == LOGIN:
        assert response.status_code == 302, response.status_code
        assert response.headers["Location"].startswith("/account/sign-in?next="), response.headers["Location"]
    else:
        assert response.status_code == expected, (url, response.status_code)
        if expected == REDIRECT:
            assert not response.headers["Location"].startswith("/account/sign-in")


def test_the_table_covers_every_route(app):
    """A new route of these blueprints must get a row above."""
    covered = {(method, path.split("?")[0]) for method, path, _, _ in TABLE}
    placeholders = {"need_id": "{need}", "product_id": "{product}", "institution_id": "{pending_institution}",
                    "code": "zh", "token": "{token}"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in ("home", "auth", "market"):
            continue
        path = rule.rule
        for argument in rule.arguments:
            path = path.replace(f"<int:{argument}>", placeholders[argument]).replace(f"<{argument}>",
                                                                                    placeholders[argument])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in covered, (method, path)


# ---- others' data -------------------------------------------------------------------------------

def need_snapshot(app, need_id):
    with database(app) as session:
        need = session.get(FinancingNeed, need_id)
        return (need.type, need.amount_yuan, need.term_months, need.purpose, need.status, need.withdrawn_reason,
                sorted(need.collateral))


def product_snapshot(app, product_id):
    with database(app) as session:
        product = session.get(Product, product_id)
        return (product.name, product.amount_min_yuan, product.amount_max_yuan, product.status,
                product.is_exclusive, sorted(product.region_codes))


def test_sme_cannot_read_or_change_another_enterprises_needs(app, world):
    client = signed_in_client(app, world, "other_sme")
    need_id = world.ids["need"]
    before = need_snapshot(app, need_id)
    assert client.get(f"/needs/{need_id}/edit").status_code == 404
    valid = {"type": "equity", "amount": "1", "term_months": "1", "purpose": "hijack", "collateral": ["ip"]}
    assert client.post(f"/needs/{need_id}/edit", data=valid).status_code == 404
    assert client.post(f"/needs/{need_id}/withdraw", data={"reason": "hijack"}).status_code == 404
    assert need_snapshot(app, need_id) == before
    assert "hijack" not in client.get("/enterprise").get_data(as_text=True)
    # the owner still can
    owner = signed_in_client(app, world, "sme")
    assert owner.post(f"/needs/{need_id}/edit", data=valid).status_code == 302
    assert need_snapshot(app, need_id)[:4] == ("equity", 10_000, 1, "hijack")


def test_institution_cannot_change_another_institutions_products(app, world):
    client = signed_in_client(app, world, "other_institution")
    product_id = world.ids["product"]
    before = product_snapshot(app, product_id)
    valid = {"name": "hijacked", "type": "loan", "amount_min": "1", "amount_max": "2", "response_working_days": "5",
             "is_exclusive": "y"}
    assert client.get(f"/products/{product_id}/edit").status_code == 404
    assert client.post(f"/products/{product_id}/edit", data=valid).status_code == 404
    assert client.post(f"/products/{product_id}/retire").status_code == 404
    assert product_snapshot(app, product_id) == before
    with database(app) as session:
        session.get(Product, product_id).status = "retired"
        session.commit()
    assert client.post(f"/products/{product_id}/reactivate").status_code == 404
    assert product_snapshot(app, product_id)[3] == "retired"


def test_organiser_of_another_region_cannot_review(app, world):
    institution_id = world.ids["pending_institution"]
    client = signed_in_client(app, world, "other_organiser")
    page = client.get("/institutions/review").get_data(as_text=True)
    assert f"institution-{institution_id}" not in page
    for decision in ("approve", "reject"):
        response = client.post(f"/institutions/{institution_id}/review", data={"decision": decision})
        assert response.status_code == 404
    with database(app) as session:
        institution = session.get(Institution, institution_id)
        assert (institution.status, institution.reviewed_at) == ("pending", None)
    # the Hangzhou organiser sees it and may decide
    hangzhou = signed_in_client(app, world, "organiser")
    assert f"institution-{institution_id}" in hangzhou.get("/institutions/review").get_data(as_text=True)


def test_nationwide_institutions_are_in_every_organisers_scope(app, world):
    with database(app):
        nationwide = factories.institution_user(status="pending", region_codes=[])
    client = signed_in_client(app, world, "other_organiser")
    assert client.post(f"/institutions/{nationwide.institution_id}/review",
                       data={"decision": "approve"}).status_code == 302


# ---- sessions -----------------------------------------------------------------------------------

def test_signing_out_invalidates_a_copied_cookie(app, world):
    email = world.users["sme"].email
    first = app.test_client()
    sign_in(first, email)
    assert first.get("/enterprise").status_code == 200
    cookie = first.get_cookie("session")
    assert cookie is not None

    second = app.test_client()
    second.set_cookie("session", cookie.value, domain=cookie.domain or "localhost")
    assert second.get("/enterprise").status_code == 200  # the copy works while the session lives

    assert first.post("/account/sign-out").status_code == 302
    response = second.get("/enterprise")
    assert response.status_code == 302 and response.headers["Location"].startswith("/account/sign-in")
    assert first.get("/enterprise").status_code == 302

    # signing in again gives a new, working session
    sign_in(first, email)
    assert first.get("/enterprise").status_code == 200
    assert second.get("/enterprise").status_code == 302


def test_remember_cookie_is_invalidated_too(app, world):
    email = world.users["sme"].email
    client = app.test_client()
    client.post("/account/sign-in", data={"email": email, "password": DEMO_PASSWORD, "remember": "y"})
    remember = client.get_cookie("remember_token")
    assert remember is not None
    thief = app.test_client()
    thief.set_cookie("remember_token", remember.value, domain=remember.domain or "localhost")
    assert thief.get("/enterprise").status_code == 200
    client.post("/account/sign-out")
    thief.delete_cookie("session", domain="localhost")
    assert thief.get("/enterprise").status_code == 302


def test_disabling_a_user_ends_its_session(app, world):
    client = signed_in_client(app, world, "sme")
    assert client.get("/enterprise").status_code == 200
    with database(app) as session:
        admin = session.get(User, world.users["admin"].id)
        user = session.get(User, world.users["sme"].id)
        accounts.set_enabled(admin, user, False)
        session.commit()
    response = client.get("/enterprise")
    assert response.status_code == 302 and response.headers["Location"].startswith("/account/sign-in")
    # and it cannot sign in again
    response = client.post("/account/sign-in", data={"email": world.users["sme"].email, "password": DEMO_PASSWORD})
    assert response.status_code == 200 and "邮箱或密码不正确" in response.get_data(as_text=True)


def test_only_an_admin_may_disable(app, world):
    from core.errors import Forbidden
    with database(app) as session:
        organiser = session.get(User, world.users["organiser"].id)
        user = session.get(User, world.users["sme"].id)
        with pytest.raises(Forbidden):
            accounts.set_enabled(organiser, user, False)


# ---- redirects after sign-in -------------------------------------------------------------------

UNSAFE_NEXT = ["//evil.com", "/\\evil.com", "https://evil.com", "http://evil.com/enterprise", "\\\\evil.com",
               "javascript:alert(1)", "evil.com", "/\t/evil.com", "///evil.com", "https:evil.com", " //evil.com"]


@pytest.mark.parametrize("target", UNSAFE_NEXT)
def test_safe_next_refuses_other_sites(target):
    assert safe_next(target, "/fallback") == "/fallback"


@pytest.mark.parametrize("target", ["/enterprise", "/catalogue?type=loan&chain=ai", "/needs/3/edit"])
def test_safe_next_keeps_local_paths(target):
    assert safe_next(target, "/fallback") == target


@pytest.mark.parametrize("target", UNSAFE_NEXT)
def test_sign_in_form_refuses_unsafe_next(app, world, target):
    client = app.test_client()
    response = client.post("/account/sign-in", data={"email": world.users["sme"].email, "password": DEMO_PASSWORD,
                                                     "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/enterprise"


def test_sign_in_follows_a_local_next(app, world):
    client = app.test_client()
    response = client.post("/account/sign-in", data={"email": world.users["sme"].email, "password": DEMO_PASSWORD,
                                                     "next": "/needs/new"})
    assert response.headers["Location"] == "/needs/new"


def test_protected_page_sends_to_sign_in_and_back(app, world):
    client = app.test_client()
    response = client.get("/needs/new")
    location = response.headers["Location"]
    assert location.startswith("/account/sign-in?next=")
    page = client.get(location).get_data(as_text=True)
    assert 'value="/needs/new"' in page
    response = client.post("/account/sign-in", data={"email": world.users["sme"].email, "password": DEMO_PASSWORD,
                                                     "next": "/needs/new"})
    assert response.headers["Location"] == "/needs/new"


def test_sign_up_refuses_unsafe_next(app):
    from tests.market.test_pages import sme_sign_up_data
    client = app.test_client()
    response = client.post("/account/sign-up/enterprise?next=//evil.com",
                           data=sme_sign_up_data(next="//evil.com"))
    assert response.status_code == 200
    assert "evil.com" not in mailed_link(app, "founder@example.com")
    response = finish_sign_up(client, app, "founder@example.com")
    assert response.status_code == 302 and response.headers["Location"] == "/enterprise"


def test_sign_up_keeps_a_local_next_through_the_mail(app):
    from tests.market.test_pages import sme_sign_up_data
    client = app.test_client()
    client.post("/account/sign-up/enterprise", data=sme_sign_up_data(next="/needs/new"))
    response = finish_sign_up(client, app, "founder@example.com")
    assert response.status_code == 302 and response.headers["Location"] == "/needs/new"


def test_language_switch_refuses_unsafe_next(app):
    client = app.test_client()
    response = client.post("/language/en", data={"next": "/\\evil.com"})
    assert response.headers["Location"] == "/"


def test_url_for_matches_the_table_paths(app):
    with app.test_request_context():
        assert url_for("market.edit_need", need_id=7) == "/needs/7/edit"
        assert url_for("market.review_institution", institution_id=3) == "/institutions/3/review"


def _demo_account(app) -> str:
    """An account with a demo address, as the demo's seeds make it (sign-up refuses such addresses)."""
    with database(app) as session:
        user = session.get(User, factories.sme().id)
        user.email = "sme@demo.local"
        session.commit()
    return "sme@demo.local"


def test_demo_accounts_sign_in_in_the_demo_only(app, monkeypatch):
    """"@demo.local" is a special-use domain email_validator refuses: the sign-in form must still take it,
    in the demo; a real instance refuses the demo's accounts even if its database holds one."""
    email = _demo_account(app)
    monkeypatch.setitem(app.config, "DEMO_MODE", True)
    client = app.test_client()
    sign_in(client, email)
    assert client.get("/enterprise").status_code == 200

    monkeypatch.setitem(app.config, "DEMO_MODE", False)
    assert client.get("/enterprise").status_code == 302  # the session of a demo account ends
    refused = app.test_client().post("/account/sign-in", data={"email": email, "password": DEMO_PASSWORD})
    assert refused.status_code == 200 and "邮箱或密码不正确" in refused.get_data(as_text=True)
    with database(app) as session:
        from accounts.audit import AuditEvent
        failure = session.scalars(select(AuditEvent).where(AuditEvent.kind == "sign_in_failed")).all()[-1]
        assert (failure.email, failure.detail) == (email, "demo account outside the demo")


def test_sign_up_refuses_a_demo_address(app, client):
    from tests.market.test_pages import sme_sign_up_data
    response = client.post("/account/sign-up/enterprise", data=sme_sign_up_data(email="new@demo.local"))
    assert response.status_code == 200 and "请查收邮件" not in response.get_data(as_text=True)
