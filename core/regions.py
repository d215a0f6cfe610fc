"""Region coverage by GB/T 2260 code: the one rule, shared by the market, the policy evaluator and the engine."""


def region_prefix(area_code: str) -> str:
    """The code prefix a division covers: XX for a province (XX0000), XXXX for a city (XXXX00), all six for a district."""
    if area_code.endswith("0000"):
        return area_code[:2]
    if area_code.endswith("00"):
        return area_code[:4]
    return area_code


def region_covers(area_code: str, code: str) -> bool:
    """Whether the division `area_code` contains the division `code` (a division contains itself)."""
    return code.startswith(region_prefix(area_code))


def within_region(column, area_code: str):
    """A SQL condition: the region code in `column` lies within the division `area_code`."""
    return column.startswith(region_prefix(area_code))


def covering_region(codes: list[str]) -> str | None:
    """The smallest division that holds every code (an institution serving 杭州 and 宁波 → 浙江); None if national."""
    if not codes:
        return None
    if len(set(codes)) == 1:
        return codes[0]
    for length, suffix in ((4, "00"), (2, "0000")):
        if len({code[:length] for code in codes}) == 1:
            return codes[0][:length] + suffix
    return None
