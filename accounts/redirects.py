"""Where a `next` parameter may send a user after signing in: only our own paths."""
from urllib.parse import urlsplit


def safe_next(target: str | None, fallback: str) -> str:
    """Only same-site paths: refuses //evil.com, /\\evil.com, schemes and hosts."""
    if not target:
        return fallback
    if "\\" in target or any(ord(char) < 32 for char in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target
