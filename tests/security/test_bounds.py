"""Input bounds (issue 10, point 8): body size, numbers, ids and control characters, case by case.

The fuzz test (test_fuzz.py) walks everything; these pin down the cases the issue names, the messages
people see, and the project rule that no form uses an unbounded number field.
"""
import importlib
import time
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from wtforms import DecimalField, FloatField, Form, IntegerField, SelectField, SelectFieldBase
from wtforms.fields.core import UnboundField

from chainmatch import create_app
from chainmatch.input_bounds import CleanParameters, strip_control_characters
from core.extensions import db
from events.models import Outcome
from market.fields import INT_MAX, BoundedDecimalField, BoundedIntegerField, WanYuanField, column_int, decimal_shape
from market.models import FinancingNeed, Product
from policies.facts import FactError, parse_facts
from policies.store import vocabulary
from tests.conftest import sign_in
from tests.market.test_pages import need_data, product_data
from tests.policies.pages_support import seeded  # noqa: F401 - fixture
from tests.support import factories
from tests.support.database import count, database
from tests.support.pages import assert_field_error

FORM_MODULES = ("market.forms", "events.forms.organiser", "events.forms.participant", "events.forms.online",
                "events.routes.reports", "policies.forms", "accounts.forms")


# ---- the body ------------------------------------------------------------------------------------

def test_a_body_over_one_megabyte_gets_the_413_page_in_the_users_language(app, client):
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    big = {"email": "a@example.com", "password": "x" * (1024 * 1024)}
    response = client.post("/account/sign-in", data=big)
    assert response.status_code == 413
    assert "提交的内容过大（上限 1024 KB）" in response.get_data(as_text=True)
    many = MultiDict([(f"f{i}", "x" * 1_000) for i in range(1_100)])  # multipart, each part small
    client.post("/language/en", data={"next": "/"})
    response = client.post("/account/sign-in", data=many, content_type="multipart/form-data")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page and "1024 KB" in page  # the English page (its text is in /work/tr)


def test_with_csrf_on_a_large_body_is_refused_before_the_token_is_read(app):
    protected = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                            "WTF_CSRF_ENABLED": True, "MAIL_BACKEND": "memory"})
    try:
        response = protected.test_client().post("/account/sign-in", data={"email": "x" * 2_000_000})
        assert response.status_code == 413
    finally:
        with protected.app_context():
            db.engine.dispose()


# ---- control characters ----------------------------------------------------------------------------

def test_control_characters_are_stripped_from_every_parameter_tab_and_newlines_stay():
    assert strip_control_characters("a\x00b\x01\x08\x0b\x0c\x0e\x1f\x7fc\t\r\n") == "abc\t\r\n"
    cleaned = CleanParameters([("na\x00me", "x\x00y"), ("name", "z\x1b")])
    assert cleaned.getlist("name") == ["xy", "z"]


def test_a_nul_in_the_sign_in_address_signs_in_as_the_address_without_it(app, client):
    with database(app):
        user = factories.sme(email="nul@example.com")
    response = client.post("/account/sign-in", data={"email": "nul\x00@example.com", "password": "wrong-password"})
    assert response.status_code == 200 and "邮箱或密码不正确" in response.get_data(as_text=True)
    sign_in(client, "nul@exa\x00mple.com")
    assert client.get("/enterprise").status_code == 200
    assert user.email == "nul@example.com"


def test_a_nul_in_a_text_field_never_reaches_the_database(app, client):
    with database(app):
        user = factories.sme()
    sign_in(client, user.email)
    response = client.post("/needs/new", data=need_data(purpose="购置\x00服务器\x07。"))
    assert response.status_code == 302
    with database(app) as session:
        assert session.scalars(select(FinancingNeed.purpose)).all() == ["购置服务器。"]


def test_a_path_segment_with_a_control_character_is_a_404(client):
    assert client.get("/policies/clause/a%00b").status_code == 404
    assert client.get("/policies/clause/a%01b/edit").status_code in (302, 404)  # sign-in first, or no such page


# ---- integers in paths, query strings and form ids ---------------------------------------------------

@pytest.mark.parametrize("path", ["/events/999999999999999999999", "/events/9223372036854775808",
                                  "/events/2147483648", "/catalogue/2147483648", "/hall/2147483648"])
def test_ids_beyond_an_integer_column_are_404(client, path):
    assert client.get(path).status_code == 404


def test_query_integers_beyond_the_column_are_ignored_like_text(app, client):
    assert CleanParameters([("year", str(2**63))]).get("year", 7, type=int) == 7
    assert CleanParameters([("year", str(2**31 - 1))]).get("year", type=int) == 2**31 - 1
    assert CleanParameters([("id", "3"), ("id", str(2**31))]).getlist("id", type=int) == [3]
    with database(app):
        organiser = factories.organiser()
    sign_in(client, organiser.email)
    for year in ("9223372036854775808", "2147483648", "-9223372036854775809"):
        assert client.get(f"/organiser/plan?year={year}").status_code == 200
    assert client.get(f"/reports/?event={2**31}").status_code == 200


def test_form_ids_beyond_the_column_are_form_errors(app, client):
    from events.models import Meeting
    from tests.events.test_permissions import build_world
    with database(app):
        ids, emails = build_world()
    sign_in(client, emails["sme"])
    for name in ("institution", "slot", "table"):
        data = {"institution": str(ids["institution"]), "slot": "1", "table": "1", name: str(2**63)}
        response = client.post(f"/events/sessions/{ids['session']}/book", data=data)
        assert response.status_code == 200, name
    response = client.post(f"/events/sessions/{ids['session']}/register", data={"needs": str(2**31), "consent": "y"})
    assert response.status_code == 200 and 'class="errors"' in response.get_data(as_text=True)
    assert count(app, Meeting) == 1  # the world's own


# ---- numbers ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("amount", ["NaN", "-NaN", "sNaN", "Infinity", "-inf", "1e999999999", "1e25",
                                    "1" + "0" * 29, "1e-999999999"])
def test_crafted_amounts_are_refused_beside_the_field(app, client, amount):
    with database(app):
        sme = factories.sme()
        bank = factories.institution_user()
    response = client.get("/catalogue", query_string={"amount": amount})
    assert response.status_code == 200
    assert 'class="errors"' in response.get_data(as_text=True)
    sign_in(client, sme.email)
    response = client.post("/needs/new", data=need_data(amount=amount))
    message = "金额最多精确到元" if amount == "1e-999999999" else \
        "金额过大" if amount[0].isdigit() or amount.startswith("1e") else "请输入数字"
    assert_field_error(response, "amount", message)
    assert count(app, FinancingNeed) == 0
    client.post("/account/sign-out")
    sign_in(client, bank.email)
    for field in ("amount_min", "rate_min"):
        response = client.post("/products/new", data=product_data(**{field: amount}))
        assert response.status_code == 200 and 'class="errors"' in response.get_data(as_text=True)
    assert count(app, Product) == 0


def test_an_outcome_with_a_nan_intent_is_refused_beside_the_field(app, client):
    from tests.events.test_permissions import build_world
    with database(app):
        ids, emails = build_world()
    sign_in(client, emails["sme"])
    response = client.post(f"/events/meetings/{ids['meeting']}/outcome", data={"held": "yes",
                                                                             "intent": "NaN"})
    assert_field_error(response, "intent", "请输入数字")
    assert count(app, Outcome) == 0


@pytest.mark.parametrize("answer", ["1" + "0" * 29, "1e25", "NaN", "1e999999999"])
def test_crafted_answers_in_my_policies_are_refused_beside_the_field(seeded, client, answer):  # noqa: F811
    with database(seeded):
        user = factories.sme()
    sign_in(client, user.email)
    response = client.post("/policies/mine/facts?all=1", data={"compute_contract_fee": answer})
    message = "请输入不小于 0 的金额" if answer == "NaN" else "金额过大"
    assert_field_error(response, "compute_contract_fee", message)


def test_the_fact_parser_refuses_numbers_it_cannot_compute_with_at_once():
    specs = vocabulary().facts
    started = time.monotonic()
    for fact, value in (("years_in_operation", "1e999999999"), ("compute_contract_fee", "1e25"),
                        ("loan_rate", "1e-999999999"), ("years_in_operation", 10**40)):
        with pytest.raises(FactError):
            parse_facts({fact: value}, specs)
    assert time.monotonic() - started < 1
    assert parse_facts({"years_in_operation": "0E+999999999"}, specs) == {"years_in_operation": 0}


def test_bounded_fields_read_values_not_spellings(app):
    with app.test_request_context():
        form = type("F", (Form,), {"amount": WanYuanField(), "count": BoundedIntegerField(minimum=0, maximum=9)})
        filled = form(MultiDict({"amount": "1.2e1", "count": "１"}))
        assert filled.validate() and filled.amount.yuan == 120_000 and filled.count.data == 1
        assert form(MultiDict({"amount": "1,000", "count": "0"})).amount.yuan == 10_000_000
        assert form(MultiDict({"amount": "12.50000", "count": "9"})).validate()
        refused = form(MultiDict({"amount": "   ", "count": "10"}))
        assert not refused.validate()
        assert refused.amount.errors == ["请输入数字。"] and refused.count.errors == ["请输入 0 到 9 之间的整数。"]
    assert decimal_shape(Decimal("1e999999999")) == (1_000_000_000, 0)
    assert decimal_shape(Decimal("120.500")) == (3, 1)
    with pytest.raises(ValueError):
        column_int("1" * 5000)
    with pytest.raises(ValueError):
        column_int(INT_MAX + 1)


# ---- the project's rule: no unbounded number field ---------------------------------------------------

def unbounded_fields(form_classes) -> list[str]:
    """Fields of `form_classes` that are WTForms' own number fields or select ids coerced by plain int."""
    found = []
    for cls in form_classes:
        for name in dir(cls):
            field = getattr(cls, name, None)
            if not isinstance(field, UnboundField):
                continue
            kind = field.field_class
            if issubclass(kind, (IntegerField, DecimalField, FloatField)) and \
                    not issubclass(kind, (BoundedIntegerField, BoundedDecimalField)):
                found.append(f"{cls.__module__}.{cls.__name__}.{name}: {kind.__name__}")
            if issubclass(kind, SelectFieldBase) and field.kwargs.get("coerce") in (int, float, Decimal):
                found.append(f"{cls.__module__}.{cls.__name__}.{name}: coerce={field.kwargs['coerce'].__name__}")
    return found


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_no_form_of_the_project_uses_an_unbounded_number_field(app):
    for module in FORM_MODULES:
        importlib.import_module(module)
    ours = [cls for cls in _subclasses(Form) if cls.__module__.split(".")[0] in
            ("market", "events", "policies", "notifications", "chainmatch")]
    assert len(ours) > 20
    assert not unbounded_fields(ours)
    plain = type("Plain", (Form,), {"n": IntegerField(), "d": DecimalField(), "s": SelectField(coerce=int)})
    assert len(unbounded_fields([plain])) == 3  # the check itself sees them


def test_the_facts_form_asks_every_number_through_a_bounded_field(app):
    from policies.forms import facts_form
    specs = list(vocabulary().facts.values())
    with app.test_request_context():
        form = facts_form(specs, "zh", {})
        numbers = [field for field in form if field.name in {s.name for s in specs if s.type in
                                                              ("money", "int", "decimal")}]
        assert numbers and all(isinstance(field, (BoundedIntegerField, BoundedDecimalField)) for field in numbers)


def test_every_int_route_takes_the_bounded_converter(app):
    assert isinstance(app, Flask)
    int_rules = [rule for rule in app.url_map.iter_rules() if "<int:" in rule.rule]
    assert int_rules and all(converter.max == INT_MAX for rule in int_rules
                             for converter in rule._converters.values() if hasattr(converter, "max"))
