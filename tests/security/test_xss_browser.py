"""In chromium, no script runs from anything one user types and another sees, nor from any query parameter.

On the demo's world, with the Content-Security-Policy switched off (this proves the escaping, not the CSP):
1. every role's pages are walked (with the test client) for the forms that have free-text fields;
2. each form is submitted twice: with payloads in every text field (javascript: URLs in URL fields), which
   the server refuses and shows back, then with payloads where the form still passes (format-checked
   fields left as they were, web addresses carrying a payload in URL fields), so they are stored — forms
   that end something (cancel, decline, reject ...) last; sign-ups in a fresh browser each;
   between the two, the organiser makes the schedule editor name the renamed bank in a clash;
3. every role walks its pages again; every query parameter a page reads or offers gets a payload.
Every page is judged: no dialog opened (page.on("dialog")), no element carries an on…= handler or a script
with the payload, no link, frame or form opens a javascript:/data: URL. Then: every free-text field of the
project's forms was stored with a payload, and each stored payload was shown, as text, to a role other than
its author (`xss_fields.AUTHOR_ONLY` names the few fields nobody else is shown, `SHOWN_ELSEWHERE` those whose
escaping another test checks on the page that shows them).
"""
from collections import defaultdict
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
from sqlalchemy import select

from accounts.models import User
from core.extensions import db
from events.models import EventSession, Meeting, Registration
from market.models import Institution
from tests.browser_support import browser, live_server  # noqa: F401 (fixtures)
from tests.conftest import DEMO_PASSWORD, extract_csrf
from tests.security import xss_fields as xss
from tests.security.browser_walk import Findings, Visitor
from tests.security.demo_world import USERS, load_demo_world
from tests.security.page_walk import Walker, with_query

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The CSP of chainmatch.security would stop inline handlers; the payloads must be stopped by escaping alone.
LIVE_SERVER_CONFIG = {"CSP_ENABLED": False, "DEMO_MODE": True, "RATELIMIT_ENABLED": False}
DESTRUCTIVE = ("cancel", "decline", "withdraw", "decide", "review", "status")
STARTS = {"anonymous": ["/", "/account/sign-up"], "sme": ["/", "/enterprise"], "bank": ["/", "/institution"],
          "organiser": ["/", "/organiser/events"], "admin": ["/", "/organiser/events",
          # the audit log shows the addresses people typed into the sign-in and reset forms
          "/account/audit?kind=sign_in_failed", "/account/audit?kind=password_reset_requested"]}

@pytest.fixture(scope="module")
def world(live_server):
    with live_server.app.app_context():
        load_demo_world(db.session)
        db.session.remove()
    return live_server


def test_the_walk_would_see_a_script_run(browser, live_server):
    """The harness itself: the live app sends no CSP, and an unescaped payload is caught twice over."""
    findings, payloads = Findings(), xss.Payloads()
    visitor = Visitor(browser, live_server, "anonymous", payloads, findings)
    try:
        response = visitor.page.goto("/")
        assert "content-security-policy" not in response.headers
        canary = live_server.url + "/__canary"
        visitor.page.route(canary, lambda route: route.fulfill(
            content_type="text/html", body='<p>x</p><svg onload=alert(1)></svg><a href="javascript:alert(2)">y</a>'))
        visitor.visit(canary)
        assert any("dialog opened" in problem for problem in findings.problems), findings.problems
        assert any("onload" in problem for problem in findings.problems)
        assert any("javascript:alert(2)" in problem for problem in findings.problems)
    finally:
        visitor.close()


def _clash_in_the_schedule_editor(server, visitor) -> None:
    """The issue's stored case: a table error that names an institution called what the bank typed as its name,
    in the organiser's schedule editor (the bank's own meetings are over, so one with meetings to come takes it)."""
    with server.app.app_context():
        bank_id = db.session.scalar(select(User.institution_id).where(User.email == USERS["bank"]))
        typed = db.session.get(Institution, bank_id).name
        assert typed.startswith("xss"), "the bank was not renamed"
        meeting = db.session.scalar(select(Meeting).where(
            Meeting.slot.is_not(None), Meeting.status.in_(("proposed", "scheduled"))).order_by(Meeting.id))
        assert meeting is not None, "no meeting to move"
        meeting.institution.name = typed + " "  # names are unique
        db.session.commit()
        meeting_id, session_id, slot = meeting.id, meeting.session_id, meeting.slot
        db.session.remove()
    visitor.visit(f"/organiser/sessions/{session_id}/matching")
    with visitor.page.expect_navigation():
        visitor.page.evaluate("""([id, slot]) => {
            const form = document.querySelector(`#meeting-${id} form.move-form`);
            form.elements[`m${id}-slot`].value = String(slot);
            form.elements[`m${id}-table_number`].value = "49";  // beyond the bank's tables
            setTimeout(() => form.requestSubmit(), 0);
        }""", [meeting_id, slot])
    seen = visitor.judge("after a table error")
    errors = visitor.page.locator(f"#m{meeting_id}-table_number-errors").inner_text()
    assert seen.refused and errors.startswith("xss") and "张洽谈桌" in errors, errors


def _forms_and_parameters(server):
    """Found with the test client (no payload is anywhere yet, so there is nothing for a browser to see):
    per role, the pages with a form that has free text, by the endpoint it posts to; per endpoint, a page
    and the query parameters it reads or offers."""
    app, forms, parameters = server.app, {}, {}
    with app.app_context():  # the SME asks the demo bank for a meeting, so that the bank sees the message
        bank_id = db.session.scalar(select(User.institution_id).where(User.email == USERS["bank"]))
        db.session.remove()
    sessions = _sessions_of_the_walkers(server)
    starts = {**STARTS, "sme": [f"/events/requests/new?institution={bank_id}"] + STARTS["sme"],
              "organiser": sessions + STARTS["organiser"], "admin": sessions + STARTS["admin"]}
    for role in STARTS:
        client = app.test_client()
        if role in USERS:
            token = extract_csrf(client.get("/account/sign-in").get_data(as_text=True))
            response = client.post("/account/sign-in", data={"email": USERS[role], "password": DEMO_PASSWORD,
                                                              "csrf_token": token})
            assert response.status_code == 302, f"{role} cannot sign in"
        walker, forms[role] = Walker(app, client), {}
        for page in walker.crawl(starts[role], per_endpoint=3, limit=120):
            for form in page.forms:
                endpoint = walker.endpoint_of(form.action or page.url, form.method.upper())
                if form.method == "post" and endpoint and any(xss.is_text_input(c) for c in form.controls):
                    pages = forms[role].setdefault(endpoint, [])
                    if len(pages) < 3 and page.url not in pages:
                        pages.append(page.url)
            if page.endpoint and page.status == 200 and page.endpoint not in parameters:
                names = xss.query_names_of_view(app, page.endpoint)
                names |= {c["name"] for f in page.forms if f.method == "get" for c in f.controls}
                names |= {name for href, _text in page.links
                          if walker.endpoint_of(urljoin(page.url, href)) == page.endpoint
                          for name, _value in parse_qsl(urlsplit(href).query)}
                parameters[page.endpoint] = (role, page.url, sorted(names))
    return forms, parameters


def _sessions_of_the_walkers(server) -> list[str]:
    """The organisers' pages of the sessions (and their events' summaries) the demo SME and bank take part in,
    where what they typed shows."""
    with server.app.app_context():
        parties = db.session.execute(select(User.enterprise_id, User.institution_id).where(
            User.email.in_([USERS["sme"], USERS["bank"]]))).all()
        enterprises = [e for e, _i in parties if e]
        institutions = [i for _e, i in parties if i]
        sessions = db.session.scalars(select(Registration.session_id).where(
            Registration.enterprise_id.in_(enterprises) | Registration.institution_id.in_(institutions))
            .distinct().order_by(Registration.session_id)).all()
        events = db.session.scalars(select(EventSession.event_id).where(EventSession.id.in_(sessions))
                                    .distinct().order_by(EventSession.event_id)).all()
        db.session.remove()
    return [url for session_id in sessions for url in (f"/organiser/sessions/{session_id}/registrations",
                                                      f"/organiser/sessions/{session_id}/matching")] + \
        [f"/reports/events/{event_id}/summary" for event_id in events]  # the SMEs' disputes show there


def _send(browser, world, visitors, role, endpoint, url, payloads, findings) -> set[int] | None:
    """Both rounds of one form; the numbers of the payloads it stored (None: the form is not on the page)."""
    for storing in (False, True):
        visitor = visitors[role]
        if role == "anonymous":  # a sign-up signs its browser in: use a fresh one
            visitor = Visitor(browser, world, role, payloads, findings)
        before = len(payloads.sent)
        try:
            after, accepted = visitor.submit(url, endpoint, storing)
        finally:
            if visitor is not visitors[role]:
                visitor.close()
        if after is None:
            return None
        if accepted:  # a form with nothing to refuse stores the first round already
            return set(range(before + 1, len(payloads.sent) + 1))
    return set()


def test_no_script_runs_from_any_field_or_parameter(browser, world):
    payloads, findings = xss.Payloads(), Findings()
    visitors = {"anonymous": Visitor(browser, world, "anonymous", payloads, findings)}
    visitors.update({role: Visitor(browser, world, role, payloads, findings, email) for role, email in USERS.items()})
    try:
        forms, parameters = _forms_and_parameters(world)

        # 2. every form: refused once with payloads everywhere, then stored; the ones that end things last (the
        #    organisers' before the participants', cancelled registrations the very last), after the schedule
        #    editor was made to name the renamed bank. When the page a form led to does not show what it
        #    stored (a cancel that found the meeting over), the form is sent again from its next page.
        stored = set()
        ordered = sorted(((any(word in endpoint for word in DESTRUCTIVE), role, endpoint, urls)
                          for role in visitors for endpoint, urls in forms[role].items()),
                         key=lambda item: (item[0], item[0] and item[1] not in ("organiser", "admin"),
                                           "registration" in item[2]))
        clash_done = False
        for destructive, role, endpoint, urls in ordered:
            if destructive and not clash_done:
                _clash_in_the_schedule_editor(world, visitors["organiser"])
                clash_done = True
            for url in urls:
                numbers = _send(browser, world, visitors, role, endpoint, url, payloads, findings)
                if numbers is None:
                    continue
                stored |= numbers
                if not numbers or findings.shown_on_last_page(role) & numbers:
                    break

        # 3. every page again, as everyone (the organisers' pages of the walkers' sessions first), and every
        #    parameter each page reads or offers
        for role, visitor in visitors.items():
            extra = _sessions_of_the_walkers(world) if role in ("organiser", "admin") else []
            for _page in visitor.crawl(STARTS[role] + extra, per_endpoint=2, limit=60):
                pass
        echoed = set()
        for endpoint, (role, url, names) in sorted(parameters.items()):
            for name in names:
                value = xss.JAVASCRIPT_URLS[0] + "//" + payloads.text(role=role, endpoint=endpoint, field=name,
                                                                      storing=False)
                page = visitors[role].visit(with_query(url, **{name: value}), f"?{name}=payload")
                if value in page.text or value in page.values:
                    echoed.add((endpoint, name))
    finally:
        for visitor in visitors.values():
            visitor.close()

    assert not findings.problems, "\n".join(findings.problems[:30])
    assert {("market.catalogue", "region"), ("auth.sign_in", "next")} <= echoed, sorted(echoed)
    _assert_every_text_field_was_stored_and_shown(world.app, payloads, stored, findings)


def _assert_every_text_field_was_stored_and_shown(app, payloads, stored, findings):
    classes_of = xss.form_classes_by_endpoint(app)
    fields_of = xss.text_fields_of_forms()
    stored_fields = defaultdict(set)  # (class, field) → payload numbers
    for number in stored:
        sent = payloads.sent[number]
        for cls in classes_of.get(sent["endpoint"], ()):
            if sent["field"] in fields_of.get(cls, ()):
                stored_fields[(cls, sent["field"])].add(number)
        if (sent["endpoint"], sent["field"]) in xss.RAW_FORM_TEXT:
            stored_fields[(sent["endpoint"], sent["field"])].add(number)
    expected = {(cls, name) for cls, names in fields_of.items() for name in names
                if name not in xss.FORMAT_CHECKED and cls not in ("SignInForm",)} | set(xss.RAW_FORM_TEXT)
    # A create form the walk could not complete (an event needs dates in its plan month) was still walked with
    # payloads in its refused round; what it stores is what its edit form stores, in the same columns shown by
    # the same pages, so the edit form's payloads stand for it (stored, and shown to others).
    edit_form_of = xss.create_forms_over_edit_forms(fields_of)
    never = sorted(f"{cls}.{name}" for cls, name in expected - set(stored_fields)
                   if (edit_form_of.get(cls), name) not in stored_fields)
    assert not never, "free-text fields the walk never stored a payload in:\n" + "\n".join(never)
    def shown_to_others(cls, name):
        numbers = stored_fields.get((cls, name), ())
        return any(findings.shown[n] - {payloads.sent[n]["role"]} for n in numbers) or (
            cls in xss.SAME_COLUMNS_AS and shown_to_others(xss.SAME_COLUMNS_AS[cls], name)) or (
            cls in edit_form_of and shown_to_others(edit_form_of[cls], name))
    unseen = sorted(f"{cls}.{name} (by {payloads.sent[min(numbers)]['role']})"
                    for (cls, name), numbers in stored_fields.items()
                    if (cls, name) not in xss.AUTHOR_ONLY and (cls, name) not in xss.SHOWN_ELSEWHERE
                    and not shown_to_others(cls, name))
    assert not unseen, "stored payloads no other role was shown as text:\n" + "\n".join(unseen)
