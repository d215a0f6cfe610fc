"""Money shown to people. Amounts are integer yuan everywhere; 万元 and 亿元 are only how they are shown."""
from decimal import Decimal

WAN = 10_000
YI = 100_000_000


def _trim(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _plain(value: Decimal) -> str:
    """A Decimal without exponent and without trailing zeros: 360, 799.9999, 0.035."""
    return format(value.normalize(), "f")


def money_text(yuan: int | None, locale: str = "zh") -> str:
    """Compact, for pages: 12000000 → "1,200 万元" / "CNY 12m"; "—" for None."""
    if yuan is None:
        return "—"
    if locale == "en":
        if yuan >= 1_000_000:
            return f"CNY {_trim(yuan / 1_000_000)}m"
        if yuan >= 1_000:
            return f"CNY {_trim(yuan / 1_000)}k"
        return f"CNY {yuan:,}"
    if yuan >= YI:
        return f"{_trim(yuan / YI)} 亿元"
    if yuan >= WAN:
        return f"{_trim(yuan / WAN)} 万元"
    return f"{yuan:,} 元"


def exact_money_text(value: Decimal | int, locale: str = "zh") -> str:
    """Exact, for statements of an amount: 12000000 → "12,000,000元（1200万元）" / "CNY 12,000,000"."""
    value = Decimal(value)
    if value == value.to_integral_value():
        value = value.quantize(Decimal(1))
    grouped = format(value, ",")
    if locale == "en":
        return f"CNY {grouped}"
    if abs(value) >= YI:
        return f"{grouped}元（{_plain(value / YI)}亿元）"
    if abs(value) >= WAN:
        return f"{grouped}元（{_plain(value / WAN)}万元）"
    return f"{grouped}元"


def wan_figure(yuan: int) -> str:
    """Yuan as a plain 万 figure for messages that name the unit themselves: 11500000 → "1,150"."""
    wan = yuan / WAN
    return f"{wan:,.0f}" if wan == int(wan) else f"{wan:,.4f}".rstrip("0")


def wan_exact(value: Decimal | int) -> str:
    """5000000 → "500万" (exact; ties a cap to the clause text that states it)."""
    return _plain(Decimal(value) / WAN) + "万"
