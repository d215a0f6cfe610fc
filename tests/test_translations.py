"""The English catalogue: complete for a fresh extraction, placeholders kept, .mo compiled, pages in English.

How to update the catalogue when a test here fails: docs/translations.md.
"""
import gettext
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

try:
    from babel.messages.frontend import parse_mapping_cfg
except ImportError:  # Babel < 2.14
    from babel.messages.frontend import parse_mapping as parse_mapping_cfg

from tests.conftest import sign_in
from tests.support import factories

ROOT = Path(__file__).resolve().parent.parent
PO_FILE = ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po"
MO_FILE = PO_FILE.with_suffix(".mo")
# Keep in step with the `pybabel extract -k ...` command in docs/translations.md.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
HAN = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff01-\uff5e]")
# Translations that quote Chinese on purpose (an example of what to type into a Chinese field).
CHINESE_ON_PURPOSE = {"如 第(三)条"}
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs]|%%|%[sd]|\{\w*\}")


def _extracted() -> Catalog:
    """What `pybabel extract -F babel.cfg` finds in the sources now, in memory."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    catalog = Catalog()
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        catalog.add(message, None, [(filename, lineno)], context=context)
    return catalog


@pytest.fixture(scope="module")
def extracted() -> Catalog:
    return _extracted()


@pytest.fixture(scope="module")
def english() -> Catalog:
    with open(PO_FILE, "rb") as po:
        return read_po(po, locale="en")


def _ids(message) -> tuple:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def _strings(message) -> tuple:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def _where(message) -> str:
    return ", ".join(f"{path}:{line}" for path, line in message.locations[:3])


def test_babel_cfg_covers_every_source_folder():
    cfg = (ROOT / "babel.cfg").read_text(encoding="utf-8")
    for pattern in ("chainmatch/**.py", "market/**.py", "events/**.py", "notifications/**.py",
                    "policies/**.py", "templates/**.html"):
        assert pattern in cfg, f"babel.cfg does not extract {pattern}"


def test_extraction_finds_the_strings(extracted):
    assert len([m for m in extracted if m.id]) > 500
    assert "金融超市" in extracted and "一月一链 · 益企畅融" in extracted


def test_every_extracted_message_has_an_english_translation(extracted, english):
    missing, fuzzy = [], []
    for message in extracted:
        if not message.id:
            continue
        translated = english.get(message.id, context=message.context)
        if translated is None or not all(s.strip() for s in _strings(translated)):
            missing.append(f"{message.id!r} ({_where(message)})")
        elif translated.fuzzy:
            fuzzy.append(f"{message.id!r} ({_where(message)})")
    assert not missing, ("untranslated strings — run the update steps in docs/translations.md:\n"
                         + "\n".join(missing))
    assert not fuzzy, "fuzzy translations (check them, then drop the fuzzy flag):\n" + "\n".join(fuzzy)
    assert not english.fuzzy, "the catalogue header is marked fuzzy: pybabel compile would skip it"


def test_english_is_english(english):
    """No Chinese characters left in a translation (a copied msgid, a full-width comma or bracket)."""
    leftovers = [f"{m.id!r} → {s!r}" for m in english if m.id and m.id not in CHINESE_ON_PURPOSE
                 for s in _strings(m) if HAN.search(s)]
    assert not leftovers, "\n".join(leftovers)


def test_placeholders_are_kept(english):
    wrong = []
    for message in english:
        if not message.id:
            continue
        expected = sorted(PLACEHOLDER.findall(_ids(message)[0]))
        for string in _strings(message):
            if string and sorted(PLACEHOLDER.findall(string)) != expected:
                wrong.append(f"{message.id!r} → {string!r}")
    assert not wrong, "placeholders differ from the msgid:\n" + "\n".join(wrong)


class _AnyValue(dict):
    def __missing__(self, key):
        return 0


def test_translations_format_wherever_the_msgid_does(english):
    """Templates always %-format (Jinja's newstyle gettext): a stray % would break the page."""
    broken = []
    for message in english:
        if not message.id:
            continue
        try:
            _ids(message)[0] % _AnyValue()
        except (TypeError, ValueError, KeyError):
            continue  # a Python string never formatted (no variables), such as "0% 到 100%"
        for string in _strings(message):
            try:
                string % _AnyValue()
            except (TypeError, ValueError, KeyError) as error:
                broken.append(f"{message.id!r} → {string!r}: {error}")
    assert not broken, "\n".join(broken)


def test_compiled_catalogue_is_up_to_date(english):
    """messages.mo holds exactly what messages.po says (run `pybabel compile -d translations` if not)."""
    with open(MO_FILE, "rb") as mo:
        compiled = gettext.GNUTranslations(mo)._catalog
    expected = {}
    for message in english:
        if not message.id or message.fuzzy or not any(_strings(message)):
            continue
        if isinstance(message.id, tuple):
            for index, string in enumerate(message.string):
                expected[(message.id[0], index)] = string
        else:
            key = message.id if not message.context else f"{message.context}\x04{message.id}"
            expected[key] = message.string
    compiled = {key: value for key, value in compiled.items() if key != ""}
    stale = sorted(set(expected.items()) ^ set(compiled.items()), key=str)[:10]
    assert compiled == expected, f"messages.mo is out of date with messages.po (e.g. {stale})"


# ---- pages in English ----------------------------------------------------------------------------

def _visible_text(html: str) -> str:
    """The page without scripts, styles, tags, and anything marked lang="zh-CN" (the language switch)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.DOTALL)
    html = re.sub(r'<(\w+)[^>]*\blang="zh-CN"[^>]*>.*?</\1>', " ", html, flags=re.DOTALL)
    html = re.sub(r"<!doctype[^>]*>|<html[^>]*>", " ", html, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _element(html: str, start_pattern: str, tag: str) -> str:
    match = re.search(start_pattern + r".*?</" + tag + ">", html, flags=re.DOTALL)
    assert match, f"no {start_pattern} on the page"
    return match.group(0)


@pytest.mark.parametrize("path, words", [
    ("/", ["One Chain a Month · Finance for Enterprises", "Financial marketplace", "Sign up and post a need",
           "Industrial chains on the tour"]),
    ("/catalogue", ["Financial marketplace", "Amount (CNY 10k)", "Event-exclusive only", "Filter"]),
    ("/account/sign-in", ["Sign in", "Password", "Remember me", "No account yet?"]),
    ("/account/sign-up", ["I represent an enterprise", "I represent a financial institution"]),
    ("/account/sign-up/enterprise", ["Enterprise sign-up", "Unified social credit code", "Enterprise tier"]),
    ("/policies/", ["Policy library"]),
    ("/events/", ["matchmaking events"]),
])
def test_page_in_english(client, path, words):
    client.post("/language/en")
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    for word in words:
        assert word in html, f"{word!r} not on {path}"
    header = _visible_text(_element(html, r'<header class="site-header">', "header"))
    assert "Events" in header and "Policy library" in header and "Sign in" in header
    assert not HAN.search(header), f"Chinese left in the navigation of {path}: {header}"
    assert not HAN.search(_visible_text(html)), f"Chinese left on {path}: " + \
        " ".join(HAN.findall(_visible_text(html)))


def test_chinese_stays_the_default(client):
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and "金融超市" in html and "Financial marketplace" not in html


def test_form_errors_in_english(client):
    client.post("/language/en")
    html = client.post("/account/sign-up/enterprise", data={"email": "not-an-email", "password": "short",
                                                            "confirm": "other"}).get_data(as_text=True)
    for message in ("Please correct the fields marked in red.", "This email address is not valid.",
                    "The password must be at least 10 characters long.", "The two passwords do not match.",
                    "This field is required."):
        assert message in html
    assert not HAN.search(_visible_text(html))


@pytest.mark.parametrize("role, words", [
    ("sme", ["My enterprise", "My policies", "My registrations", "Meeting requests", "My agenda",
             "Data consents"]),
    ("institution", ["My institution", "Service zone", "Lead report"]),
    ("organiser", ["Manage events", "Annual plan", "Institution review", "Results"]),
])
def test_signed_in_navigation_in_english(app, client, role, words):
    with app.app_context():
        user = {"sme": factories.sme, "institution": factories.institution_user,
                "organiser": factories.organiser}[role]()
    sign_in(client, user.email)
    client.post("/language/en")
    html = client.get("/").get_data(as_text=True)
    role_nav = _visible_text(_element(html, r'<nav class="wrap role-nav"', "nav"))
    for word in words:
        assert word in role_nav
    assert not HAN.search(role_nav), role_nav
    assert "Sign out (" in html and "Messages" in html
