"""What the escaping tests send and where: script payloads, the project's free-text fields, echoed parameters.

Shared by the test-client walk (test_escaping_pages.py) and the chromium walk (test_xss_browser.py). The
forms and their fields are found, not listed: the WTForms classes of the project (`text_fields_of_forms`),
the classes each POST endpoint uses (`form_classes_by_endpoint`), the names views read from `request.form`
and `request.args` (`raw_form_names`, `query_names_of_view`) and, on the pages, every form's inputs. The
hand lists below only say what a field is when its type does not (a code the server checks, a field only
its author sees); `test_every_text_field_is_known` fails when a new field needs a word here.
"""
from __future__ import annotations

import inspect
import re
import types
from dataclasses import dataclass, field

from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, StringField
from wtforms.fields import HiddenField, PasswordField

from tests.security.project_sources import project_packages

SHAPES = ('"><svg onload=alert(1)>', "<img src=x onerror=alert(1)>", "</textarea><script>alert(1)</script>",
          "'><svg onload=alert(1)>")
URL_SHAPE = '"><svg/onload=alert(1)>'  # no space: web addresses may not hold one
JAVASCRIPT_URLS = ("javascript:alert(1)", "javascript://example.com/%0Aalert(1)")
# What an unescaped payload leaves in the HTML source (escaped, none of these can appear).
RAW_MARKUP = ("<svg onload=alert(1)>", "<img src=x onerror=alert(1)>", "<script>alert(1)</script>",
              "<svg/onload=alert(1)>")
MARKER = re.compile(r"xss(\d+)-")

# Text inputs whose format the server checks: a payload there is refused with a message beside the field
# (the walks send it once to check that refusal page) and the storing pass leaves the value as it was.
FORMAT_CHECKED = {
    "credit_code": "统一社会信用代码 with its check character",
    "email": "an e-mail address",
    "contact_email": "an e-mail address",
    "key": "a policy key: lower-case letters, digits and _",
    "regions": "six-digit region codes",
    "rule": "the policy rule, YAML the rule parser checks (its texts are sent by the policy step)",
}
# Endpoints whose forms hold no free text however they look (the walks still send them payloads once).
FORMAT_CHECKED_ENDPOINTS = {
    "policies.my_facts": "我的政策 answers: numbers, amounts, dates and region codes the fact parser checks",
    "auth.sign_in": "e-mail and password; the address tried is shown in the audit log (the admin's walk opens it)",
}
# Free-text fields that no page shows to anyone but their author (checked for escaping on the author's pages).
AUTHOR_ONLY = {
    ("SmeSignUpForm", "display_name"): "the account's own name in its navigation",
    ("InstitutionSignUpForm", "display_name"): "the account's own name in its navigation",
    ("WithdrawForm", "reason"): "why an SME withdrew its need: stored for the record, shown to nobody",
    ("InstitutionRegistrationForm", "staff-phone"): "a staff member's phone: kept for the organisers, on no page",
    ("OutcomeForm", "note"): "on no other page; in the 对接成效汇总表 (tests/security/test_exports_as_text.py)",
}
# Shown to other roles on pages the walk does not reliably reach; a test there checks the escaping.
SHOWN_ELSEWHERE = {
    ("OutcomeForm", "dispute_reason"): "to the bank and the organiser: tests/events/participant/test_outcomes.py"
                                       "::test_a_dispute_is_shown_as_text_to_the_bank_and_the_organiser",
}
# Sign-up forms hold the columns the edit forms hold; a new account is shown to others once it acts, and
# what others see of those columns is checked through the edit form's payloads.
SAME_COLUMNS_AS = {"SmeSignUpForm": "EnterpriseForm", "InstitutionSignUpForm": "InstitutionForm"}
# Choices the storing pass makes so that a free-text field is used at all.
STORING_CHOICES = {"kind": "other",  # 其他类别名称 is the institution's kind (and shown) only for 其他
                   "verdict": "disputed"}  # the SME's 异议说明 is kept (and shown to the organiser) for a dispute
# Names views read straight from request.form: free text, or what else they are.
RAW_FORM_TEXT = {("market.review_institution", "note"): "the organiser's review note"}
RAW_FORM_NOT_TEXT = {"decision": "a button's value", "next": "a site path, checked by safe_next",
                     "page": "a page number"}


# ---- payloads --------------------------------------------------------------------------------------

@dataclass
class Payloads:
    """Numbered payloads, so that a page that shows one tells which field it came from."""

    sent: dict[int, dict] = field(default_factory=dict)

    def text(self, maxlength: int | None = None, **where) -> str | None:
        """A payload of at most `maxlength` characters (None when none fits)."""
        number = len(self.sent) + 1
        marker = f"xss{number}-"
        room = (maxlength or 10_000) - len(marker)
        fitting = [shape for shape in SHAPES if len(shape) <= room]
        if not fitting:
            return None
        chosen, start = [], number % len(fitting)
        for shape in fitting[start:] + fitting[:start]:  # rotate, so every shape leads somewhere
            if len(marker) + sum(map(len, chosen)) + len(shape) + len(chosen) <= (maxlength or 10_000):
                chosen.append(shape)
        value = marker + " ".join(chosen)
        self.sent[number] = {"value": value, **where}
        return value

    def url(self, **where) -> str:
        number = len(self.sent) + 1
        value = f"https://example.com/xss{number}-{URL_SHAPE}"
        self.sent[number] = {"value": value, **where}
        return value

    def found_in(self, text: str) -> set[int]:
        """Numbers of the payloads shown whole in `text` (a page's text, not its source)."""
        return {number for number in map(int, MARKER.findall(text))
                if number in self.sent and self.sent[number]["value"] in text}


def raw_markup_in(html: str) -> list[str]:
    return [token for token in RAW_MARKUP if token in html]


# ---- the project's forms -----------------------------------------------------------------------------

def _project_form_classes() -> list[type]:
    def below(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from below(sub)
    packages = tuple(project_packages())
    found = {cls for cls in below(Form)
             if cls.__module__.split(".")[0] in packages and "<locals>" not in cls.__qualname__}
    return sorted(found, key=lambda cls: (cls.__module__, cls.__qualname__))


def _is_text(unbound) -> bool:
    return issubclass(unbound.field_class, StringField) and not issubclass(
        unbound.field_class, (HiddenField, PasswordField))


def text_fields_of(cls: type) -> set[str]:
    """Free-text fields of a form class, named as the page names them (`staff-name` for a FieldList row)."""
    names = set()
    for name, unbound in cls._unbound_fields or []:
        if _is_text(unbound):
            names.add(name)
        elif unbound.field_class in (FieldList, FormField):
            inner = unbound.args[0] if unbound.args else unbound.kwargs.get("unbound_field")
            if unbound.field_class is FieldList and inner is not None and inner.field_class is FormField:
                inner = inner.args[0]
            elif unbound.field_class is FormField:
                inner = unbound.args[0]
            if isinstance(inner, type) and issubclass(inner, Form):
                names |= {f"{name}-{sub}" for sub in text_fields_of(inner)}
    return names


def text_fields_of_forms() -> dict[str, set[str]]:
    """Form class name → its free-text fields, for every form class of the project that has one (a row form
    inside another, like the staff rows, is counted in the form that holds it)."""
    out = {}
    for cls in _project_form_classes():
        if not issubclass(cls, FlaskForm):
            continue
        fields = text_fields_of(_with_unbound_fields(cls))
        if fields:
            out[cls.__name__] = fields
    return out


def _with_unbound_fields(cls: type) -> type:
    """WTForms' metaclass fills `_unbound_fields` on first instantiation; read them from the class instead."""
    if cls._unbound_fields is None:
        fields = []
        for name in dir(cls):
            if not name.startswith("_"):
                unbound = getattr(cls, name)
                if hasattr(unbound, "_formfield"):
                    fields.append((name, unbound))
        cls._unbound_fields = sorted(fields, key=lambda pair: (pair[1].creation_counter, pair[0]))
    return cls


def _view(app, endpoint):
    view = app.view_functions[endpoint]
    while hasattr(view, "__wrapped__"):
        view = view.__wrapped__
    return view


def _closure(view) -> tuple[list, set[type]]:
    """The view and the helper functions of its module it calls (transitively), and the form classes they name."""
    functions, classes, todo = [], set(), [view]
    while todo:
        function = todo.pop()
        if function in functions:
            continue
        functions.append(function)
        codes = [function.__code__]
        while codes:
            code = codes.pop()
            codes += [const for const in code.co_consts if isinstance(const, types.CodeType)]
            for name in code.co_names:
                obj = function.__globals__.get(name)
                if isinstance(obj, type) and issubclass(obj, Form):
                    classes.add(obj)
                elif isinstance(obj, types.FunctionType) and obj.__module__ == function.__module__:
                    todo.append(obj)
        # a helper's default form class (`def _policy_form(form_class=PolicyForm)`) is used when it is called
        defaults = list(function.__defaults__ or ()) + list((function.__kwdefaults__ or {}).values())
        classes |= {obj for obj in defaults if isinstance(obj, type) and issubclass(obj, Form)}
    return functions, classes


def create_forms_over_edit_forms(fields: dict[str, set[str]]) -> dict[str, str]:
    """Create form → the edit form it extends with nothing but the one-time submission token (`NewEventForm`
    → `EventForm`): the same free-text fields (`fields`: `text_fields_of_forms()`), stored in the same columns
    and shown by the same pages."""
    from core.submissions import OneSubmission
    pairs = {}
    for cls in _project_form_classes():
        bases = [base for base in cls.__bases__ if base is not OneSubmission and issubclass(base, FlaskForm)]
        if issubclass(cls, OneSubmission) and len(bases) == 1 and cls.__name__ in fields \
                and fields[cls.__name__] == fields.get(bases[0].__name__):
            pairs[cls.__name__] = bases[0].__name__
    return pairs


def form_classes_by_endpoint(app) -> dict[str, set[str]]:
    """POST endpoint → names of the form classes its view (or a helper of its module) uses."""
    return {rule.endpoint: {cls.__name__ for cls in _closure(_view(app, rule.endpoint))[1]}
            for rule in app.url_map.iter_rules() if "POST" in rule.methods}


def _sources(app, endpoint: str) -> str:
    return "\n".join(inspect.getsource(function) for function in _closure(_view(app, endpoint))[0])


def raw_form_names(app) -> set[tuple[str, str]]:
    """(endpoint, name) for every `request.form.get("name")` / `request.form["name"]` in a view or its helpers."""
    return {(rule.endpoint, name) for rule in app.url_map.iter_rules() if "POST" in rule.methods
            for name in re.findall(r"request\.form(?:\.get\(\s*|\[\s*)[\"'](\w+)", _sources(app, rule.endpoint))}


def query_names_of_view(app, endpoint: str) -> set[str]:
    """Query parameters a GET view reads: `request.args.get("x")`, `request.args["x"]`, and the fields of the
    forms it builds from `request.args`."""
    source = _sources(app, endpoint)
    names = set(re.findall(r"request\.args(?:\.get\(\s*|\[\s*)[\"'](\w+)", source))
    if re.search(r"[(,=]\s*request\.args\s*[),]", source):  # a form built from the query string
        for cls in _closure(_view(app, endpoint))[1]:
            names |= {name for name, _unbound in _with_unbound_fields(cls)._unbound_fields}
    names.discard("csrf_token")
    return names


def normalise(name: str) -> str:
    """A page's input name as the form class names the field: `m12-slot` → `slot`, `staff-0-name` → `staff-name`."""
    name = re.sub(r"^[a-z]\d+-", "", name)
    return re.sub(r"-\d+-", "-", name)


# ---- filling a form ---------------------------------------------------------------------------------

SIGN_UP_PASSWORD = "Xq7!vR2#pLm9-zT4w"


def valid_value(name: str, serial: int) -> str | None:
    """What a sign-up needs where the storing pass types no payload: an address, a password, a company code."""
    from tests.support import factories
    if name in ("email", "contact_email"):
        return f"walker{serial}@example.com"
    if name in ("password", "confirm"):
        return SIGN_UP_PASSWORD
    if name == "credit_code":
        return factories.credit_code()
    return None


TEXT_TYPES = {"text", "search", "tel", "url", "email", ""}


def is_text_input(control: dict) -> bool:
    return control["tag"] == "textarea" or (control["tag"] == "input" and control["type"] in TEXT_TYPES)


def fill(controls: list[dict], payloads: Payloads, storing: bool, endpoint: str, role: str) -> dict[str, object]:
    """New values for a form's controls: payloads in its text inputs, and the boxes a submission needs.

    `storing`: leave format-checked inputs as they are and give URL inputs a web address that carries the
    payload, so that the form is accepted; otherwise every text input gets a payload (URL inputs a
    javascript: URL), to check the refusal page. Returns name → value (text) or True (check the box)."""
    values: dict[str, object] = {}
    for control in controls:
        if not is_text_input(control):
            continue
        name, kind = control["name"], control["type"]
        where = {"role": role, "endpoint": endpoint, "field": normalise(name), "storing": storing}
        checked_format = normalise(name) in FORMAT_CHECKED or endpoint in FORMAT_CHECKED_ENDPOINTS
        if storing and (checked_format or kind == "email"):
            continue
        if kind == "url":
            values[name] = payloads.url(**where) if storing else JAVASCRIPT_URLS[len(payloads.sent) % 2]
        else:  # a refused round may be too long too; a stored one fits the field
            value = payloads.text(control.get("maxlength") if storing else None, **where)
            if value is not None:
                values[name] = value
    groups: dict[str, list[dict]] = {}
    for control in controls:
        if control["tag"] == "input" and control["type"] in ("checkbox", "radio"):
            groups.setdefault(control["name"], []).append(control)
    for name, boxes in groups.items():
        hinted = STORING_CHOICES.get(normalise(name))  # every round: a form that refuses nothing stores the first
        if boxes[0]["type"] == "radio" and hinted in [box["value"] for box in boxes]:
            values[name] = hinted  # form_data picks this box of the group, whatever was checked
        elif boxes[0]["type"] == "checkbox" and len(boxes) == 1:
            if boxes[0]["required"] or name == "consent":
                values[name] = True
        elif not any(box["checked"] for box in boxes):
            shown = [box for box in boxes if box.get("visible", True)] or boxes
            values[f"{name}={shown[0]['value']}"] = True  # the first (visible) of a group nobody chose
    if storing:  # what else a form needs to pass: a choice, a number, an address, a password
        for control in controls:
            name = control["name"]
            options = [o["value"] for o in control.get("options", []) if o["value"]]
            hinted = STORING_CHOICES.get(normalise(name))
            if control["tag"] == "select" and hinted in options:
                values[name] = hinted
            elif name in values or control["value"]:
                continue
            elif control["tag"] == "select" and control["type"] != "multiple":
                if options:
                    values[name] = options[0]
            elif control["type"] == "number" and control["required"]:
                values[name] = "1"
            else:
                value = valid_value(normalise(name), len(payloads.sent))
                if value is not None:
                    values[name] = value
    return values
