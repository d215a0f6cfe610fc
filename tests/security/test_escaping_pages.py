"""Script payloads come back as text: through Jinja's _(), the issue's two cases, links, and a walk of the site.

The walk signs in as every role of the demo's world, follows links, sends a payload through every query
parameter each page reads or offers, and submits every form that has a free-text field with payloads in
them (once refused-on-purpose, once to be stored); then it walks again and checks every page: no payload
markup in the HTML source, no javascript: link, nothing 5xx, and what was stored comes back as text.
"""
import pytest
from flask import render_template_string
from flask_babel import force_locale, lazy_gettext
from sqlalchemy import select

from core.extensions import db
from events.models import EventSession, Meeting
from events.services import scheduling
from market.models import Institution
from tests.conftest import sign_in
from tests.security import xss_fields as xss
from tests.security.demo_world import USERS, load_demo_world
from tests.security.page_walk import Walker, form_data, with_query
from tests.support import factories
from tests.support.database import database
from tests.support.events import actor, make_event, make_session, matching_scenario
from tests.support.pages import element_html

PAYLOAD = '"><svg onload=alert(1)>'
STORED = "<img src=x onerror=alert(1)>"


# ---- Jinja's _() escapes, a LazyString would not ------------------------------------------------------

@pytest.mark.parametrize("template", [
    "{{ _('名称：%(name)s', name=value) }}",
    "{{ ngettext('%(num)s 家：%(name)s', '%(num)s 家：%(name)s', 2, name=value) }}",
    "{{ pgettext('plural', '名称：%(name)s', name=value) }}",
    "{{ _('名称：%(name)s', name=eager) }}",
])
def test_translations_in_templates_escape_their_parameters(app, template):
    from flask_babel import gettext
    with app.test_request_context(), force_locale("en"):
        html = render_template_string(template, value=PAYLOAD, eager=gettext("%(x)s", x=PAYLOAD))
    assert "<svg" not in html and "&lt;svg onload=alert(1)&gt;" in html


def test_a_lazy_string_with_parameters_is_not_escaped_which_is_why_functions_use_gettext(app):
    """The hazard tests/security/test_lazy_strings.py guards against: LazyString has __html__."""
    with app.test_request_context():
        html = render_template_string("{{ message }}", message=lazy_gettext("名称：%(name)s", name=PAYLOAD))
    assert PAYLOAD in html


# ---- the two cases of the issue ------------------------------------------------------------------------

def test_an_unknown_region_code_in_the_catalogue_is_shown_as_text(client):
    response = client.get("/catalogue", query_string={"region": PAYLOAD})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and not xss.raw_markup_in(html)
    assert "未知的行政区划代码：&#34;&gt;&lt;svg onload=alert(1)&gt;。" in html


def test_a_schedule_clash_names_the_institution_as_text(app, client):
    with database(app):
        scenario = matching_scenario(smes=2, banks=1)
        db.session.get(Institution, scenario["banks"][0].institution_id).name = STORED
        db.session.commit()
        session = db.session.get(EventSession, scenario["session"].id)
        scheduling.run_matching(actor(scenario["organiser"]), session)
        db.session.commit()
        mine, theirs = db.session.scalars(select(Meeting).where(Meeting.session_id == session.id)
                                          .order_by(Meeting.id)).all()
        mine_id, busy_slot = mine.id, theirs.slot
    sign_in(client, scenario["organiser"].email)
    response = client.post(f"/organiser/meetings/{mine_id}/move",
                           data={f"m{mine_id}-slot": str(busy_slot), f"m{mine_id}-table_number": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and not xss.raw_markup_in(html)
    errors = element_html(html, f"m{mine_id}-table_number-errors")  # (entities decoded)
    assert errors is not None and f"{STORED} 第 01 桌" in errors and "&lt;img src=x onerror=alert(1)&gt; 第 01 桌" in html


# ---- links that people type ----------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["online_url", "stream_url", "replay_url"])
@pytest.mark.parametrize("address", xss.JAVASCRIPT_URLS + ("data:text/html,<script>alert(1)</script>",))
def test_session_links_must_be_web_addresses(app, client, field, address):
    with database(app):
        organiser = factories.organiser("330100")
        event = make_event(organiser)
    sign_in(client, organiser.email)
    form = {"kind": "livestream", "mode": "online", "title": "直播", "starts_at": "2027-03-10T09:00",
            "ends_at": "2027-03-10T10:00", "online_url": "https://live.example.com/a", field: address}
    response = client.post(f"/organiser/events/{event.id}/sessions/new", data=form)
    assert response.status_code in (200, 422)
    errors = element_html(response.get_data(as_text=True), f"{field}-errors")
    assert errors is not None and "http://" in errors
    with database(app) as session:
        assert session.scalar(select(EventSession).where(EventSession.event_id == event.id)) is None


def test_a_stored_javascript_address_is_never_a_link(app, client):
    with database(app):
        organiser = factories.organiser("330100")
        event = make_event(organiser)
        session = make_session(organiser, event, kind="livestream", mode="online", slot_minutes=None, tables=0,
                               online_url="https://live.example.com/a", financing_types=[])
        db.session.get(EventSession, session.id).online_url = "javascript:alert(1)"
        db.session.get(EventSession, session.id).stream_url = " JAVASCRIPT:alert(1)"
        user = factories.institution_user(website="https://bank.example.com")
        db.session.get(Institution, user.institution_id).website = "javascript:alert(1)"
        db.session.commit()
    sign_in(client, organiser.email)
    walker = Walker(app, client)
    for url in (f"/organiser/events/{event.id}", f"/zones/{user.institution_id}"):
        page = walker.get(url)
        assert page.status == 200 and not page.non_web_urls(), (url, page.non_web_urls())
        assert "javascript:alert(1)" in page.text or url.startswith("/zones")


# ---- the walk ------------------------------------------------------------------------------------------

DESTRUCTIVE = ("cancel", "decline", "withdraw", "decide", "review", "status")
STARTS = {"anonymous": ["/", "/account/sign-up"], "sme": ["/", "/enterprise"], "bank": ["/", "/institution"],
          "organiser": ["/", "/organiser/events"], "admin": ["/", "/organiser/events",
          # the audit log shows the addresses people typed into the sign-in and reset forms
          "/account/audit?kind=sign_in_failed", "/account/audit?kind=password_reset_requested"]}


@pytest.fixture
def demo_world(app):
    app.config["DEMO_MODE"] = True  # demo accounts belong to a demo
    try:
        with app.app_context():
            load_demo_world(db.session)
        yield
    finally:
        app.config["DEMO_MODE"] = False


class Findings:
    def __init__(self):
        self.problems: list[str] = []

    def check(self, role: str, page, what: str = "") -> None:
        where = f"{role} {page.url}{' ' + what if what else ''}"
        if page.status >= 500:
            self.problems.append(f"{where}: {page.status}")
        for token in xss.raw_markup_in(page.html):
            at = page.html.index(token)
            self.problems.append(f"{where}: unescaped {token!r} in …{page.html[max(at - 120, 0):at + 40]!r}")
        for url in page.non_web_urls():
            self.problems.append(f"{where}: link to {url!r}")


def _submit(app, walker, role, page_url, form, payloads, findings, storing):
    endpoint = walker.endpoint_of(form.action or page_url, "POST") or "?"
    values = xss.fill(form.controls, payloads, storing, endpoint, role)
    sender = walker if role != "anonymous" else Walker(app, app.test_client())  # a sign-up signs its client in
    page, accepted = sender.post(page_url, form, form_data(form, values))
    findings.check(role, page, f"after posting to {endpoint}")
    return page, accepted


def test_every_echoed_parameter_and_free_text_field_comes_back_escaped(app, demo_world):
    payloads, findings = xss.Payloads(), Findings()
    walkers = {"anonymous": Walker(app, app.test_client())}
    for role, email in USERS.items():
        walkers[role] = Walker(app, app.test_client())
        sign_in(walkers[role].client, email)
    echoed, forms = set(), {role: {} for role in walkers}

    # 1. every page each role reaches, every query parameter it reads or offers, every form with free text
    tried = set()  # endpoints whose parameters were sent (the page furniture that echoes is the same for all)
    for role, walker in walkers.items():
        for page in walker.crawl(STARTS[role], per_endpoint=2, limit=60):
            findings.check(role, page)
            for form in page.forms:
                texts = frozenset(xss.normalise(c["name"]) for c in form.controls if xss.is_text_input(c))
                endpoint = walker.endpoint_of(form.action or page.url, form.method.upper())
                if form.method == "post" and texts and endpoint:
                    forms[role].setdefault((endpoint, texts), (page.url, len(forms[role])))
            if page.endpoint in tried or page.status != 200:
                continue
            tried.add(page.endpoint)
            names = xss.query_names_of_view(app, page.endpoint) | {
                c["name"] for f in page.forms if f.method == "get" for c in f.controls}
            for name in sorted(names):  # one value for text, attribute and link contexts alike
                value = xss.JAVASCRIPT_URLS[0] + "//" + payloads.text(role=role, endpoint=page.endpoint, field=name,
                                                                      storing=False)
                echo = walker.get(with_query(page.url, **{name: value}))
                findings.check(role, echo, f"?{name}=payload")
                if value in echo.text or value in echo.attributes:
                    echoed.add((page.endpoint, name))

    # 2. the forms: a refused round (payloads everywhere), then a stored one; what ends things last
    accepted, shown = set(), set()
    for role, walker in walkers.items():
        ordered = sorted(forms[role].items(), key=lambda item: (any(w in item[0][0] for w in DESTRUCTIVE), item[1][1]))
        for (endpoint, _texts), (page_url, _order) in ordered:
            for storing in (False, True):
                page = walker.get(page_url)
                form = next((f for f in page.forms if f.method == "post" and
                             walker.endpoint_of(f.action or page_url, "POST") == endpoint and
                             any(xss.is_text_input(c) for c in f.controls)), None)
                if form is None:
                    break
                before = len(payloads.sent)
                after, stored = _submit(app, walker, role, page_url, form, payloads, findings, storing)
                if stored:  # a form with nothing to refuse stores the first round already
                    accepted |= set(range(before + 1, len(payloads.sent) + 1))
                    again = walker.get(page_url)  # an edit form shows what it saved (before another role edits it)
                    findings.check(role, again, "(the form again)")
                    for shown_page in (after, again):
                        shown |= payloads.found_in(shown_page.text) | payloads.found_in(shown_page.attributes)
                    break

    # 3. every page again, as everyone: stored payloads come back, as text
    for role, walker in walkers.items():
        for page in walker.crawl(STARTS[role], per_endpoint=2, limit=60):
            findings.check(role, page, "(second walk)")
            shown |= payloads.found_in(page.text) | payloads.found_in(page.attributes)

    assert not findings.problems, "\n".join(findings.problems[:40])
    assert {("market.catalogue", "region"), ("auth.sign_in", "next")} <= echoed, sorted(echoed)
    came_back = {(payloads.sent[n]["endpoint"], payloads.sent[n]["field"]) for n in shown & accepted}
    expected = {("auth.sign_up_institution", "name"), ("market.edit_enterprise", "name"),
                ("market.edit_enterprise", "description"), ("market.edit_need", "purpose"),
                ("market.edit_institution", "name"), ("market.edit_product", "name"),
                ("market.edit_product", "description"), ("organiser.edit_event", "title"),
                ("organiser.edit_session", "title"), ("organiser.edit_session", "online_url"),
                ("organiser.edit_plan_entry", "note"), ("policies.edit_policy", "title_zh"),
                ("policies.edit_policy", "clause_text"), ("events.record_outcome", "note")}
    assert expected <= came_back, sorted(expected - came_back)


# ---- the hand lists of xss_fields name real fields -------------------------------------------------------

def test_every_text_field_is_known(app):
    """What the walks cannot tell from a field's type is written in xss_fields; a new name read straight from
    request.form must be classified there, and no entry may name a field that is gone."""
    fields = xss.text_fields_of_forms()
    raw = xss.raw_form_names(app)
    unclassified = sorted(f"{endpoint}: {name}" for endpoint, name in raw
                          if (endpoint, name) not in xss.RAW_FORM_TEXT and name not in xss.RAW_FORM_NOT_TEXT)
    assert not unclassified, "request.form names to classify in xss_fields.py:\n" + "\n".join(unclassified)
    all_names = {name for names in fields.values() for name in names}
    assert set(xss.FORMAT_CHECKED) <= all_names, set(xss.FORMAT_CHECKED) - all_names
    assert all(name in fields.get(cls, ()) for cls, name in xss.AUTHOR_ONLY), xss.AUTHOR_ONLY
    assert all(cls in fields and twin in fields for cls, twin in xss.SAME_COLUMNS_AS.items())
    assert set(xss.RAW_FORM_TEXT) <= raw
    endpoints = set(app.view_functions)
    assert set(xss.FORMAT_CHECKED_ENDPOINTS) <= endpoints
    assert "InstitutionRegistrationForm" in fields and "staff-name" in fields["InstitutionRegistrationForm"]
