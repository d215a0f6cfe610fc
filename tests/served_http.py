"""The suite's app over real HTTP, for tests of concurrent requests: werkzeug's threaded server in a
background thread, and urllib clients that each keep their own cookies and do not follow redirects.

    with serve(app) as base_url:
        client = http_client()
        status, body = request(client, base_url + "/account/sign-in", {"email": ..., "password": ...})
"""
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookiejar import CookieJar

from werkzeug.serving import make_server


@contextmanager
def serve(app, name: str = "test-server") -> Iterator[str]:
    """The app on 127.0.0.1 at a free port while the block runs; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http_client() -> urllib.request.OpenerDirector:
    """A browser-like client: its own cookie jar; a redirect comes back as the 3xx it is."""
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect())


def request(client, url: str, data: dict | None = None, timeout: float = 120) -> tuple[int, str]:
    """GET, or POST the form `data`; (status, body) whatever the status (3xx, 4xx and 5xx included)."""
    body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
    try:
        with client.open(urllib.request.Request(url, data=body, method="POST" if body is not None else "GET"),
                         timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
