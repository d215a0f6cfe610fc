"""Who gets into which page, for the blueprints the other two tables do not cover: policies, online and
notifications; every route of the app is in one of the three tables; and an institution that is not approved
sees nothing of an SME on any page, even with the SME's consent, a meeting and a request from before.

The other tables: tests/events/test_permissions.py (organiser, events, reports) and tests/accounts/test_access.py
(home, auth, market). The world is the event table's, plus a Hangzhou policy, a livestream and a message.
"""
import pytest
from sqlalchemy import select

from accounts.models import User
from core.extensions import db
from events.models import Event
from market.models import Enterprise, FinancingNeed, Institution
from notifications.models import Notification
from policies.store import load_policy_library
from tests.accounts import test_access
from tests.events import test_permissions as events_table
from tests.events.test_permissions import (
    EVERYONE,
    FORBIDDEN,
    LOGIN,
    NOT_FOUND,
    OK,
    REDIRECT,
    ROLES,
    SME_ONLY,
    build_world,
    check_table,
    organisers_only,
    row,
    signed_in_as,
)
from tests.support.online import stream

IN = events_table.IN
SIGNED_IN = row(LOGIN, OK, OK, OK, OK, OK, OK, OK)
POLICY = "compute_voucher"  # a Hangzhou (330100) policy of the seeded library

EXPECTED = {
    # ---- policies
    ("policies.library", "GET"): ("/policies/", EVERYONE),
    ("policies.detail", "GET"): ("/policies/clause/{policy}", EVERYONE),
    ("policies.edit_policy", "GET"): ("/policies/clause/{policy}/edit", organisers_only(FORBIDDEN, OK, OK)),
    ("policies.edit_policy", "POST"): ("/policies/clause/{policy}/edit", organisers_only(FORBIDDEN, IN, IN)),
    ("policies.new_policy", "GET"): ("/policies/new", organisers_only(OK, OK, OK)),
    ("policies.new_policy", "POST"): ("/policies/new", organisers_only(IN, IN, IN)),
    ("policies.events", "GET"): ("/policies/events", organisers_only(OK, OK, OK)),
    ("policies.event_matching", "GET"): ("/policies/events/{event}", organisers_only(NOT_FOUND, OK, OK)),
    ("policies.mine", "GET"): ("/policies/mine", SME_ONLY),
    ("policies.my_facts", "GET"): ("/policies/mine/facts", SME_ONLY),
    ("policies.my_facts", "POST"): ("/policies/mine/facts", row(LOGIN, IN, IN, FORBIDDEN, FORBIDDEN, FORBIDDEN,
                                                                 FORBIDDEN, FORBIDDEN)),
    # ---- the online half
    ("online.current_hall", "GET"): ("/hall", row(IN, IN, IN, IN, IN, IN, IN, IN)),
    ("online.hall", "GET"): ("/hall/{event}", EVERYONE),
    ("online.zone", "GET"): ("/zones/{institution}", EVERYONE),
    ("online.zone_request", "GET"): ("/zones/{institution}/request",
                                     row(REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT,
                                         REDIRECT)),
    ("online.stream", "GET"): ("/streams/{stream}", EVERYONE),
    ("online.watch", "GET"): ("/streams/{stream}/watch",
                              row(REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT)),
    ("online.stream_request", "GET"): ("/streams/{stream}/request",
                                       row(REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT,
                                           REDIRECT)),
    ("online.leads", "GET"): ("/leads", row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, OK, OK, OK)),
    # ---- messages
    ("notifications.inbox", "GET"): ("/messages/", SIGNED_IN),
    ("notifications.mark_read", "POST"): ("/messages/{message}/read",
                                          row(LOGIN, REDIRECT, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND,
                                              NOT_FOUND)),
    ("notifications.open_message", "POST"): ("/messages/{message}/open",
                                             row(LOGIN, REDIRECT, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND,
                                                 NOT_FOUND, NOT_FOUND)),
    ("notifications.mark_all_read", "POST"): ("/messages/read-all",
                                              row(LOGIN, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT,
                                                  REDIRECT)),
    ("notifications.requeue_failed", "POST"): ("/messages/outbox/requeue", organisers_only(FORBIDDEN, FORBIDDEN,
                                                                                          REDIRECT)),
}
BLUEPRINTS = ("policies", "online", "notifications")


def build_full_world() -> tuple[dict, dict]:
    ids, emails = build_world()
    load_policy_library(db.session)
    event = db.session.get(Event, ids["event"])
    host = db.session.scalar(select(User).where(User.institution_id == ids["institution"]))
    live = stream(event, host)
    sme = db.session.scalar(select(User).where(User.enterprise_id == ids["enterprise"]))
    message = Notification(user_id=sme.id, kind="test", object_type="test", object_id=1, subject="您好",
                           body="正文", link="/events/agenda")
    db.session.add(message)
    db.session.commit()
    return {**ids, "policy": POLICY, "stream": live.id, "message": message.id}, emails


def test_every_route_of_the_app_is_in_one_table(app):
    tables = {**EXPECTED, **events_table.EXPECTED}
    access_rows = {(method, path) for method, path, _, _ in test_access.TABLE}
    uncovered = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (rule.endpoint, method) in tables:
                continue
            if rule.endpoint.split(".")[0] in ("home", "auth", "market"):
                continue  # test_access.test_the_table_covers_every_route checks these paths one by one
            uncovered.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert access_rows, "the home/auth/market table is empty"
    assert not uncovered, "routes without a row in any permission table:\n" + "\n".join(uncovered)


def test_this_table_has_no_stale_rows(app):
    routes = {(rule.endpoint, method) for rule in app.url_map.iter_rules()
              if rule.endpoint.split(".")[0] in BLUEPRINTS for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert not sorted(set(EXPECTED) - routes)
    assert not sorted(routes - set(EXPECTED))


@pytest.mark.parametrize("role", ROLES)
def test_permission_table(app, role):
    with app.app_context():
        ids, emails = build_full_world()
    check_table(signed_in_as(app, None if role == "anonymous" else emails[role]), EXPECTED, ids, role)


def test_an_institution_that_is_not_approved_sees_nothing_of_an_sme(app):
    """The institution had the SME's consent, a meeting and a request while approved; then it went back to
    pending (as after a correction following a rejection). No page shows it the SME's name or details."""
    with app.app_context():
        ids, emails = build_full_world()
        enterprise = db.session.get(Enterprise, ids["enterprise"])
        need = db.session.scalar(select(FinancingNeed).where(FinancingNeed.enterprise_id == enterprise.id))
        secrets = [enterprise.name, enterprise.credit_code, enterprise.contact_phone, need.purpose]
        db.session.get(Institution, ids["institution"]).status = "pending"
        db.session.commit()
    client = signed_in_as(app, emails["institution"])
    paths = [template.format(**ids) for (endpoint, method), (template, _) in
             {**EXPECTED, **events_table.EXPECTED}.items() if method == "GET"]
    paths += [path.format(**ids) for method, path, _, _ in test_access.TABLE
              if method == "GET" and "{" not in path]
    leaks = []
    for path in paths:
        body = client.get(path).get_data(as_text=True)
        leaks += [f"{path} shows {secret!r}" for secret in secrets if secret and secret in body]
    assert not leaks, "\n".join(leaks)
    assert client.get(f"/events/enterprises/{ids['enterprise']}").status_code == 404
    assert client.get(f"/events/sessions/{ids['session']}/enterprises").status_code == 404
