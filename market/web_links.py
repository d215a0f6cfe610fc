"""Addresses that one person types and others click: only http(s) web addresses ever become links.

A `javascript:` or `data:` URL in an href runs script on our origin when it is clicked, and WTForms'
`URL()` validator lets `javascript://example.com/%0Aalert(1)` through, so forms check the scheme here
and templates link an address only when `{% if url is web_url %}` (the test registered in chainmatch.web).
"""
from urllib.parse import urlsplit

WEB_SCHEMES = ("http", "https")


def is_web_url(url: str | None) -> bool:
    """An absolute http(s) address with a host."""
    parts = urlsplit((url or "").strip())
    return parts.scheme in WEB_SCHEMES and bool(parts.netloc)
