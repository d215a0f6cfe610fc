"""Hostile input on every form, query parameter and path id of every role answers no 5xx, and nothing
the columns cannot hold (a NUL, a text longer than its column) reaches the database.

Per role, in a fresh world (`fuzz_world`): GET every route of `app.url_map` with the world's ids and
every same-site link or redirect that carries a query string; read each page's forms; then submit each
form field by field with the hostile values below, the other fields as the page filled them (required
empty ones filled with plausible values); send each query parameter of those URLs the same way; and
put ids beyond an integer column into every `<int:...>` route. Forms and links an anonymous visitor
sees are fuzzed once, by the anonymous role. Every failure is collected, printed, then the test fails.
"""
import itertools
import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
from sqlalchemy import String, select
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import IntegerConverter

from chainmatch import create_app
from core.extensions import db
from tests.conftest import DEMO_PASSWORD
from tests.security.forms_on_page import Form, read_page
from tests.security.fuzz_world import ROLES, build_fuzz_world
from tests.support import factories
from tests.support.database import database

# Free text gets TEXTS and a few numbers; numbers, ids and dates NUMBERS and a few texts; a choice (select,
# radio, checkbox: the server compares it with its list or converts it to an id) a sample of both.
NUMBERS = ["NaN", "-NaN", "Infinity", "-inf", "1e999999999", "1e-999999999", "1e25", "1" + "0" * 29, str(2**31),
           str(2**63), str(-(2**63) - 1), str(2**31 - 1), "²"]
TEXTS = ["", "   ", "a\x00@x.cn", "a%00@x.cn", "x\x01\x08\x0b\x1b\x7f\r\ty", "长" * 2_100, "x" * 60_000,
         "😀👩🏽‍💻 \u202e\u200f\u061c\ufffe"]
FOR_TEXT = TEXTS + ["NaN", "1e999999999", str(2**63)]
FOR_NUMBER = NUMBERS + ["", "   ", "\x00", "x" * 5_000]
FOR_CHOICE = ["NaN", "1e999999999", str(2**31), str(2**63), "", "   ", "\x00", "x" * 5_000]
FOR_QUERY = NUMBERS + ["", "\x00", "x" * 5_000, "😀\u202e"]
INT_BEYOND = [str(2**31), str(2**63), "999999999999999999999"]
STRING_BEYOND = ["%00", "a%01b%7F", "x" * 300]

# Forms the walk must reach (a floor, so that a walk that finds nothing fails); everything else it finds.
MUST_FUZZ = {
    "anonymous": {"auth.sign_in", "auth.sign_up_sme", "auth.sign_up_institution", "market.catalogue"},
    "sme": {"market.new_need", "market.edit_need", "market.edit_enterprise", "events.record_outcome",
            "events.new_request", "events.register", "policies.my_facts"},
    "institution": {"market.new_product", "market.edit_product", "market.edit_institution", "events.register",
                    "events.record_outcome", "online.leads"},
    "pending institution": {"market.new_product", "market.edit_institution"},
    "organiser": {"organiser.new_plan_entry", "organiser.edit_event", "organiser.edit_session",
                  "organiser.new_session", "organiser.add_meeting", "organiser.move_meeting", "reports.dashboard",
                  "market.review_institution", "policies.edit_policy"},
    "organiser elsewhere": {"organiser.new_event", "reports.dashboard"},
    "admin": {"organiser.new_plan_entry", "policies.new_policy"},
}
_serial = itertools.count(1)


def fill(control) -> str:
    """A plausible value for a required field the page left empty."""
    name = control.name.rsplit("-", 1)[-1]
    serial = next(_serial)
    by_name = {"email": f"fuzz{serial}@example.com", "password": DEMO_PASSWORD, "confirm": DEMO_PASSWORD,
               "credit_code": factories.credit_code(), "key": f"fuzz_policy_{serial}", "regions": "330100",
               "amount": "50", "amount_min": "10", "amount_max": "500", "employees": "80", "revenue": "3000",
               "rule": "facts: [compute_contract_fee]\nbenefit: {kind: up_to, max: 500000, period: one_off, "
                       "description: {zh: 不超过50万元, en: Up to CNY 500k}}",
               "name": f"模糊测试{serial}号", "title": f"模糊测试{serial}号"}
    if name in by_name:
        return by_name[name]
    return {"number": "1", "date": "2031-03-10", "datetime-local": "2031-03-10T09:00", "url": "https://example.com/",
            "email": f"fuzz{serial}@example.com", "select": ""}.get(control.kind, "模糊测试")


class Walker:
    """One role's client: sends requests, keeps every 5xx and exception."""

    def __init__(self, app, role: str, email: str | None):
        self.app, self.role, self.client = app, role, app.test_client()
        self.failures: list[str] = []
        self.requests = 0
        if email is not None:
            response = self.client.post("/account/sign-in", data={"email": email, "password": DEMO_PASSWORD})
            assert response.status_code == 302, f"{role} cannot sign in"

    def send(self, method: str, path: str, what: str = "", **kwargs):
        self.requests += 1
        try:
            response = self.client.open(path, method=method, **kwargs)
        except Exception as error:  # noqa: BLE001 - every exception is a finding
            self.failures.append(f"{self.role}: {method} {path[:120]} {what}: {type(error).__name__}: "
                                 f"{str(error)[:200]}")
            return None
        if response.status_code >= 500:
            self.failures.append(f"{self.role}: {method} {path[:120]} {what}: {response.status_code}")
        return response


def values_for(rule, name: str, arguments: dict) -> list:
    """The world's values for a path argument; for one it does not know (a new route's token), a stand-in."""
    if name in arguments:
        return arguments[name]
    return [1] if isinstance(rule._converters[name], IntegerConverter) else ["fuzz-token"]


def route_urls(app, arguments: dict) -> list[str]:
    """GET URLs of every route with the world's values."""
    urls = []
    with app.test_request_context():
        from flask import url_for
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static" or "GET" not in rule.methods:
                continue
            names = sorted(rule.arguments)
            for values in itertools.product(*(values_for(rule, name, arguments) for name in names)):
                urls.append(url_for(rule.endpoint, **dict(zip(names, values))))
    return urls


def _query_key(url: str) -> tuple:
    parts = urlsplit(url)
    return parts.path, tuple(sorted({key for key, _ in parse_qsl(parts.query, keep_blank_values=True)}))


def crawl(walker: Walker, start: list[str]) -> tuple[list[Form], list[str]]:
    """Forms and query-string URLs found from `start`, following links and redirects that carry a query."""
    queue, seen, forms, queried = list(start), set(), [], []
    while queue and len(seen) < 400:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = walker.send("GET", url, "(crawl)")
        if response is None:
            continue
        found = []
        if response.status_code in (301, 302, 303, 307, 308):
            found = [response.headers.get("Location", "")]
        elif response.status_code == 200 and response.mimetype == "text/html":
            page_forms, found = read_page(url, response.get_data(as_text=True))
            forms += page_forms
        for link in found:
            parts = urlsplit(link)
            if parts.netloc and parts.netloc != "localhost" or not parts.query:
                continue
            link = parts.path + "?" + parts.query
            if _query_key(link) not in {_query_key(u) for u in queried}:
                queried.append(link)
                queue.append(link)
    return forms, queried


def endpoint_of(app, method: str, path: str) -> str | None:
    try:
        return app.url_map.bind("localhost").match(urlsplit(path).path, method=method)[0]
    except (NotFound, MethodNotAllowed):
        return None


def form_key(app, form: Form) -> tuple:
    """Forms of one endpoint with the same fields are fuzzed once (one per meeting, per registration ...)."""
    names = tuple(re.sub(r"\d+", "#", name) for name in form.field_names())
    return form.method, endpoint_of(app, form.method, form.action) or form.path, names


def fuzz_form(walker: Walker, form: Form) -> None:
    baseline = form.baseline(fill)
    for name, control in form.fields().items():
        for value in FOR_TEXT if control.takes_text else FOR_CHOICE if control.is_choice else FOR_NUMBER:
            pairs = MultiDict([(n, v) for n, v in baseline if n != name] + [(name, value)])
            what = f"{name}={value[:24]!r}"
            if form.method == "GET":
                walker.send("GET", form.path, what, query_string=pairs)
            else:
                walker.send("POST", form.action, what, data=pairs)


def fuzz_query(walker: Walker, url: str) -> None:
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    for name in dict(params):
        for value in FOR_QUERY:
            query = urlencode([(n, v) for n, v in params if n != name] + [(name, value)])
            walker.send("GET", f"{parts.path}?{query}", f"{name}={value[:24]!r}")


_PLACEHOLDER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def fuzz_paths(walker: Walker, app, arguments: dict, values_of) -> None:
    """Every route and method with each path argument replaced by `values_of(converter)` in turn."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        placeholders = list(_PLACEHOLDER.finditer(rule.rule))
        for target in placeholders:
            for value in values_of(target.group(1) or "default"):
                path = rule.rule
                for match in reversed(placeholders):
                    chosen = value if match is target else quote(str(values_for(rule, match.group(2), arguments)[0]))
                    path = path[:match.start()] + chosen + path[match.end():]
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    walker.send(method, path, f"<{target.group(2)}>={value[:24]}")


def half_written(app) -> list[str]:
    """Text columns holding a control character or more than their declared length."""
    control = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
    found = []
    with database(app) as session:
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String)]
            if not columns:
                continue
            for row in session.execute(select(*table.primary_key.columns, *columns)):
                for column in columns:
                    value = row._mapping[column]
                    if not isinstance(value, str):
                        continue
                    if control.search(value):
                        found.append(f"{table.name}.{column.name}: control character in {value[:60]!r}")
                    if column.type.length and len(value) > column.type.length:
                        found.append(f"{table.name}.{column.name}: {len(value)} characters, column holds "
                                     f"{column.type.length}")
    return found


@pytest.fixture(scope="module")
def fuzz_app(app):
    """The test app's database, CSRF and rate limiting off, so that every submission reaches the form."""
    fuzzed = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                         "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "SERVER_NAME": None,
                         "MAIL_BACKEND": "memory"})
    yield fuzzed
    with fuzzed.app_context():
        db.session.remove()
        db.engine.dispose()


_public: dict = {}  # what the anonymous crawl found: the same in every (freshly built, same-id) world


def public_part(app, urls) -> tuple[set, set]:
    """Keys of the forms and query URLs an anonymous visitor reaches (fuzzed by the anonymous role only)."""
    if not _public:
        forms, queries = crawl(Walker(app, "anonymous (crawl)", None), urls)
        _public.update(forms=forms, queries=queries)
    return ({form_key(app, form) for form in _public["forms"]}, {_query_key(url) for url in _public["queries"]})


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_hostile_input_answers_no_5xx_and_writes_nothing_the_columns_cannot_hold(app, fuzz_app, role):
    with database(fuzz_app):
        arguments, emails = build_fuzz_world()
    urls = route_urls(fuzz_app, arguments)
    walker = Walker(fuzz_app, role, None if role == "anonymous" else emails[role])
    forms, queries = crawl(walker, urls)
    if role != "anonymous":
        public_forms, public_queries = public_part(fuzz_app, urls)
        forms = [form for form in forms if form_key(fuzz_app, form) not in public_forms]
        queries = [url for url in queries if _query_key(url) not in public_queries]
    distinct = list({form_key(fuzz_app, form): form for form in forms}.values())
    distinct.sort(key=lambda form: -len(form.field_names()))  # actions that change state (few fields) last
    reached = {endpoint_of(fuzz_app, form.method, form.action) for form in distinct if form.field_names()}
    for form in distinct:
        fuzz_form(walker, form)
    for url in queries:
        fuzz_query(walker, url)
    if role == "anonymous":
        fuzz_paths(walker, fuzz_app, arguments, lambda kind: INT_BEYOND if kind == "int" else [])
    fuzz_paths(walker, fuzz_app, arguments, lambda kind: [str(2**31 - 1)] if kind == "int" else STRING_BEYOND)
    problems = walker.failures + [f"{role}: stored {problem}" for problem in half_written(fuzz_app)]
    print(f"{role}: {walker.requests} requests, {len(distinct)} forms, {len(queries)} query URLs, "
          f"{len(problems)} problems")
    print("\n".join(problems[:300]))
    assert not MUST_FUZZ[role] - reached, f"{role}: the walk did not reach {sorted(MUST_FUZZ[role] - reached)}"
    assert not problems, f"{role}: {len(problems)} problems (first ones printed above)"
