"""The instance the engine reads: frozen records, their vocabularies and `InputError`.

Money is integer yuan; regions are GB/T 2260 six-digit strings; slots are 0 … slots−1 and
tables 1 … tables. Optional fields default to "unknown" (None or empty), never to a guess.
"""
from __future__ import annotations

from dataclasses import dataclass, field

FINANCING_TYPES = ("equity", "loan", "insurance", "guarantee")
STAGES = ("seed", "startup", "growth", "expansion", "mature")
COLLATERAL_KINDS = (
    "credit", "real_estate", "equipment", "ip", "receivables", "equity_pledge", "guarantee",
)
INSTITUTION_KINDS = ("bank", "insurer", "investor", "guarantor", "other")
REQUEST_STATUSES = ("requested", "accepted", "declined")
REQUEST_SIDES = ("enterprise", "institution")


class InputError(ValueError):
    """Bad input, naming the record (e.g. `products[3] (id "p7")`) and the field."""

    def __init__(self, record: str, field: str, problem: str):
        self.record = record
        self.field = field
        self.problem = problem
        super().__init__(f"{record}: {problem}" if record else problem)


@dataclass(frozen=True, slots=True)
class Enterprise:
    id: str
    region: str
    chain: str
    stage: str
    tiers: tuple[str, ...] = ()
    max_meetings: int | None = None
    unavailable: frozenset[int] = frozenset()
    nodes: tuple[str, ...] = ()
    name: str = ""


@dataclass(frozen=True, slots=True)
class Need:
    id: str
    enterprise: str
    type: str
    amount: int
    term_months: int | None = None
    collateral: tuple[str, ...] = ()
    purpose: str = ""


@dataclass(frozen=True, slots=True)
class Institution:
    id: str
    kind: str
    tables: int = 1
    max_meetings: int | None = None
    unavailable: frozenset[int] = frozenset()
    name: str = ""


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    institution: str
    type: str
    amount_min: int
    amount_max: int
    regions: tuple[str, ...] = ()
    chains: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    collateral: tuple[str, ...] = ()
    rate_min_bp: int | None = None
    rate_max_bp: int | None = None
    term_min_months: int | None = None
    term_max_months: int | None = None
    is_exclusive: bool = False
    name: str = ""


@dataclass(frozen=True, slots=True)
class Request:
    """A meeting request between an enterprise and an institution; `by` is who asked, if known."""

    enterprise: str
    institution: str
    status: str
    by: str | None = None


@dataclass(frozen=True, slots=True)
class Instance:
    slots: int
    enterprises: tuple[Enterprise, ...]
    needs: tuple[Need, ...]
    institutions: tuple[Institution, ...]
    products: tuple[Product, ...]
    requests: tuple[Request, ...] = field(default=())

    def enterprise_cap(self, enterprise: Enterprise) -> int:
        """Meetings the enterprise can have: its max_meetings, bounded by its available slots."""
        free = self.slots - len(frozenset(enterprise.unavailable))
        cap = free if enterprise.max_meetings is None else min(enterprise.max_meetings, free)
        return max(cap, 0)

    def institution_cap(self, institution: Institution) -> int:
        """Meetings the institution can hold: max_meetings, bounded by tables × available slots."""
        free = institution.tables * (self.slots - len(frozenset(institution.unavailable)))
        cap = free if institution.max_meetings is None else min(institution.max_meetings, free)
        return max(cap, 0)
