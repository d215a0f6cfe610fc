"""Chromium, one role per browser context: pages visited and judged, forms filled and sent.

`Visitor.judge` reads the page once: what would run (on...= handlers or scripts carrying a payload, links,
frames and forms that open javascript: or data:), its forms and links, and which payloads it shows as text
(collapsed <details> included); dialogs and 5xx answers are caught as they happen. Requests to other sites
are dropped; static files are fetched once for all contexts.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from tests.conftest import DEMO_PASSWORD
from tests.security import xss_fields as xss
from tests.security.page_walk import crawl

READ_PAGE = """() => {
  const problems = [];
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      if (/^on/i.test(attr.name) && /alert\\(/.test(attr.value)) problems.push(`<${el.localName} ${attr.name}="${attr.value}">`);
    }
    const runs = el.localName === 'script' && (!el.type || /javascript|ecmascript|module/i.test(el.type));
    if (runs && /alert\\(/.test(el.textContent)) problems.push('<script>' + el.textContent.slice(0, 80));
  }
  const opened = [['a', 'href'], ['area', 'href'], ['iframe', 'src'], ['frame', 'src'], ['embed', 'src'],
                  ['object', 'data'], ['form', 'action'], ['button', 'formaction'], ['input', 'formaction'],
                  ['img', 'src'], ['link', 'href']];
  for (const [tag, attr] of opened) {
    for (const el of document.querySelectorAll(`${tag}[${attr}]`)) {
      let protocol;
      try { protocol = new URL(el.getAttribute(attr), document.baseURI).protocol; } catch (e) { continue; }
      if (!['http:', 'https:', 'mailto:', 'tel:'].includes(protocol)) problems.push(`<${tag} ${attr}="${el.getAttribute(attr)}">`);
    }
  }
  const forms = [...document.forms].map((form, index) => ({
    index, method: (form.getAttribute('method') || 'get').toLowerCase(), action: form.action,
    controls: [...form.elements].filter(e => e.name && !e.disabled && e.localName !== 'button'
                                         && !['submit', 'image', 'reset', 'button'].includes(e.type)).map(e => ({
      tag: e.localName, name: e.name, value: e.value, required: e.required, checked: !!e.checked,
      type: e.localName === 'input' ? (e.getAttribute('type') || 'text').toLowerCase() : (e.multiple ? 'multiple' : ''),
      maxlength: e.maxLength > 0 ? e.maxLength : null, visible: e.checkVisibility(),
      options: e.localName === 'select' ? [...e.options].map(o => ({value: o.value})) : []}))}));
  // The page's text (collapsed <details> included), without scripts and styles: where a payload shows as text.
  const texts = [], walker = document.createTreeWalker(document.body || document, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    if (!walker.currentNode.parentElement.closest('script, style, template')) texts.push(walker.currentNode.data);
  }
  return {problems, forms, text: texts.join(' '),
          values: [...document.querySelectorAll('input, textarea')].map(e => e.value).join('\\n'),
          links: [...document.querySelectorAll('a[href]')].map(a => [a.href, a.innerText]),
          refused: document.querySelectorAll('ul.errors li, .flash-error').length > 0};
}"""

SUBMIT = """([index, values]) => {
  const form = document.forms[index];
  form.noValidate = true;  // the server judges, as it must for a request that skips the page
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === 'checkbox' || el.type === 'radio') {
      if (values[el.name] === true || values[el.name + '=' + el.value] === true) el.checked = true;
    } else if (typeof values[el.name] === 'string') {
      el.value = values[el.name];
    }
  }
  const button = form.querySelector('button[type=submit], button:not([type]), input[type=submit]');
  setTimeout(() => button ? button.click() : form.submit(), 0);
}"""


@dataclass
class Seen:
    url: str
    endpoint: str | None
    text: str
    values: str
    links: list
    forms: list
    refused: bool


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    shown: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))  # payload → roles
    last: dict[str, set[int]] = field(default_factory=dict)  # role → payloads its last page showed

    def shown_on_last_page(self, role: str) -> set[int]:
        return self.last.get(role, set())


class Visitor:
    """One role in its own browser context: visits pages and judges each."""

    def __init__(self, browser, server, role, payloads, findings, email=None):
        self.role, self.server, self.payloads, self.findings = role, server, payloads, findings
        self.adapter = server.app.url_map.bind("127.0.0.1")
        self.context = browser.new_context(base_url=server.url, locale="zh-CN")
        self.context.set_default_timeout(20_000)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("dialog", self._dialog)
        if email:
            self.page.goto("/account/sign-in")
            self.page.fill("input[name=email]", email)
            self.page.fill("input[name=password]", DEMO_PASSWORD)
            with self.page.expect_navigation():
                self.page.click("main form button[type=submit]")

    STATIC: dict[str, tuple] = {}  # static files, fetched once for every context

    def _route(self, route):
        url = route.request.url
        if not url.startswith(self.server.url):
            route.abort()  # no stream players or other sites
        elif "/static/" in url:
            if url not in self.STATIC:
                response = route.fetch()
                self.STATIC[url] = (response.status, response.headers, response.body())
            status, headers, body = self.STATIC[url]
            route.fulfill(status=status, headers=headers, body=body)
        else:
            route.continue_()

    def _hover_charts(self) -> None:
        """Chart tooltips are HTML built from names: point at every part of every chart."""
        for chart in self.page.locator(".chart:not([hidden])").all():
            box = chart.bounding_box()
            if not box:
                continue
            for row in range(1, 8):
                for column in range(1, 10):
                    self.page.mouse.move(box["x"] + box["width"] * column / 10, box["y"] + box["height"] * row / 8)

    def _dialog(self, dialog):
        self.findings.problems.append(f"{self.role} {self.page.url}: a {dialog.type} dialog opened: {dialog.message!r}")
        dialog.dismiss()

    def endpoint_of(self, url: str, method: str = "GET") -> str | None:
        if not url.startswith(self.server.url):
            return None
        try:
            return self.adapter.match(urlsplit(url).path, method=method)[0]
        except Exception:  # noqa: BLE001 - not a page of the site (404, 405, a redirect rule)
            return None

    def judge(self, what: str = "") -> Seen:
        self.page.wait_for_load_state("load")
        if self.endpoint_of(self.page.url) == "reports.dashboard":
            self._hover_charts()
        data = self.page.evaluate(READ_PAGE)
        where = f"{self.role} {self.page.url}{' ' + what if what else ''}"
        self.findings.problems += [f"{where}: {problem}" for problem in data["problems"]]
        numbers = self.payloads.found_in(data["text"]) | self.payloads.found_in(data["values"])
        for number in numbers:
            self.findings.shown[number].add(self.role)
        self.findings.last[self.role] = numbers
        return Seen(self.page.url, self.endpoint_of(self.page.url), data["text"], data["values"], data["links"],
                    data["forms"], data["refused"])

    def _status(self, response, what: str) -> None:
        if response is not None and response.status >= 500:
            self.findings.problems.append(f"{self.role} {response.url} {what}: HTTP {response.status}")

    def visit(self, url: str, what: str = "") -> Seen:
        self._status(self.page.goto(url), what)
        return self.judge(what)

    def crawl(self, starts, per_endpoint=2, limit=60):
        return crawl([urljoin(self.server.url, url) for url in starts], self.visit, self.endpoint_of,
                     per_endpoint, limit)

    def submit(self, url: str, endpoint: str, storing: bool):
        """Fill the form posting to `endpoint` on `url` and send it; (the page that came back, accepted?)."""
        page = self.visit(url)
        form = next((f for f in page.forms if f["method"] == "post"
                     and self.endpoint_of(f["action"], "POST") == endpoint
                     and any(xss.is_text_input(c) for c in f["controls"])), None)
        if form is None:
            return None, False
        values = xss.fill(form["controls"], self.payloads, storing, endpoint, self.role)
        with self.page.expect_navigation() as navigation:
            self.page.evaluate(SUBMIT, [form["index"], values])
        self._status(navigation.value, f"posting to {endpoint}")
        after = self.judge(f"after posting to {endpoint}")
        form_again = any(f["method"] == "post" and f["action"].split("?")[0] == form["action"].split("?")[0]
                         for f in after.forms)
        # accepted: a redirect to another page, or a page of its own in place (a sign-up's "check your mail")
        return after, not after.refused and (after.url.split("?")[0] != form["action"].split("?")[0]
                                             or not form_again)

    def close(self):
        self.context.close()
