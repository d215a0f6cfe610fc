"""What a page offers to submit: its HTML forms (with the values a browser would send) and its same-site links.

Read with the standard library's HTMLParser, as a browser would read the markup: inputs, textareas,
selects (single and multiple), checkboxes, radios, hidden fields and named submit buttons.
"""
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

TEXT_INPUTS = {"text", "email", "password", "number", "date", "datetime-local", "url", "tel", "search", "hidden",
               "month", "time", "week", "range", "color"}
FREE_TEXT = {"text", "email", "password", "url", "tel", "search", "textarea"}
NOT_FUZZED = {"csrf_token"}


@dataclass
class Control:
    """One named control of a form."""

    name: str
    kind: str  # an input type, "textarea", "select", "button"
    value: str = ""
    inputmode: str = ""
    required: bool = False
    checked: bool = False
    multiple: bool = False
    options: list[str] = field(default_factory=list)
    selected: list[str] = field(default_factory=list)

    @property
    def is_choice(self) -> bool:
        """One of the values the page offers (a select, radio or checkbox)."""
        return self.kind in ("select", "radio", "checkbox")

    @property
    def takes_text(self) -> bool:
        """Typed free text (the server reads it as text), as opposed to numbers, dates, ids and choices."""
        return self.kind in FREE_TEXT and self.inputmode not in ("numeric", "decimal")


@dataclass
class Form:
    method: str  # "GET" or "POST"
    action: str  # a same-site path, with its query string
    page: str  # where it was found
    controls: list[Control] = field(default_factory=list)

    @property
    def path(self) -> str:
        return urlsplit(self.action).path

    def field_names(self) -> list[str]:
        """The names one may fuzz, each once, in page order."""
        return list(self.fields())

    def fields(self) -> dict[str, Control]:
        """Name → its first control, for the names one may fuzz, in page order. Of radio groups offering the
        same values (the many 是/否 questions of one form) only the first: the same code reads them all."""
        named: dict[str, Control] = {}
        radio_groups = set()
        for control in self.controls:
            if control.name in NOT_FUZZED or control.name in named:
                continue
            if control.kind == "radio":
                offered = tuple(c.value for c in self.controls if c.name == control.name)
                if offered in radio_groups:
                    continue
                radio_groups.add(offered)
            named[control.name] = control
        return named

    def baseline(self, fill) -> list[tuple[str, str]]:
        """What a browser sends when the person fills the required fields left empty (`fill(control)`)."""
        pairs, radios_done, buttons_done = [], set(), False
        for control in self.controls:
            if control.kind == "select":
                chosen = control.selected or ([] if control.multiple else control.options[:1])
                if not any(chosen) and control.required:
                    chosen = [fill(control) or next((o for o in control.options if o), "")]
                pairs += [(control.name, value) for value in chosen]
            elif control.kind == "checkbox":
                if control.checked or control.required:
                    pairs.append((control.name, control.value or "on"))
            elif control.kind == "radio":
                if control.name not in radios_done and (control.checked or control.required):
                    checked = [c for c in self.controls if c.name == control.name and c.checked]
                    pairs.append((control.name, (checked[0] if checked else control).value))
                    radios_done.add(control.name)
            elif control.kind == "button":
                if not buttons_done:
                    pairs.append((control.name, control.value))
                    buttons_done = True
            else:
                value = control.value
                if not value and control.required:
                    value = fill(control)
                pairs.append((control.name, value))
        return pairs


class PageParser(HTMLParser):
    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._form: Form | None = None
        self._textarea: Control | None = None
        self._select: Control | None = None
        self._option: dict | None = None
        self._option_text = ""

    def _same_site(self, target: str | None) -> str | None:
        absolute = urljoin("http://localhost" + self.page, target or self.page)
        parts = urlsplit(absolute)
        if parts.netloc != "localhost" or parts.scheme not in ("http", "https"):
            return None
        return parts.path + ("?" + parts.query if parts.query else "")

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            link = self._same_site(a["href"])
            if link:
                self.links.append(link)
        elif tag == "form":
            action = self._same_site(a.get("action") or self.page)
            self._form = Form((a.get("method") or "get").upper(), action or "", self.page) if action else None
        elif tag == "option":
            self._close_option()
            if self._select is not None:
                self._option, self._option_text = a, ""
        elif self._form is None or not a.get("name") or "disabled" in a:
            return
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "image"):
                self._form.controls.append(Control(a["name"], "button", a.get("value") or ""))
            elif kind in TEXT_INPUTS or kind in ("checkbox", "radio"):
                self._form.controls.append(Control(a["name"], kind, a.get("value") or "", a.get("inputmode") or "",
                                                   required="required" in a, checked="checked" in a))
        elif tag == "button" and (a.get("type") or "submit") == "submit":
            self._form.controls.append(Control(a["name"], "button", a.get("value") or ""))
        elif tag == "textarea":
            self._textarea = Control(a["name"], "textarea", "", a.get("inputmode") or "", required="required" in a)
            self._form.controls.append(self._textarea)
        elif tag == "select":
            self._select = Control(a["name"], "select", required="required" in a, multiple="multiple" in a)
            self._form.controls.append(self._select)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag == "option":
            self.handle_endtag(tag)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data
        if self._option is not None:
            self._option_text += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            # a browser drops one leading newline of a textarea's content
            self._textarea.value = self._textarea.value[1:] if self._textarea.value.startswith("\n") else \
                self._textarea.value
            self._textarea = None
        elif tag == "option":
            self._close_option()
        elif tag == "select":
            self._close_option()
            self._select = None
        elif tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None

    def _close_option(self):
        if self._option is not None and self._select is not None:
            value = self._option.get("value")
            value = self._option_text.strip() if value is None else value
            self._select.options.append(value)
            if "selected" in self._option:
                self._select.selected.append(value)
        self._option = None


def read_page(page: str, html: str) -> tuple[list[Form], list[str]]:
    """(forms, same-site links) of the page found at path `page`."""
    parser = PageParser(page)
    parser.feed(html)
    parser.close()
    return parser.forms, parser.links
