#!/usr/bin/env python3
"""Reliability load: issue 12's scenarios against a local gunicorn + PostgreSQL (and SQLite for sign-ups).

Each scenario prints requests, 2xx/3xx, 4xx, 5xx (500 and 503 apart), connection errors, the duplicates found
in the database afterwards and the wall time:

  deadlock   an organiser re-runs matching 3x and publishes while 20 SMEs book slots in the same published session;
             duplicates = double bookings (slot x table, slot x enterprise, enterprise x institution).
  double     the same create form posted twice at once (need, product, meeting request with and without an event,
             registration); duplicates = rows beyond one per pair.
  signups    N sign-ups C at a time plus concurrent GETs of the home page, on PostgreSQL and on an SQLite file;
             "half-written" = accounts created by a request that answered 500.
  dbdrop     steady GET/POST load while the database connections drop: by default only this run's own
             database's backends are terminated (pg_terminate_backend); --with-restart restarts the whole
             PostgreSQL cluster instead (affects everyone on the machine: opt-in). Counts 500 vs 503 and
             whether 503s carry Retry-After.

The load itself speaks HTTP only (to 127.0.0.1) and checks the database with plain SQL, so it measures whatever
code the repository holds. Preparing the data uses the app's own migrations, seed loader and services, in a
subprocess, on a fresh database created for the run (dropped and re-created each time):

  python scripts/reliability_load.py --quick                      # every scenario, small sizes
  python scripts/reliability_load.py --scenarios deadlock,double  # some of them
  python scripts/reliability_load.py --with-restart               # dbdrop restarts PostgreSQL (careful)

Bounded: every scenario caps its requests (--max-requests) and its duration; gunicorn (sync workers, --workers)
is started per database and stopped at the end (its log stays in the work folder). Needs the `load` extra
(gunicorn). Rate limits are switched off in the server it starts (CHAINMATCH_RATELIMIT=0), otherwise the
sign-up limit would answer 429 long before the database is under strain. See docs/reliability.md.
"""
import argparse
import json
import os
import random
import re
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import requests

from core.clock import shanghai_date

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Lantern-orbit-93-quiet"  # long and unguessable enough for zxcvbn
SCENARIOS = ("deadlock", "double", "signups", "dbdrop")
TIMEOUT = 60  # seconds per HTTP request


# ---- HTML forms -------------------------------------------------------------------------------------

class _FormParser(HTMLParser):
    """Every <form> of a page: action, method and its fields (inputs, selects, textareas) as the browser sees them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms, self._form, self._select, self._textarea = [], None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {"action": attrs.get("action") or "", "method": (attrs.get("method") or "get").lower(),
                          "fields": []}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and attrs.get("name"):
            kind = (attrs.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            self._form["fields"].append({"name": attrs["name"], "type": kind, "value": attrs.get("value"),
                                         "checked": "checked" in attrs})
        elif tag == "select" and attrs.get("name"):
            self._select = {"name": attrs["name"], "type": "select", "options": [], "selected": [],
                            "multiple": "multiple" in attrs}
            self._form["fields"].append(self._select)
        elif tag == "option" and self._select is not None:
            value = attrs.get("value", "")
            self._select["options"].append(value)
            if "selected" in attrs:
                self._select["selected"].append(value)
        elif tag == "textarea" and attrs.get("name"):
            self._textarea = {"name": attrs["name"], "type": "textarea", "value": ""}
            self._form["fields"].append(self._textarea)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["value"] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def parse_forms(html: str) -> list[dict]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def form_body(form: dict, overrides: dict | None = None, check_all: tuple = ()) -> list[tuple[str, str]]:
    """What the browser would post (hidden fields, CSRF and one-time tokens included), with `overrides`
    replacing fields by name and every checkbox named in `check_all` ticked."""
    overrides = dict(overrides or {})
    body = []
    for item in form["fields"]:
        name = item["name"]
        if name in overrides:
            continue
        kind = item["type"]
        if kind in ("checkbox", "radio"):
            if item["checked"] or name in check_all:
                body.append((name, item["value"] if item["value"] is not None else "on"))
        elif kind == "select":
            values = item["selected"] or ([] if item["multiple"] else [v for v in item["options"] if v][:1])
            body.extend((name, value) for value in values)
        else:
            body.append((name, item["value"] or ""))
    for name, value in overrides.items():
        for one in (value if isinstance(value, (list, tuple)) else [value]):
            body.append((name, str(one)))
    return body


def find_form(forms: list[dict], action_pattern: str) -> dict | None:
    return next((f for f in forms if f["method"] == "post" and re.search(action_pattern, f["action"])), None)


# ---- the client ---------------------------------------------------------------------------------------

@dataclass
class Tally:
    """Responses of one scenario (or one part of it)."""

    name: str
    statuses: Counter = field(default_factory=Counter)
    conn_errors: int = 0
    retry_after_503: int = 0
    count: int = 0
    cap: int = 10_000
    lock: threading.Lock = field(default_factory=threading.Lock)
    notes: list = field(default_factory=list)

    def room(self) -> bool:
        with self.lock:
            return self.count < self.cap

    def record(self, response: requests.Response | None) -> None:
        with self.lock:
            self.count += 1
            if response is None:
                self.conn_errors += 1
                return
            self.statuses[response.status_code] += 1
            if response.status_code == 503 and response.headers.get("Retry-After"):
                self.retry_after_503 += 1

    def summary(self) -> dict:
        ok = sum(n for code, n in self.statuses.items() if code < 400)
        client = sum(n for code, n in self.statuses.items() if 400 <= code < 500)
        server = sum(n for code, n in self.statuses.items() if code >= 500)
        return {"requests": self.count, "2xx/3xx": ok, "4xx": client, "5xx": server,
                "500": self.statuses.get(500, 0), "503": self.statuses.get(503, 0),
                "503 with Retry-After": self.retry_after_503, "connection errors": self.conn_errors,
                "statuses": dict(sorted(self.statuses.items()))}


class Client:
    """One browser: a cookie jar on a requests.Session, every response counted in a Tally."""

    def __init__(self, base: str, tally: Tally):
        self.base, self.tally = base, tally
        self.http = requests.Session()

    def clone(self) -> "Client":
        """A second connection with the same cookies (the same browser, a second tab or a double click)."""
        other = Client(self.base, self.tally)
        other.http.cookies.update(self.http.cookies)
        return other

    def request(self, method: str, path: str, **kwargs) -> requests.Response | None:
        if not self.tally.room():
            return None
        try:
            response = self.http.request(method, urljoin(self.base, path), timeout=TIMEOUT, allow_redirects=False,
                                         **kwargs)
        except requests.RequestException:
            self.tally.record(None)
            return None
        self.tally.record(response)
        return response

    def get(self, path: str) -> requests.Response | None:
        return self.request("GET", path)

    def post(self, path: str, body) -> requests.Response | None:
        return self.request("POST", path, data=body)

    def form(self, path: str, action_pattern: str) -> dict | None:
        response = self.get(path)
        if response is None or response.status_code != 200:
            return None
        forms = parse_forms(response.text)
        for form in forms:
            form["action"] = form["action"] or path  # an empty action posts back to the page
        return find_form(forms, action_pattern)

    def sign_in(self, email: str, password: str = PASSWORD) -> bool:
        form = self.form("/account/sign-in", r"sign-in")
        if form is None:
            return False
        response = self.post(form["action"] or "/account/sign-in",
                             form_body(form, {"email": email, "password": password}))
        return response is not None and response.status_code in (302, 303) and \
            "sign-in" not in response.headers.get("Location", "sign-in")


# ---- the database, for the checks afterwards -----------------------------------------------------------

class Database:
    """A PostgreSQL database or an SQLite file, queried with plain SQL (%s placeholders)."""

    def __init__(self, url: str):
        self.url = url

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def scalar(self, sql: str, params=()):
        if self.is_sqlite:
            import sqlite3
            with sqlite3.connect(self.url.split("///", 1)[1], timeout=30) as conn:
                row = conn.execute(sql.replace("%s", "?"), params).fetchone()
        else:
            import psycopg
            with psycopg.connect(self.url, autocommit=True) as conn:
                row = conn.execute(sql, params).fetchone()
        return row[0] if row else None


def recreate_pg_database(admin_url: str, name: str) -> str:
    import psycopg
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"--pg-db must be a plain lower-case name, not {name!r}")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                     "AND pid <> pg_backend_pid()", (name,))
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def terminate_own_backends(admin_url: str, name: str) -> int:
    """Drop every connection to this run's database (and only to it): the 'connection drop' fault."""
    import psycopg
    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                            "AND pid <> pg_backend_pid()", (name,)).fetchall()
    return sum(1 for (done,) in rows if done)


def restart_postgresql() -> float:
    """Restart the local cluster (every database on it!): only with --with-restart."""
    versions = sorted(os.listdir("/etc/postgresql"), key=lambda v: int(v) if v.isdigit() else 0)
    started = time.monotonic()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "restart"], check=True)
    return time.monotonic() - started


# ---- preparing data (runs in a subprocess, with the app) -----------------------------------------------

def prepare_in_app(kind: str) -> dict:
    """Migrate, seed and (kind 'full') build the load's events and accounts with the app's services."""
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade

    from chainmatch import create_app
    from core.extensions import db
    from seeds.loader import load_all

    app = create_app({"RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        load_all(db.session, demo_accounts=(kind == "full"))
        facts = _build_fixture(db.session) if kind == "full" else {}
        db.session.commit()
    return facts


def _build_fixture(session) -> dict:
    from datetime import timedelta

    from flask_babel import force_locale
    from sqlalchemy import select

    from accounts.models import OrganiserOffice, User, hash_password
    from core.clock import utcnow
    from events.demo import CREDIT_INSTITUTIONS, OFFICE, STAFF, Party, _at, _demo_smes
    from events.enums import EventStatus
    from events.services import planning, publication, registration, scheduling
    from events.services.consent import registration_consent_text
    from market.models import Institution, Product

    password_hash = hash_password(PASSWORD)
    office = session.scalar(select(OrganiserOffice).where(OrganiserOffice.name == OFFICE))

    def user(email, role, **owner):
        item = User(email=email, display_name=email.split("@")[0], role=role, locale="zh",
                    email_verified_at=utcnow(), password_hash=password_hash, **owner)
        session.add(item)
        session.flush()
        return item

    organiser = user("organiser@load.test", "organiser", organiser_office_id=office.id)
    now = utcnow()
    today = shanghai_date(now)
    smes = [e for e in _demo_smes(session) if any(n.type == "loan" and n.status != "withdrawn" for n in e.needs)]
    institutions = []
    for name, _tables in CREDIT_INSTITUTIONS:
        institution = session.scalar(select(Institution).where(Institution.name == name))
        products = session.scalars(select(Product.id).where(Product.institution_id == institution.id,
                                                            Product.type.in_(["loan", "guarantee"]),
                                                            Product.status == "active")).all()
        if institution is not None and products:
            institutions.append((institution, list(products)))
    consent = registration_consent_text()

    def event_with_session(title, closes_at, day, register_smes):
        event = planning.create_event(organiser, planning.EventFacts(
            title=title, chain_code="ai", host_region_code="330100", starts_on=today,
            ends_on=today + timedelta(days=20), registration_opens_at=now - timedelta(days=2),
            registration_closes_at=closes_at, description="负载测试（scripts/reliability_load.py）"))
        item = planning.create_session(organiser, event, planning.SessionFacts(
            kind="credit_matching", mode="offline", title=title + " 信贷对接", starts_at=_at(day, 9),
            ends_at=_at(day, 12), slot_minutes=20, tables=30, financing_types=["loan", "guarantee"],
            venue="负载测试馆", room="一号厅", table_area="洽谈区 L"))
        planning.advance_event(organiser, event, EventStatus.OPEN)
        at = now - timedelta(days=1)
        registrations = []
        for number, (institution, products) in enumerate(institutions):
            staff = [registration.StaffMember(name=person, title=role, phone=f"0571-8{number}{table:02d}7788",
                                              table_number=table)
                     for table, (person, role) in enumerate(STAFF, start=1)]
            registrations.append(registration.register_institution(
                Party("institution", institution_id=institution.id), item, products, len(staff), staff, [], now=at))
        for enterprise in register_smes:
            needs = [n.id for n in enterprise.needs if n.type in ("loan", "guarantee") and n.status != "withdrawn"]
            registrations.append(registration.register_enterprise(Party("sme", enterprise_id=enterprise.id), item,
                                                                  needs, consent, now=at, consented=True))
        for entry in registrations:
            registration.approve_registration(organiser, entry)
        return event, item

    with force_locale("zh"):
        booked_smes, double_sme, registering = smes[:30], smes[30], smes[31:36]
        event_a, session_a = event_with_session("负载测试 A", now - timedelta(hours=1), today + timedelta(days=4),
                                                booked_smes)
        planning.advance_event(organiser, event_a, EventStatus.CLOSED)
        scheduling.run_matching(organiser, session_a)
        publication.publish_schedule(organiser, session_a)
        event_b, session_b = event_with_session("负载测试 B", now + timedelta(days=3), today + timedelta(days=6),
                                                [double_sme])
    bookers = [user(f"booker{n:02d}@load.test", "sme", enterprise_id=e.id).email
               for n, e in enumerate(booked_smes[:20], start=1)]
    double = user("double@load.test", "sme", enterprise_id=double_sme.id).email
    registrants = [user(f"registrant{n}@load.test", "sme", enterprise_id=e.id).email
                   for n, e in enumerate(registering, start=1)]
    bank = user("bank@load.test", "institution", institution_id=institutions[0][0].id).email
    session.flush()
    return {"organiser": organiser.email, "bookers": bookers, "double": double, "registrants": registrants,
            "bank": bank, "event_a": event_a.id, "session_a": session_a.id, "event_b": event_b.id,
            "session_b": session_b.id, "institutions": [i.id for i, _p in institutions]}


def prepare(url: str, kind: str, workdir: Path) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "reliability-load", "CHAINMATCH_RATELIMIT": "0"}
    env.pop("CHAINMATCH_DEMO", None)
    out = workdir / f"prepare-{kind}.json"
    started = time.monotonic()
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "_prepare", kind, str(out)], cwd=ROOT,
                   env=env, check=True)
    print(f"  prepared {kind} data in {time.monotonic() - started:.1f} s")
    return json.loads(out.read_text())


# ---- gunicorn -------------------------------------------------------------------------------------------

class Server:
    """gunicorn with sync workers on 127.0.0.1, in its own process group, stopped by stop()."""

    def __init__(self, url: str, port: int, workers: int, workdir: Path, label: str):
        self.base = f"http://127.0.0.1:{port}/"
        self.log_path = workdir / f"gunicorn-{label}.log"
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "reliability-load", "CHAINMATCH_RATELIMIT": "0",
               "CHAINMATCH_MAIL_BACKEND": "file"}
        env.pop("CHAINMATCH_DEMO", None)
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "sync",
             "--bind", f"127.0.0.1:{port}", "--timeout", "90", "--graceful-timeout", "5", "chainmatch:create_app()"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            try:
                if requests.get(self.base, timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.stop()
        raise SystemExit(f"gunicorn did not answer within 60 s; see {self.log_path}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()

    def log_counts(self, since: int = 0) -> tuple[dict, int]:
        """How often the server log names the errors issue 12 found, from byte `since` on; and the log's end."""
        text = self.log_path.read_text(errors="replace")
        part = text[since:]
        kinds = {"Traceback": "Traceback", "DeadlockDetected": "DeadlockDetected",
                 "database is locked": "database is locked", "IntegrityError": "IntegrityError",
                 "OperationalError": "OperationalError"}
        return {label: part.count(needle) for label, needle in kinds.items() if part.count(needle)}, len(text)


# ---- the scenarios ----------------------------------------------------------------------------------------

ACTIVE = "('proposed', 'scheduled', 'held', 'no_show')"


def run_threads(functions) -> None:
    threads = [threading.Thread(target=f) for f in functions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=150)


def scenario_deadlock(server: Server, db: Database, facts: dict, sizes: dict, cap: int) -> dict:
    tally = Tally("deadlock", cap=cap)
    session_id = facts["session_a"]
    organiser = Client(server.base, tally)
    bookers = [Client(server.base, tally) for _ in facts["bookers"]]
    if not organiser.sign_in(facts["organiser"]):
        raise SystemExit("the organiser cannot sign in")
    for client, email in zip(bookers, facts["bookers"]):
        if not client.sign_in(email):
            raise SystemExit(f"{email} cannot sign in")
    matching_page = f"/organiser/sessions/{session_id}/matching"
    before = Counter(tally.statuses)
    tally.statuses.clear()
    tally.count = 0
    start = threading.Barrier(len(bookers) + 1)
    booked, organised = Counter(), []
    organiser_done = threading.Event()

    def organise():
        start.wait()
        token = None
        try:
            for action in (r"/matching/run$",) * 3 + (r"/publish$",):
                form = organiser.form(matching_page, action)
                if form is None and action == r"/publish$" and token:  # the page shows the button only with
                    form = {"action": f"/organiser/sessions/{session_id}/publish",  # new proposals; post anyway
                            "fields": [{"name": "csrf_token", "type": "hidden", "value": token}]}
                if form is not None:
                    token = next((f["value"] for f in form["fields"] if f["name"] == "csrf_token"), token)
                response = organiser.post(form["action"], form_body(form)) if form is not None else None
                organised.append(response.status_code if response is not None else "no form")
        finally:
            organiser_done.set()

    def book(client: Client):
        start.wait()
        attempts = 0
        # at least bookings_each attempts, and on while the organiser is still at work (30 at most)
        while attempts < 30 and (attempts < sizes["bookings_each"] or not organiser_done.is_set()):
            attempts += 1
            page = client.get(f"/events/sessions/{session_id}/book")
            if page is None or page.status_code != 200:
                continue
            cells = [f for f in parse_forms(page.text) if f["method"] == "post" and f["action"].endswith("/book")]
            if not cells:
                continue
            cell = random.choice(cells)
            response = client.post(cell["action"], form_body(cell))
            if response is not None and response.status_code in (302, 303):
                booked["ok"] += 1

    started = time.monotonic()
    run_threads([organise] + [lambda c=c: book(c) for c in bookers])
    wall = time.monotonic() - started
    result = tally.summary()
    result["wall s"] = round(wall, 1)
    result["bookings accepted"] = booked["ok"]
    result["organiser: 3 runs + publish"] = organised
    result["duplicates"] = _double_bookings(db, session_id)
    result["sign-in requests (not counted)"] = sum(before.values())
    return result


def _double_bookings(db: Database, session_id: int) -> dict:
    """Active meetings beyond one per slot x table, per slot x enterprise and per enterprise x institution."""
    def extra(columns: str) -> int:
        return int(db.scalar(f"SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM meetings "
                             f"WHERE session_id = %s AND status IN {ACTIVE} AND slot IS NOT NULL "
                             f"GROUP BY {columns} HAVING COUNT(*) > 1) AS clashes", (session_id,)) or 0)
    return {"slot x table": extra("slot, institution_id, table_number"), "slot x enterprise": extra("slot, enterprise_id"),
            "enterprise x institution": extra("enterprise_id, institution_id")}


def scenario_double(server: Server, db: Database, facts: dict, sizes: dict, cap: int, run_id: str) -> dict:
    tally = Tally("double", cap=cap)
    sme, bank = Client(server.base, tally), Client(server.base, tally)
    if not sme.sign_in(facts["double"]) or not bank.sign_in(facts["bank"]):
        raise SystemExit("the double-submit accounts cannot sign in")
    registrants = []
    for email in facts["registrants"][:sizes["pairs"]]:
        client = Client(server.base, tally)
        if client.sign_in(email):
            registrants.append((client, email))
    tally.statuses.clear()
    tally.count = 0
    institutions = facts["institutions"]
    results = {}

    def pair(client: Client, page: str, action: str, overrides: dict, check_all=()) -> list:
        form = client.form(page, action)
        if form is None:
            return ["no form"]
        body = form_body(form, overrides, check_all)
        twin = client.clone()
        answers = [None, None]
        gate = threading.Barrier(2)

        def send(index, who):
            gate.wait()
            response = who.post(form["action"] or page, body)
            answers[index] = response.status_code if response is not None else "conn"
        run_threads([lambda: send(0, client), lambda: send(1, twin)])
        return answers

    def count(kind, sql, params, page, action, overrides, client, check_all=()):
        row = results.setdefault(kind, {"pairs": 0, "rows": 0, "duplicates": 0, "500": 0, "answers": Counter()})
        answers = pair(client, page, action, overrides, check_all)
        rows = int(db.scalar(sql, params) or 0)
        row["pairs"] += 1
        row["rows"] += rows
        row["duplicates"] += max(0, rows - 1)
        row["500"] += answers.count(500)
        row["answers"].update(str(a) for a in answers)

    started = time.monotonic()
    for n in range(sizes["pairs"]):
        purpose = f"负载测试需求 {run_id}-{n}"
        count("need", "SELECT COUNT(*) FROM financing_needs WHERE purpose = %s", (purpose,), "/needs/new",
              r"/needs/new", {"type": "loan", "amount": "100", "purpose": purpose}, sme)
        name = f"负载测试产品 {run_id}-{n}"
        count("product (same name)", "SELECT COUNT(*) FROM products WHERE name = %s", (name,), "/products/new",
              r"/products/new", {"name": name, "type": "loan", "amount_min": "10", "amount_max": "500"}, bank)
        institution = institutions[n % len(institutions)]
        message = f"负载测试请求（活动）{run_id}-{n}"
        count("request with event", "SELECT COUNT(*) FROM meeting_requests WHERE message = %s", (message,),
              f"/events/requests/new?event={facts['event_b']}&institution={institution}", r"/events/requests/new",
              {"message": message, "consent": "y"}, sme)
        message = f"负载测试请求（直接）{run_id}-{n}"
        count("direct request (no event)", "SELECT COUNT(*) FROM meeting_requests WHERE message = %s", (message,),
              f"/events/requests/new?institution={institution}", r"/events/requests/new",
              {"message": message, "consent": "y"}, sme)
        if n < len(registrants):
            client, email = registrants[n]
            count("registration", "SELECT COUNT(*) FROM registrations r JOIN users u ON u.enterprise_id = "
                  "r.enterprise_id WHERE u.email = %s AND r.session_id = %s", (email, facts["session_b"]),
                  f"/events/sessions/{facts['session_b']}/register", r"/register$", {"consent": "y"}, client,
                  check_all=("needs",))
    notifications = int(db.scalar(
        "SELECT COUNT(*) FROM notifications WHERE object_type = 'meeting_request' AND object_id IN "
        "(SELECT id FROM meeting_requests WHERE message LIKE %s)", (f"负载测试请求%{run_id}-%",)) or 0) \
        if _has_column(db, "notifications", "object_type") else None
    wall = time.monotonic() - started
    result = tally.summary()
    result["wall s"] = round(wall, 1)
    for row in results.values():
        row["answers"] = dict(row["answers"])
    result["per form"] = results
    result["duplicates"] = sum(row["duplicates"] for row in results.values())
    if notifications is not None:
        result["request notifications"] = notifications
    return result


def _has_column(db: Database, table: str, column: str) -> bool:
    try:
        db.scalar(f"SELECT {column} FROM {table} WHERE 1 = 0")
    except Exception:  # noqa: BLE001 - a probe: whichever driver error means "no such column"
        return False
    return True


def credit_code(serial: int, run_id: str) -> str:
    """A valid 统一社会信用代码 (GB 32100-2015 check character) that differs per serial and run."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91330100" + "MA" + run_id[:3].upper() + f"{serial:04d}"
    body = "".join(c if c in alphabet else "0" for c in body)
    total = sum(alphabet.index(c) * pow(3, i, 31) for i, c in enumerate(body))
    return body + alphabet[(31 - total % 31) % 31]


def scenario_signups(server: Server, db: Database, sizes: dict, cap: int, run_id: str) -> dict:
    tally = Tally("signups", cap=cap)
    posts = Tally("signup POSTs", cap=cap)
    gets = Tally("home GETs", cap=cap)
    answers = {}
    done = threading.Event()

    def sign_up(n: int):
        client = Client(server.base, tally)
        form = client.form("/account/sign-up/enterprise", r"sign-up/enterprise")
        if form is None:
            return
        email = f"signup-{run_id}-{n}@loadtest.chainmatch.cn"  # email_validator refuses .test at sign-up
        body = form_body(form, {"email": email, "display_name": f"负载{n}", "password": PASSWORD, "confirm": PASSWORD,
                                "credit_code": credit_code(n, run_id), "name": f"负载测试{run_id}第{n}号科技有限公司",
                                "employees": "20", "revenue": "300", "region": "330106", "chain": "ai",
                                "industry": "software_it", "stage": "growth"})
        client.tally = posts
        response = client.post(form["action"] or "/account/sign-up/enterprise", body)
        answers[email] = response.status_code if response is not None else "conn"

    def browse():
        client = Client(server.base, gets)
        while not done.is_set() and gets.room():
            client.get("/")

    started = time.monotonic()
    browsers = [threading.Thread(target=browse) for _ in range(sizes["browsers"])]
    for thread in browsers:
        thread.start()
    with ThreadPoolExecutor(max_workers=sizes["signup_concurrency"]) as pool:
        list(pool.map(sign_up, range(sizes["signups"])))
    done.set()
    for thread in browsers:
        thread.join(timeout=60)
    wall = time.monotonic() - started
    created = {e for e in answers if db.scalar("SELECT COUNT(*) FROM users WHERE email = %s", (e.lower(),))}
    result = {"wall s": round(wall, 1), "sign-ups": len(answers), "form GETs": tally.summary(),
              "sign-up POSTs": posts.summary(), "home GETs": gets.summary()}
    post_ok = sum(1 for a in answers.values() if isinstance(a, int) and a < 400)
    result["accounts created"] = len(created)
    result["POSTs 2xx/3xx"] = post_ok
    result["half-written (created, answered 500)"] = sum(1 for e in created if answers[e] == 500)
    result["requests"] = tally.count + posts.count + gets.count
    result["5xx"] = sum(t.summary()["5xx"] for t in (tally, posts, gets))
    result["duplicates"] = 0
    return result


def scenario_dbdrop(server: Server, db: Database, facts: dict, sizes: dict, cap: int, admin_url: str,
                    db_name: str, restart: bool, run_id: str) -> dict:
    tally = Tally("dbdrop", cap=cap)
    signed = Client(server.base, tally)
    booker = Client(server.base, tally)
    if not signed.sign_in(facts["double"]) or not booker.sign_in(facts["bookers"][0]):
        raise SystemExit("the dbdrop accounts cannot sign in")
    tally.statuses.clear()
    tally.count = 0
    stop = threading.Event()
    posts = Counter()

    def reader(client: Client, paths):
        while not stop.is_set() and tally.room():
            client.get(random.choice(paths))

    def writer(client: Client):
        n = 0
        while not stop.is_set() and tally.room():
            form = client.form("/needs/new", r"/needs/new")
            if form is None:
                time.sleep(0.2)
                continue
            n += 1
            response = client.post(form["action"], form_body(
                form, {"type": "loan", "amount": "50", "purpose": f"负载测试断连 {run_id}-{n}"}))
            posts[response.status_code if response is not None else "conn"] += 1
            time.sleep(0.1)

    workers = [lambda: reader(Client(server.base, tally), ["/", "/catalogue", "/events/"]),
               lambda: reader(booker.clone(), ["/events/agenda", "/messages/"]),
               lambda: reader(signed.clone(), ["/enterprise", "/events/requests"]),
               lambda: writer(signed)]
    threads = [threading.Thread(target=w) for w in workers]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    faults = []
    for fraction in (1 / 3, 2 / 3):
        time.sleep(max(0.0, started + sizes["dbdrop_seconds"] * fraction - time.monotonic()))
        if restart:
            faults.append(f"restart {restart_postgresql():.1f} s")
        else:
            faults.append(f"terminated {terminate_own_backends(admin_url, db_name)} backends")
    time.sleep(max(0.0, started + sizes["dbdrop_seconds"] - time.monotonic()))
    stop.set()
    for thread in threads:
        thread.join(timeout=90)
    result = tally.summary()
    result["wall s"] = round(time.monotonic() - started, 1)
    result["faults"] = faults
    result["need POSTs"] = dict(posts)
    half = int(db.scalar("SELECT COUNT(*) FROM financing_needs WHERE purpose LIKE %s", (f"负载测试断连 {run_id}-%",)) or 0)
    result["needs created"] = half
    result["duplicates"] = 0
    return result


# ---- main -------------------------------------------------------------------------------------------------

QUICK = {"bookings_each": 2, "pairs": 3, "signups": 60, "signup_concurrency": 30, "browsers": 4,
         "dbdrop_seconds": 15}
FULL = {"bookings_each": 4, "pairs": 5, "signups": 200, "signup_concurrency": 30, "browsers": 6,
        "dbdrop_seconds": 40}


def print_result(title: str, result: dict, log: dict) -> None:
    print(f"\n== {title}")
    for key, value in result.items():
        if key == "per form":
            for form, row in value.items():
                print(f"  {form:<38} {row}")
        else:
            print(f"  {key:<38} {value}")
    if log:
        print(f"  {'server log':<38} {log}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help="comma-separated, from: " + ", ".join(SCENARIOS) + " (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes (60 sign-ups, 3 pairs, 15 s of dbdrop)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765)")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL URL used to (re)create the run's database")
    parser.add_argument("--pg-db", default="chainmatch_load", help="the run's database, dropped and re-created")
    parser.add_argument("--no-sqlite", action="store_true", help="run the sign-ups on PostgreSQL only")
    parser.add_argument("--with-restart", action="store_true",
                        help="dbdrop restarts the whole PostgreSQL cluster (pg_ctlcluster) instead of dropping "
                             "only this database's connections; disturbs everything else on the server")
    parser.add_argument("--max-requests", type=int, default=4000, help="cap per scenario (default 4000)")
    parser.add_argument("--workdir", help="folder for the SQLite file, prepared facts and gunicorn logs "
                                          "(default: a new temporary folder, kept)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error("unknown scenario(s): " + ", ".join(sorted(unknown)))
    sizes = QUICK if args.quick else FULL
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="chainmatch-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    run_id = "".join(random.choice(string.ascii_uppercase) for _ in range(3))
    print(f"chainmatch reliability load · {time.strftime('%Y-%m-%d %H:%M')} · {args.workers} workers · "
          f"{'quick' if args.quick else 'full'} · work folder {workdir}")
    results = {}
    if chosen:
        url = recreate_pg_database(args.pg_admin_url, args.pg_db)
        print(f"PostgreSQL database {args.pg_db} (fresh)")
        facts = prepare(url, "full", workdir)
        pg = Database(url)
        server = Server(url, args.port, args.workers, workdir, "pg")
        try:
            for name in chosen:
                mark = server.log_counts()[1]
                if name == "deadlock":
                    result = scenario_deadlock(server, pg, facts, sizes, args.max_requests)
                elif name == "double":
                    result = scenario_double(server, pg, facts, sizes, args.max_requests, run_id)
                elif name == "signups":
                    result = scenario_signups(server, pg, sizes, args.max_requests, run_id)
                else:
                    result = scenario_dbdrop(server, pg, facts, sizes, args.max_requests, args.pg_admin_url,
                                             args.pg_db, args.with_restart, run_id)
                title = f"{name} (PostgreSQL)" if name != "dbdrop" else \
                    ("dbdrop: PostgreSQL restart" if args.with_restart else "dbdrop: own connections terminated")
                results[title] = result
                print_result(title, result, server.log_counts(mark)[0])
        finally:
            server.stop()
    if "signups" in chosen and not args.no_sqlite:
        path = workdir / "signups.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        url = "sqlite:///" + str(path)
        print("\nSQLite file " + str(path) + " (fresh)")
        prepare(url, "seeds", workdir)
        server = Server(url, args.port, args.workers, workdir, "sqlite")
        try:
            result = scenario_signups(server, Database(url), sizes, args.max_requests, run_id + "S")
            results["signups (SQLite)"] = result
            print_result("signups (SQLite)", result, server.log_counts()[0])
        finally:
            server.stop()
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str))
    print(f"\nlogs: {workdir}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "_prepare":
        Path(sys.argv[3]).write_text(json.dumps(prepare_in_app(sys.argv[2])))
        sys.exit(0)
    sys.exit(main())
