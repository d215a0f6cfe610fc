"""Security headers, TLS behind a proxy, no-store for private responses, and templates without inline code."""
import re
from html.parser import HTMLParser

import pytest
from flask import render_template_string, request

from chainmatch import PROJECT_ROOT, create_app
from chainmatch.config import load_config
from core.extensions import db
from events.services.online import DEFAULT_EMBED_HOSTS
from tests.conftest import DEMO_PASSWORD, sign_in
from tests.support import factories
from tests.support.database import database

EXPORTS = ["/reports/export/registrations.xlsx", "/reports/export/schedule.xlsx", "/reports/export/outcomes.xlsx"]


@pytest.fixture
def people(app):
    with database(app):
        return {"sme": factories.sme().email, "organiser": factories.organiser("330100").email}


@pytest.fixture
def make_app(app):
    """Another app on the test database, with its own configuration (built before its first request)."""
    made = []

    def make(**config):
        new = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                          "WTF_CSRF_ENABLED": False, "MAIL_BACKEND": "memory", **config})
        made.append(new)
        return new

    yield make
    for new in made:
        with new.app_context():
            db.session.remove()
            db.engine.dispose()


def csp_directives(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def _responses(client, people) -> dict:
    """One response of each kind: public page, signed-in page, error page, export downloads."""
    responses = {"anonymous home": client.get("/"), "anonymous 404": client.get("/no-such-page")}
    sign_in(client, people["organiser"])
    responses["signed-in page"] = client.get("/organiser/events")
    responses["signed-in 404"] = client.get("/no-such-page")
    responses["xlsx export"] = client.get(EXPORTS[0])
    sme = client.application.test_client()
    sign_in(sme, people["sme"])
    responses["ics export"] = sme.get("/events/agenda.ics")
    return responses


def test_every_kind_of_response_carries_the_headers(client, people):
    responses = _responses(client, people)
    assert {name: r.status_code for name, r in responses.items()} == {
        "anonymous home": 200, "anonymous 404": 404, "signed-in page": 200, "signed-in 404": 404,
        "xlsx export": 200, "ics export": 200}
    for name, response in responses.items():
        headers = response.headers
        assert headers["X-Frame-Options"] == "DENY", name
        assert headers["X-Content-Type-Options"] == "nosniff", name
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin", name
        permissions = headers["Permissions-Policy"]
        for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
            assert f"{feature}=()" in permissions, (name, feature)
        csp = csp_directives(response)
        assert csp["default-src"] == ["'self'"], name
        assert csp["frame-ancestors"] == ["'none'"], name
        assert csp["form-action"] == ["'self'"], name
        assert csp["base-uri"] == ["'self'"], name
        assert csp["object-src"] == ["'none'"], name
        assert "Strict-Transport-Security" not in headers, name  # plain http without BEHIND_TLS


def test_scripts_and_styles_only_from_our_origin_frames_only_from_the_players(client):
    csp = csp_directives(client.get("/"))
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    for directive in ("script-src", "style-src", "default-src"):
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:"} & set(csp[directive]), directive
    assert csp["frame-src"] == [f"https://{host}" for host in DEFAULT_EMBED_HOSTS]


def test_the_frame_sources_follow_the_configured_stream_providers(make_app):
    app = make_app(STREAM_EMBED_HOSTS="live.example.com, Player.Example.org")
    assert csp_directives(app.test_client().get("/"))["frame-src"] == [
        "https://live.example.com", "https://player.example.org"]
    none = make_app(STREAM_EMBED_HOSTS=[])
    assert csp_directives(none.test_client().get("/"))["frame-src"] == ["'none'"]


def test_a_test_app_can_switch_the_csp_off_and_keeps_the_other_headers(make_app):
    response = make_app(CSP_ENABLED=False).test_client().get("/")
    assert "Content-Security-Policy" not in response.headers
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# ---- TLS -------------------------------------------------------------------------------------------

def _cookie(response, name: str) -> str:
    cookies = [value for value in response.headers.getlist("Set-Cookie") if value.startswith(name + "=")]
    assert cookies, f"no {name} cookie set"
    return cookies[-1]


def _sign_in_remembered(client, email: str):
    response = client.post("/account/sign-in", data={"email": email, "password": DEMO_PASSWORD, "remember": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def test_without_tls_cookies_are_not_secure_and_there_is_no_hsts_or_redirect(client, people):
    assert client.get("/").status_code == 200  # plain http works: the demo on http://127.0.0.1:5000
    response = _sign_in_remembered(client, people["sme"])
    assert "Strict-Transport-Security" not in response.headers
    for name in ("session", "remember_token"):
        cookie = _cookie(response, name)
        assert "Secure" not in cookie
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie


def test_behind_tls_hsts_secure_cookies_and_https_everywhere(make_app, people, monkeypatch):
    monkeypatch.setenv("CHAINMATCH_BEHIND_TLS", "1")
    app = make_app()
    assert app.config["BEHIND_TLS"] is True and app.config["PREFERRED_URL_SCHEME"] == "https"
    client = app.test_client()

    redirect = client.get("/catalogue?page=2", headers={"X-Forwarded-Proto": "http"})
    assert redirect.status_code in (301, 302)
    assert redirect.headers["Location"] == "https://localhost/catalogue?page=2"

    proxied = {"X-Forwarded-Proto": "https"}  # what the TLS-terminating proxy adds
    home = client.get("/", headers=proxied)
    assert home.status_code == 200
    assert home.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    response = client.post("/account/sign-in", headers=proxied,
                           data={"email": people["sme"], "password": DEMO_PASSWORD, "remember": "y"})
    assert response.status_code == 302
    for name in ("session", "remember_token"):
        cookie = _cookie(response, name)
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie


def _scheme_and_client_app(make_app, **config):
    app = make_app(**config)

    @app.get("/_test/where-from")
    def where_from():
        from flask import url_for
        return {"scheme": request.scheme, "client": request.remote_addr, "host": request.host,
                "external": url_for("home.index", _external=True)}

    return app.test_client()


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "chainmatch.example.cn"}


def test_forwarded_headers_are_ignored_unless_the_deployment_is_behind_a_proxy(make_app):
    client = _scheme_and_client_app(make_app)
    assert client.get("/_test/where-from", headers=FORWARDED).get_json() == {
        "scheme": "http", "client": "127.0.0.1", "host": "localhost", "external": "http://localhost/"}


def test_behind_tls_one_proxy_hop_is_trusted(make_app):
    client = _scheme_and_client_app(make_app, BEHIND_TLS=True)
    assert client.get("/_test/where-from", headers=FORWARDED).get_json() == {
        "scheme": "https", "client": "203.0.113.9", "host": "chainmatch.example.cn",
        "external": "https://chainmatch.example.cn/"}
    # A client that forges its own X-Forwarded-For in front of the proxy's: only the last hop counts.
    forged = {**FORWARDED, "X-Forwarded-For": "10.6.6.6, 203.0.113.9"}
    assert client.get("/_test/where-from", headers=forged).get_json()["client"] == "203.0.113.9"


def test_the_hop_count_is_configurable(make_app):
    two = _scheme_and_client_app(make_app, BEHIND_TLS=True, PROXY_HOPS=2)
    headers = {"X-Forwarded-Proto": "https, https", "X-Forwarded-For": "198.51.100.7, 10.0.0.2"}
    assert two.get("/_test/where-from", headers=headers).get_json()["client"] == "198.51.100.7"
    none = _scheme_and_client_app(make_app, BEHIND_TLS=True, PROXY_HOPS=0)
    assert none.get("/_test/where-from", headers=FORWARDED).get_json()["client"] == "127.0.0.1"


def test_tls_and_hops_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "k")
    for name in ("CHAINMATCH_BEHIND_TLS", "CHAINMATCH_PROXY_HOPS"):
        monkeypatch.delenv(name, raising=False)
    config = load_config(str(tmp_path))
    assert (config["BEHIND_TLS"], config["PROXY_HOPS"], config["CSP_ENABLED"]) == (False, None, True)
    assert config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    monkeypatch.setenv("CHAINMATCH_BEHIND_TLS", "1")
    monkeypatch.setenv("CHAINMATCH_PROXY_HOPS", "2")
    config = load_config(str(tmp_path))
    assert (config["BEHIND_TLS"], config["PROXY_HOPS"]) == (True, 2)
    monkeypatch.setenv("CHAINMATCH_PROXY_HOPS", "one")
    with pytest.raises(ValueError, match="CHAINMATCH_PROXY_HOPS"):
        load_config(str(tmp_path))


# ---- caching ---------------------------------------------------------------------------------------

def test_signed_in_pages_and_exports_are_never_stored(client, people):
    responses = _responses(client, people)
    for name in ("signed-in page", "signed-in 404", "xlsx export", "ics export"):
        assert responses[name].headers["Cache-Control"] == "no-store", name
    for path in EXPORTS[1:] + ["/reports/", "/catalogue", "/policies/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
    sme = client.application.test_client()
    sign_in(sme, people["sme"])
    for path in ("/enterprise", "/events/agenda", "/messages/", "/"):
        assert sme.get(path).headers["Cache-Control"] == "no-store", path


def test_public_pages_and_static_files_keep_their_caching(client, people):
    for path in ("/", "/catalogue", "/policies/", "/account/sign-in"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" not in response.headers.get("Cache-Control", ""), path
    sign_in(client, people["sme"])
    static = client.get("/static/css/app.css")
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("Cache-Control", "")


# ---- templates -------------------------------------------------------------------------------------

class InlineCodeFinder(HTMLParser):
    """Inline script, inline event handlers and inline styles: what a CSP without 'unsafe-inline' refuses."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._script: dict | None = None

    def handle_starttag(self, tag, attrs):
        names = {name.lower(): value for name, value in attrs}
        for name in names:
            if re.fullmatch(r"on[a-z]+", name):
                self.problems.append(f"line {self.getpos()[0]}: {name}= handler on <{tag}>")
        if "style" in names:
            self.problems.append(f"line {self.getpos()[0]}: style= attribute on <{tag}>")
        if tag == "style":
            self.problems.append(f"line {self.getpos()[0]}: <style> element")
        if tag == "script":
            self._script = {"line": self.getpos()[0], "src": "src" in names,
                            "json": (names.get("type") or "").lower() == "application/json", "code": ""}

    def handle_data(self, data):
        if self._script is not None:
            self._script["code"] += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            script, self._script = self._script, None
            if script["code"].strip() and not script["json"]:
                self.problems.append(f"line {script['line']}: inline <script> with code")
            if script["src"] and script["code"].strip():
                self.problems.append(f"line {script['line']}: <script src> with a body")


def inline_code(source: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(source)
    finder.close()
    return finder.problems


@pytest.mark.parametrize("snippet", [
    "<script>alert(1)</script>",
    "<script type='text/javascript'>\n var x = 1;\n</script>",
    '<form onsubmit="return confirm(\'x\')">',
    '<a href="#" ONCLICK="go()">',
    '<img src="x" onerror="{{ code }}">',
    '<div style="margin: 0">',
    '<p class="a" style="{{ s }}">',
    "<style>p { color: red }</style>",
])
def test_the_template_check_catches_inline_code(snippet):
    assert inline_code(snippet)


@pytest.mark.parametrize("snippet", [
    '<script src="{{ url_for(\'static\', filename=\'js/confirm.js\') }}" defer></script>',
    '<script type="application/json" id="report-data">{{ chart_data|tojson }}</script>',
    '<form method="post" data-confirm="It\'s &#34;final&#34;">',
    '<link rel="stylesheet" href="/static/css/app.css"><p class="help online">on the air</p>',
])
def test_the_template_check_lets_external_code_and_data_through(snippet):
    assert inline_code(snippet) == []


def test_no_template_has_inline_script_handlers_or_styles():
    templates = sorted((PROJECT_ROOT / "templates").rglob("*.html"))
    assert len(templates) > 50
    found = {str(path.relative_to(PROJECT_ROOT)): problems
             for path in templates if (problems := inline_code(path.read_text(encoding="utf-8")))}
    assert found == {}


def test_no_form_field_renders_an_inline_handler_or_style():
    """render_kw in the forms would put attributes on every rendered field."""
    sources = [path for folder in ("chainmatch", "market", "events", "notifications", "policies")
               for path in (PROJECT_ROOT / folder).rglob("*.py")]
    offenders = [f"{path.relative_to(PROJECT_ROOT)}: {match.group(0)}" for path in sources
                 for match in re.finditer(r"""render_kw=\{[^}]*["'](?:style|on[a-z]+)["']""", path.read_text())]
    assert offenders == []


def test_a_confirm_text_with_quotes_reaches_the_attribute_whole(app):
    text = "It's \"final\" — l'agenda <b>est</b> publié & 确定？"
    with app.test_request_context():
        html = render_template_string(
            "{% from '_forms.html' import post_button %}{{ post_button('/x', 'Go', confirm=text) }}", text=text)

    confirms = []

    class Forms(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "form":
                confirms.append(dict(attrs).get("data-confirm"))

    Forms().feed(html)
    assert confirms == [text]
    assert "onsubmit" not in html and inline_code(html) == []


def test_the_scripts_the_templates_load_exist():
    sources = [path.read_text(encoding="utf-8") for path in (PROJECT_ROOT / "templates").rglob("*.html")]
    loaded = {name for source in sources for name in re.findall(r"filename='(js/[^']+)'", source)}
    assert {"js/confirm.js", "js/matching.js", "js/chain-nodes.js", "js/region-summary.js",
            "js/report-charts.js"} <= loaded
    assert all((PROJECT_ROOT / "static" / name).is_file() for name in loaded)
