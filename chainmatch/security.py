"""Browser hardening in one place: security headers, TLS behind a reverse proxy, no caching of private pages.

Headers come from Flask-Talisman. One setting, `BEHIND_TLS` (env `CHAINMATCH_BEHIND_TLS=1`), says the site is
served over https by a reverse proxy; it turns on HSTS, Secure cookies, https redirects, https external URLs
and werkzeug's `ProxyFix` (trusting `PROXY_HOPS` proxies, env `CHAINMATCH_PROXY_HOPS`, 1 by default). Without
it the site works over plain http (the demo on http://127.0.0.1:5000). docs/operations.md describes the setup.
"""
from flask import Flask, Response, request
from flask_login import current_user
from flask_talisman import DENY, Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

from events.services.online import embed_hosts

ONE_YEAR = 365 * 24 * 60 * 60

# Powerful browser features no page of ours uses, switched off for the page and every frame in it.
# The stream players' `allow="autoplay; fullscreen; picture-in-picture"` stays possible.
PERMISSIONS_POLICY = {feature: "()" for feature in (
    "accelerometer", "browsing-topics", "camera", "display-capture", "geolocation", "gyroscope",
    "magnetometer", "microphone", "midi", "payment", "serial", "usb",
)}


def init_app(app: Flask) -> None:
    behind_tls = bool(app.config.get("BEHIND_TLS"))
    hops = app.config.get("PROXY_HOPS")
    hops = (1 if behind_tls else 0) if hops is None else int(hops)
    if hops:
        # Scheme, host and client address as the proxy saw them (Flask-Limiter counts per client address).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    app.config["SESSION_COOKIE_SECURE"] = behind_tls
    app.config["REMEMBER_COOKIE_SECURE"] = behind_tls
    if behind_tls:
        app.config["PREFERRED_URL_SCHEME"] = "https"

    # One Talisman per app: it keeps its options on the instance, and tests build apps with different ones.
    app.extensions["talisman"] = Talisman(
        app,
        force_https=behind_tls,
        strict_transport_security=behind_tls,
        strict_transport_security_max_age=ONE_YEAR,
        strict_transport_security_include_subdomains=True,
        session_cookie_secure=behind_tls,
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE") or "Lax",
        content_security_policy=content_security_policy(app) if app.config.get("CSP_ENABLED", True) else None,
        frame_options=DENY,
        referrer_policy="strict-origin-when-cross-origin",
        permissions_policy=PERMISSIONS_POLICY,
        x_content_type_options=True,
    )
    app.after_request(keep_private_responses_out_of_caches)


def content_security_policy(app: Flask) -> dict:
    """Everything from our own origin: no inline script or style, frames only from the allow-listed players."""
    return {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self'",
        "font-src": "'self'",
        "connect-src": "'self'",
        "frame-src": " ".join(_stream_player_origins(app)) or "'none'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def _stream_player_origins(app: Flask) -> list[str]:
    """The providers whose players the online half embeds (`STREAM_EMBED_HOSTS`, read at start-up)."""
    with app.app_context():
        return [f"https://{host}" for host in embed_hosts()]


def keep_private_responses_out_of_caches(response: Response) -> Response:
    """`Cache-Control: no-store` on everything a signed-in user gets and on every download; not on static files."""
    if request.endpoint == "static":
        return response
    is_download = response.headers.get("Content-Disposition", "").lower().startswith("attachment")
    if is_download or current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    return response
