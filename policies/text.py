"""Bilingual text and the number formats the policy pages and reasons use.

Pure: no Flask, no database. Money is shown in yuan with a 万元 reading; rates as percentages.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping


@dataclass(frozen=True)
class Text:
    """A user-visible string in Chinese (the default) and English."""

    zh: str
    en: str

    def get(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh

    @classmethod
    def parse(cls, data: Any, where: str) -> "Text":
        """`{zh: ..., en: ...}`; a bare string is refused so that no English is forgotten."""
        if not isinstance(data, Mapping) or set(data) != {"zh", "en"}:
            raise ValueError(f"{where}: expected {{zh: ..., en: ...}}, got {data!r}")
        zh, en = data["zh"], data["en"]
        if not isinstance(zh, str) or not isinstance(en, str) or not zh.strip() or not en.strip():
            raise ValueError(f"{where}: zh and en must be non-empty strings")
        return cls(zh.strip(), en.strip())

    def to_json(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


def _plain(value: Decimal) -> str:
    """A Decimal without exponent and without trailing zeros: 360, 799.9999, 0.035."""
    text = format(value.normalize(), "f")
    return text


def percent(value: Decimal) -> str:
    """Decimal('0.015') → '1.5%'."""
    return _plain(Decimal(value) * 100) + "%"


def date(value: dt.date) -> str:
    return value.isoformat()
