"""SME size class derived from industry, employees, revenue and assets by the 2011 rules.

Source: 《中小企业划型标准规定》(工信部联企业〔2011〕300号). Amounts in yuan. For each industry the
rule gives an SME ceiling (an enterprise below either ceiling is an SME) and, within SMEs, the
thresholds for medium and small (both measures must reach them; otherwise the next class down).
"""
from dataclasses import dataclass

from market.enums import Industry, SizeClass

WAN = 10_000


@dataclass(frozen=True)
class Rule:
    """Measures are ('employees'|'revenue'|'assets', ...); thresholds align with measures."""

    measures: tuple[str, ...]
    sme_ceiling: tuple[int, ...]
    medium: tuple[int, ...]
    small: tuple[int, ...]


E, R, A = "employees", "revenue", "assets"
RULES: dict[Industry, Rule] = {
    Industry.AGRICULTURE: Rule((R,), (20000 * WAN,), (500 * WAN,), (50 * WAN,)),
    Industry.MANUFACTURING: Rule((E, R), (1000, 40000 * WAN), (300, 2000 * WAN), (20, 300 * WAN)),
    Industry.CONSTRUCTION: Rule((R, A), (80000 * WAN, 80000 * WAN), (6000 * WAN, 5000 * WAN), (300 * WAN, 300 * WAN)),
    Industry.WHOLESALE: Rule((E, R), (200, 40000 * WAN), (20, 5000 * WAN), (5, 1000 * WAN)),
    Industry.RETAIL: Rule((E, R), (300, 20000 * WAN), (50, 500 * WAN), (10, 100 * WAN)),
    Industry.TRANSPORT: Rule((E, R), (1000, 30000 * WAN), (300, 3000 * WAN), (20, 200 * WAN)),
    Industry.WAREHOUSING: Rule((E, R), (200, 30000 * WAN), (100, 1000 * WAN), (20, 100 * WAN)),
    Industry.POSTAL: Rule((E, R), (1000, 30000 * WAN), (300, 2000 * WAN), (20, 100 * WAN)),
    Industry.ACCOMMODATION: Rule((E, R), (300, 10000 * WAN), (100, 2000 * WAN), (10, 100 * WAN)),
    Industry.CATERING: Rule((E, R), (300, 10000 * WAN), (100, 2000 * WAN), (10, 100 * WAN)),
    Industry.TELECOM: Rule((E, R), (2000, 100000 * WAN), (100, 1000 * WAN), (10, 100 * WAN)),
    Industry.SOFTWARE_IT: Rule((E, R), (300, 10000 * WAN), (100, 1000 * WAN), (10, 50 * WAN)),
    Industry.REAL_ESTATE: Rule((R, A), (200000 * WAN, 10000 * WAN), (1000 * WAN, 5000 * WAN), (100 * WAN, 2000 * WAN)),
    Industry.PROPERTY_MANAGEMENT: Rule((E, R), (1000, 5000 * WAN), (300, 1000 * WAN), (100, 500 * WAN)),
    Industry.LEASING_BUSINESS: Rule((E, A), (300, 120000 * WAN), (100, 8000 * WAN), (10, 100 * WAN)),
    Industry.OTHER: Rule((E,), (300,), (100,), (10,)),
}


def measures_needed(industry: Industry | str) -> tuple[str, ...]:
    return RULES[Industry(industry)].measures


def classify_size(industry: Industry | str, employees: int | None, revenue: int | None,
                  assets: int | None = None) -> SizeClass | None:
    """The size class, or None when a measure the industry's rule needs is missing."""
    rule = RULES[Industry(industry)]
    available = {E: employees, R: revenue, A: assets}
    values = [available[m] for m in rule.measures]
    if any(v is None for v in values):
        return None
    if all(v >= ceiling for v, ceiling in zip(values, rule.sme_ceiling)):
        return SizeClass.LARGE
    if all(v >= threshold for v, threshold in zip(values, rule.medium)):
        return SizeClass.MEDIUM
    if all(v >= threshold for v, threshold in zip(values, rule.small)):
        return SizeClass.SMALL
    return SizeClass.MICRO
