"""CSRF: with protection on (as in production), every POST route refuses a missing or wrong token
and changes nothing; the token of the page works."""
import re

import pytest
from flask import url_for
from sqlalchemy import inspect
from werkzeug.routing import IntegerConverter

from chainmatch import create_app
from core.extensions import db
from tests.conftest import DEMO_PASSWORD, extract_csrf
from tests.market.test_pages import need_data, product_data, sme_sign_up_data
from tests.support import factories
from tests.support.database import database


@pytest.fixture(scope="module")
def csrf_app(app):
    """A second app on the same database, with CSRF protection switched on."""
    protected = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "WTF_CSRF_ENABLED": True,
        "SERVER_NAME": None,
        "MAIL_BACKEND": "memory",
    })
    yield protected
    with protected.app_context():
        db.engine.dispose()


@pytest.fixture
def world(app):
    with database(app):
        sme = factories.sme()
        bank = factories.institution_user(region_codes=["330100"])
        pending = factories.institution_user(status="pending", region_codes=["330106"])
        admin = factories.admin()
        ids = {"need_id": factories.need(sme).id, "product_id": factories.product(bank).id,
               "institution_id": pending.institution_id}
    return {"sme": sme, "institution": bank, "admin": admin, "ids": ids}


def snapshot(app) -> dict:
    """Every row of every table."""
    with database(app) as session:
        present = set(inspect(session.get_bind()).get_table_names())
        return {table.name: sorted(repr(tuple(row)) for row in session.execute(table.select()))
                for table in db.metadata.sorted_tables if table.name in present}


def token_of(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return extract_csrf(response.get_data(as_text=True))


def signed_in(csrf_app, email: str):
    client = csrf_app.test_client()
    token = token_of(client, "/account/sign-in")
    response = client.post("/account/sign-in", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


# Who posts to each known endpoint, and form data that would be accepted with a valid token.
def _requests(world) -> dict:
    institution_data = {"name": "改名银行", "kind": "bank", "contact_name": "赵六", "contact_phone": "0571-1"}
    return {
        "home.switch_language": (None, {"next": "/"}),
        "auth.sign_in": (None, {"email": world["sme"].email, "password": DEMO_PASSWORD}),
        "auth.sign_out": ("sme", {}),
        "auth.sign_up_sme": (None, sme_sign_up_data(email="new-sme@example.com")),
        "auth.sign_up_institution": (None, dict(institution_data, email="new-bank@example.com", display_name="赵六",
                                                password=DEMO_PASSWORD, confirm=DEMO_PASSWORD, name="新银行")),
        "market.edit_enterprise": ("sme", sme_sign_up_data(name="被篡改的企业", credit_code=None)),
        "market.new_need": ("sme", need_data()),
        "market.edit_need": ("sme", need_data(amount="1")),
        "market.withdraw_need": ("sme", {"reason": "csrf"}),
        "market.edit_institution": ("institution", institution_data),
        "market.new_product": ("institution", product_data()),
        "market.edit_product": ("institution", product_data(name="被篡改的产品")),
        "market.retire_product": ("institution", {}),
        "market.reactivate_product": ("institution", {}),
        "market.review_institution": ("admin", {"decision": "approve", "note": "csrf"}),
    }


def post_routes(csrf_app, ids: dict) -> list[tuple[str, str]]:
    """(endpoint, url) of every rule of the URL map that accepts POST, with real ids filled in."""
    routes = []
    with csrf_app.test_request_context():
        for rule in csrf_app.url_map.iter_rules():
            if "POST" not in rule.methods:
                continue
            values = {}
            for argument in rule.arguments:
                is_int = isinstance(rule._converters[argument], IntegerConverter)
                values[argument] = ids.get(argument, "en" if argument == "code" else 1 if is_int else "x")
            routes.append((rule.endpoint, url_for(rule.endpoint, **values)))
    return routes


@pytest.mark.parametrize("token", ["missing", "garbage", "another_sessions"])
def test_every_post_route_refuses_a_bad_token_and_changes_nothing(app, csrf_app, world, token):
    requests = _requests(world)
    clients = {None: csrf_app.test_client()}
    for role in ("sme", "institution", "admin"):
        clients[role] = signed_in(csrf_app, world[role].email)
    stranger = csrf_app.test_client()
    foreign_token = token_of(stranger, "/account/sign-in")

    routes = post_routes(csrf_app, world["ids"])
    assert {endpoint for endpoint, _ in routes} >= set(requests), "a known POST route is missing from the map"
    before = snapshot(app)
    refused = []
    for endpoint, url in routes:
        role, data = requests.get(endpoint, ("admin", {}))
        data = dict(data)
        if token == "garbage":
            data["csrf_token"] = "IjAxMjM0NTY3ODkwMTIzNDU2Nzg5Ig.garbage.garbage"
        elif token == "another_sessions":
            data["csrf_token"] = foreign_token
        response = clients[role].post(url, data=data)
        refused.append((endpoint, url, response.status_code))
        assert response.status_code == 400, (endpoint, url, response.status_code)
        assert "CSRF" in response.get_data(as_text=True)
    assert snapshot(app) == before

    # nobody was signed in or out, and the language did not change
    assert clients["sme"].get("/enterprise").status_code == 200
    assert clients[None].get("/enterprise").status_code == 302
    assert 'lang="zh-CN"' in clients[None].get("/").get_data(as_text=True)
    assert len(refused) >= len(requests)


def test_the_token_of_the_page_works(app, csrf_app, world):
    client = csrf_app.test_client()
    token = token_of(client, "/account/sign-in")
    response = client.post("/account/sign-in", data={"email": world["sme"].email, "password": DEMO_PASSWORD,
                                                     "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/enterprise"
    assert client.get("/enterprise").status_code == 200

    page = client.get("/needs/new").get_data(as_text=True)  # a create form: its one-time submission token too
    submission = re.search(r'name="submission_token"[^>]*value="([^"]+)"', page).group(1)
    assert client.post("/needs/new", data=dict(need_data(purpose="带令牌的需求"), csrf_token=extract_csrf(page),
                                               submission_token=submission)).status_code == 302
    assert "带令牌的需求" in client.get("/enterprise").get_data(as_text=True)

    need_id = world["ids"]["need_id"]
    token = token_of(client, "/enterprise")
    response = client.post(f"/needs/{need_id}/withdraw", data={"reason": "ok", "csrf_token": token})
    assert response.status_code == 302
    with database(app) as session:
        from market.models import FinancingNeed
        assert session.get(FinancingNeed, need_id).status == "withdrawn"

    response = client.post("/language/en", data={"csrf_token": token, "next": "/"})
    assert response.status_code == 302
    assert 'lang="en"' in client.get("/").get_data(as_text=True)

    token = token_of(client, "/enterprise")
    assert client.post("/account/sign-out", data={"csrf_token": token}).status_code == 302
    assert client.get("/enterprise").status_code == 302


def test_the_catalogue_filter_needs_no_token(csrf_app, world):
    """The 金融超市 filter is a GET form: no token, and bookmarkable."""
    response = csrf_app.test_client().get("/catalogue?type=loan&region=330106&amount=50")
    assert response.status_code == 200
    assert "csrf_token" not in response.get_data(as_text=True).split('class="card filter-bar')[1].split("</form>")[0]
