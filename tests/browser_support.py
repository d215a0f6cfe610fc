"""Shared browser fixtures: the app served on a throw-away SQLite database, and a chromium page.

Use them from a test module:

    import pytest
    from tests.browser_support import browser, live_server, page, sign_in_page  # noqa: F401 (fixtures)

    pytestmark = pytest.mark.browser

    def test_something(live_server, page):
        with live_server.database():           # set up data in the live app's database (committed on exit)
            user = factories.sme()
        sign_in_page(page, user.email)
        page.goto("/enterprise")

`live_server` is one per test module (a module's `LIVE_SERVER_CONFIG` dict adds to the app's config): a fresh
SQLite file with the schema and the reference data
(chains, regions), served by werkzeug's `make_server` on 127.0.0.1 at a free port in a background
thread, with CSRF protection on as in production. Data from earlier tests of the module stays: make
what each test needs with the factories (their names and emails are unique). `page` is a fresh
browser context per test, its `base_url` the live server, so `page.goto("/path")` works.

Chromium is Debian's (/usr/bin/chromium); never `playwright install`.
"""
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from flask import Flask
from werkzeug.serving import make_server

from chainmatch import create_app
from core.extensions import db
from tests.conftest import DEMO_PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}

__all__ = ["DESKTOP", "PHONE", "LiveServer", "browser", "live_server", "page", "sign_in_page"]


@dataclass
class LiveServer:
    url: str
    app: Flask

    @contextmanager
    def database(self):
        """The live app's database session; committed when the block ends without an error."""
        with self.app.app_context():
            try:
                yield db.session
                db.session.commit()
                for obj in list(db.session.identity_map.values()):
                    db.session.refresh(obj)  # keep ids and columns readable after the block
            finally:
                db.session.remove()


@pytest.fixture(scope="module")
def live_server(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("live")
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'live.sqlite'}",
        "SECRET_KEY": "browser-test-secret-key",
        "WTF_CSRF_ENABLED": True,
        "MAIL_BACKEND": "memory",
        "SERVER_NAME": None,
        **getattr(request.module, "LIVE_SERVER_CONFIG", {}),
    })
    with app.app_context():
        db.create_all()
        from seeds.loader import load_reference
        load_reference(db.session)
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP, locale="zh-CN")
    context.set_default_timeout(15_000)
    the_page = context.new_page()
    try:
        yield the_page
    finally:
        context.close()


def sign_in_page(page, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the sign-in form and wait for the redirect."""
    page.goto("/account/sign-in")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
