"""Reading rendered pages: an element's markup by id, a form field's block and the error beside it."""
from html import unescape
from html.parser import HTMLParser


class _ElementById(HTMLParser):
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, wanted_id: str):
        super().__init__(convert_charrefs=False)
        self.wanted_id = wanted_id
        self.depth = 0
        self.found = False
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.parts.append(self.get_starttag_text())
            if tag not in self.VOID:
                self.depth += 1
        elif dict(attrs).get("id") == self.wanted_id and not self.found:
            self.found = True
            self.depth = 1
            self.parts.append(self.get_starttag_text())

    def handle_startendtag(self, tag, attrs):
        if self.depth:
            self.parts.append(self.get_starttag_text())

    def handle_endtag(self, tag):
        if self.depth:
            self.parts.append(f"</{tag}>")
            if tag not in self.VOID:
                self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)

    def handle_entityref(self, name):
        if self.depth:
            self.parts.append(f"&{name};")

    def handle_charref(self, name):
        if self.depth:
            self.parts.append(f"&#{name};")


def element_html(html: str, element_id: str) -> str | None:
    """The markup of the element with `element_id` (entities decoded), or None."""
    parser = _ElementById(element_id)
    parser.feed(html)
    return unescape("".join(parser.parts)) if parser.found else None


def field_html(html: str, name: str) -> str:
    """The `field-<name>` block rendered by the `field` macro of _forms.html."""
    fragment = element_html(html, f"field-{name}")
    assert fragment is not None, f"no field-{name} on the page"
    return fragment


def assert_field_error(response, name: str, message: str) -> None:
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    fragment = field_html(html, name)
    assert 'class="errors"' in fragment, f"no error beside {name}:\n{fragment}"
    assert message in fragment, f"{message!r} not beside {name}:\n{fragment}"
