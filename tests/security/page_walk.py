"""Walking the site with Flask's test client: links followed, forms read as a browser would send them.

`Walker(app, client).crawl(...)` visits the pages a user reaches by following links (each endpoint a few
times, pages whose links show a payload always); `Page.forms` are the forms on a page with their controls
described as in `tests.security.xss_fields.fill`, and `form_data` turns them into what a browser posts.
"""
from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from tests.security.xss_fields import MARKER

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "poster"}
WEB_SCHEMES = {"", "http", "https", "mailto", "tel"}
NOT_PAGES = {"static", "online.watch", "events.agenda_ics", "reports.export_registrations",
             "reports.export_schedule", "reports.export_outcomes"}


@dataclass
class HtmlForm:
    method: str
    action: str
    controls: list[dict] = field(default_factory=list)
    buttons: list[dict] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[list[str]] = []   # [href, text]
        self.forms: list[HtmlForm] = []
        self.text: list[str] = []
        self.attributes: list[str] = []
        self.urls: list[str] = []            # href, src, action ... values: what a click or a load opens
        self._open_link = None
        self._textarea = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = {name: (value if value is not None else "") for name, value in attrs}
        self.attributes += [value for value in attrs.values() if value]
        self.urls += [value for name, value in attrs.items() if name in URL_ATTRIBUTES]
        form = self.forms[-1] if self.forms else None
        if tag == "a" and "href" in attrs:
            self._open_link = [attrs["href"], ""]
            self.links.append(self._open_link)
        elif tag == "form":
            self.forms.append(HtmlForm(attrs.get("method", "get").lower(), attrs.get("action", "")))
        elif tag == "input" and form is not None:
            kind = attrs.get("type", "text").lower()
            if kind in ("submit", "image"):
                form.buttons.append({"name": attrs.get("name"), "value": attrs.get("value", "")})
            elif "name" in attrs and "disabled" not in attrs:
                form.controls.append(_control("input", kind, attrs))
        elif tag == "button" and form is not None and attrs.get("type", "submit") == "submit":
            form.buttons.append({"name": attrs.get("name"), "value": attrs.get("value", "")})
        elif tag == "textarea" and form is not None and "name" in attrs:
            self._textarea = _control("textarea", "", attrs)
            form.controls.append(self._textarea)
        elif tag == "select" and form is not None and "name" in attrs:
            self._select = _control("select", "multiple" if "multiple" in attrs else "", attrs)
            self._select["options"] = []
            form.controls.append(self._select)
        elif tag == "option" and self._select is not None:
            self._select["options"].append({"value": attrs.get("value", ""), "selected": "selected" in attrs})

    def handle_endtag(self, tag):
        if tag == "a":
            self._open_link = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["value"] += data.removeprefix("\r\n") if not self._textarea["value"] else data
            return
        self.text.append(data)
        if self._open_link is not None:
            self._open_link[1] += data


def _control(tag: str, kind: str, attrs: dict) -> dict:
    maxlength = attrs.get("maxlength")
    return {"tag": tag, "type": kind, "name": attrs["name"], "value": attrs.get("value", "") if tag == "input" else "",
            "maxlength": int(maxlength) if maxlength and maxlength.isdigit() else None,
            "required": "required" in attrs, "checked": "checked" in attrs}


@dataclass
class Page:
    url: str
    status: int
    html: str
    endpoint: str | None
    links: list[list[str]]
    forms: list[HtmlForm]
    text: str          # the text a reader sees (entities decoded), textareas' contents included
    attributes: str    # every attribute value (decoded), where a page echoes into inputs
    urls: list[str]    # what links, frames, images and forms on the page open

    def non_web_urls(self) -> list[str]:
        """javascript:, data: ... addresses a click or a load would open (the browser ignores tabs and newlines)."""
        return [url for url in self.urls
                if urlsplit("".join(url.split())).scheme.lower() not in WEB_SCHEMES]


def read_page(url: str, status: int, html: str, endpoint: str | None) -> Page:
    reader = _Reader()
    reader.feed(html)
    text = " ".join(reader.text + [c["value"] for f in reader.forms for c in f.controls if c["tag"] == "textarea"])
    return Page(url, status, html, endpoint, reader.links, reader.forms, text, "\n".join(reader.attributes),
                reader.urls)


def form_data(form: HtmlForm, values: dict[str, object]) -> MultiDict:
    """What a browser submits (first submit button pressed), with `values` typed in and ticked."""
    data = MultiDict()
    for control in form.controls:
        name, tag, kind = control["name"], control["tag"], control["type"]
        if tag == "select":
            chosen = [o["value"] for o in control["options"] if o["selected"]]
            if not chosen and kind != "multiple" and control["options"]:
                chosen = [control["options"][0]["value"]]
            for value in chosen:
                data.add(name, value)
        elif kind == "radio" and isinstance(values.get(name), str):  # a group given its value by name
            if control["value"] == values[name]:
                data.add(name, control["value"])
        elif kind in ("checkbox", "radio"):
            wanted = control["checked"] or values.get(name) is True or values.get(f"{name}={control['value']}") is True
            if wanted:
                data.add(name, control["value"] or "on")
        elif kind != "file":
            value = values.get(name, control["value"])
            data.add(name, value if isinstance(value, str) else control["value"])
    if form.buttons and form.buttons[0]["name"]:
        data.add(form.buttons[0]["name"], form.buttons[0]["value"])
    return data


def with_query(url: str, **params) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode(query + list(params.items()))))


class Walker:
    """One user's test client, reading pages and following links on this site."""

    def __init__(self, app, client):
        self.app = app
        self.client = client
        self.adapter = app.url_map.bind("localhost")

    def endpoint_of(self, url: str, method: str = "GET") -> str | None:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or parts.scheme not in ("", "http"):
            return None
        try:
            endpoint, _args = self.adapter.match(parts.path, method=method)
        except RequestRedirect as redirect:
            return self.endpoint_of(redirect.new_url, method)
        except HTTPException:
            return None
        return endpoint

    def _read(self, url: str, response) -> Page:
        html = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
        return read_page(url, response.status_code, html, self.endpoint_of(url))

    def get(self, url: str) -> Page:
        response = self.client.get(url)
        hops = 0
        while response.status_code in (301, 302, 303) and hops < 3:
            location = urljoin(url, response.headers["Location"])
            if self.endpoint_of(location) is None:
                break
            url, response, hops = location, self.client.get(location), hops + 1
        return self._read(url, response)

    def post(self, page_url: str, form: HtmlForm, data: MultiDict) -> tuple[Page, bool]:
        """Submit `form`; the page that comes back and whether it was accepted: a redirect after the post, or a
        page of its own without the form (a sign-up answers "check your mail" in place)."""
        url = urljoin(page_url, form.action or page_url)
        response = self.client.post(url, data=data)
        if response.status_code in (301, 302, 303):
            return self.get(urljoin(url, response.headers["Location"])), True
        page = self._read(url, response)
        form_again = any(urljoin(url, other.action or url) == url for other in page.forms if other.method == "post")
        return page, response.status_code == 200 and not form_again

    def crawl(self, starts: list[str], per_endpoint: int = 3, limit: int = 150):
        return crawl(starts, self.get, self.endpoint_of, per_endpoint, limit)


def crawl(starts: list[str], visit, endpoint_of, per_endpoint: int, limit: int):
    """Pages reached from `starts` by links, each endpoint at most `per_endpoint` times (but a link whose text
    shows a payload is always followed, first); yields each page once, so the caller may act on it."""
    queue, seen, visits, queued = deque(starts), set(), Counter(), Counter()
    while queue and sum(visits.values()) < limit:
        url = queue.popleft()
        endpoint = endpoint_of(url)
        if url in seen or endpoint is None or endpoint in NOT_PAGES:
            continue
        seen.add(url)
        visits[endpoint] += 1
        queued[endpoint] = max(queued[endpoint] - 1, 0)
        page = visit(url)
        yield page
        for href, text in page.links:
            target = urljoin(url, href).split("#")[0]
            target_endpoint = endpoint_of(target)
            if target in seen or target_endpoint is None or target_endpoint in NOT_PAGES:
                continue
            if MARKER.search(text):
                queue.appendleft(target)
            elif visits[target_endpoint] + queued[target_endpoint] < per_endpoint:
                queued[target_endpoint] += 1
                queue.append(target)
