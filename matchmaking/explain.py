"""为什么推荐: each score part as a sentence in Chinese and English.

Texts are built per category and cached per product, need or chain, so explaining 100,000
meetings costs a few list comprehensions rather than a formatted string per part.
"""
from __future__ import annotations

import numpy as np

from .columns import Columns
from .scoring import PARTS, WEIGHTS, Reason, part_values

_FIXED = {
    "collateral": (
        ("信用类产品，无需抵质押", "a credit product: no collateral needed"),
        ("企业可提供的担保方式为产品所接受", "the product accepts collateral the enterprise offers"),
        ("企业可提供的担保方式不在产品接受范围内",
         "the product does not accept the collateral offered"),
        ("担保方式信息不全，按中性计", "collateral not stated on both sides; counted as neutral"),
    ),
    "targeting": (
        ("产品不限发展阶段和企业资质", "the product is open to every stage and tier"),
        ("产品面向企业所处的发展阶段", "the product targets the enterprise's stage"),
        ("产品面向企业持有的资质（如专精特新）", "the product targets a tier the enterprise holds"),
        ("产品同时面向企业的发展阶段和资质",
         "the product targets both the enterprise's stage and tier"),
    ),
    "request": (
        ("双方尚无对接申请", "no meeting request between the two"),
        ("一方已提出对接申请", "one side has requested a meeting"),
        ("双方互相提出了对接申请", "both sides have requested a meeting"),
        ("对接申请已被接受", "the meeting request has been accepted"),
        ("", ""),
    ),
}


def zh_money(yuan: int) -> str:
    """Yuan as the UI shows it: 亿元 / 万元."""
    if yuan >= 100_000_000:
        return f"{yuan / 100_000_000:g}亿元"
    if yuan >= 10_000:
        return f"{yuan / 10_000:g}万元"
    return f"{yuan}元"


def en_money(yuan: int) -> str:
    if yuan >= 1_000_000:
        return f"CNY {yuan / 1_000_000:g}m"
    return f"CNY {yuan:,}"


def _node(chain: str, cat: int) -> tuple[str, str]:
    return (
        ("产品面向企业所在的产业链环节", "the product targets the enterprise's chain node"),
        (f"产品专门面向{chain}产业链", f"the product is aimed at the {chain} chain"),
        (f"产品面向{chain}产业链的其他环节", f"the product targets other nodes of the {chain} chain"),
        ("通用产品，不限产业链", "a general product, open to every chain"),
        ("产品面向其他产业链环节", "the product targets other chain nodes"),
    )[cat]


def _amount(amount: int, low: int, high: int, cat: int) -> tuple[str, str]:
    where_zh = ("中段", "下限附近", "上限附近")[cat]
    where_en = ("middle", "lower end", "upper end")[cat]
    return (f"需求金额{zh_money(amount)}位于产品额度{zh_money(low)}–{zh_money(high)}的{where_zh}",
            f"the {en_money(amount)} need sits at the {where_en} of the "
            f"{en_money(low)}–{en_money(high)} range")


def _term(months: int, cat: int) -> tuple[str, str]:
    return (
        (f"期限{months}个月在产品期限范围内", f"the {months}-month term is within the product's terms"),
        (f"产品最短期限长于所需的{months}个月",
         f"the product's shortest term exceeds the {months} months wanted"),
        (f"产品最长期限短于所需的{months}个月",
         f"the product's longest term is shorter than the {months} months wanted"),
        ("期限信息不全，按中性计", "term not stated on both sides; counted as neutral"),
    )[cat]


def _price(rate_min: int | None, rate_max: int | None, cat: int) -> tuple[str, str]:
    if cat % 4 == 3:
        zh, en = "未公布利率或费率，按中性计", "no rate or fee published; counted as neutral"
    else:
        low = rate_min if rate_min is not None else rate_max
        high = rate_max if rate_max is not None else rate_min
        span = f"{low / 100:.2f}%–{high / 100:.2f}%"
        zh = f"利率/费率{span}，在同类产品中" + ("较低", "居中", "较高")[cat % 4]
        en = (f"rate or fee {span}, " + ("low", "middling", "high")[cat % 4]
              + " among similar products")
    if cat >= 4:
        zh, en = zh + "；活动专属产品", en + "; an event-exclusive product"
    return zh, en


def _reasons(cols: Columns, part: str, cats: list, values: list, needs: list,
             prods: list) -> list:
    """One `Reason` per row for one part; equal reasons are shared (they are immutable)."""
    weight = WEIGHTS[part]
    inst = cols.instance
    cache: dict = {}
    out = []
    fixed = _FIXED.get(part)
    for c, v, n, p in zip(cats, values, needs, prods):
        if fixed is not None:
            key = (c, v)
        elif part == "node":
            key = (c, v, int(cols.need_ent[n]) if c in (1, 2) else -1)
        elif part == "amount":
            key = (c, v, n, p)
        elif part == "term":
            key = (c, v, n if c != 3 else -1)
        else:  # price
            key = (c, v, p if c % 4 != 3 else -1)
        reason = cache.get(key)
        if reason is None:
            if fixed is not None:
                text = fixed[c]
            elif part == "node":
                text = _node(inst.enterprises[key[2]].chain if key[2] >= 0 else "", c)
            elif part == "amount":
                prod = inst.products[p]
                text = _amount(inst.needs[n].amount, prod.amount_min, prod.amount_max, c)
            elif part == "term":
                text = _term(inst.needs[n].term_months if c != 3 else 0, c)
            else:
                prod = inst.products[p]
                text = _price(prod.rate_min_bp, prod.rate_max_bp, c)
            reason = cache[key] = Reason(part, weight, v, text[0], text[1])
        out.append(reason)
    return out


def reasons(cols: Columns, needs: np.ndarray, prods: np.ndarray) -> list[tuple[Reason, ...]]:
    """For each (need, product) pair, one `Reason` per part, largest contribution first."""
    if len(needs) == 0:
        return []
    pv = part_values(cols, needs, prods)
    values = np.column_stack([np.round(pv.values[part], 3) for part in PARTS])
    weights = np.array([WEIGHTS[part] for part in PARTS])
    order = np.argsort(-(values * weights), axis=1, kind="stable").tolist()
    need_list, prod_list = needs.tolist(), prods.tolist()
    columns = [_reasons(cols, part, pv.category[part].tolist(), values[:, k].tolist(),
                        need_list, prod_list) for k, part in enumerate(PARTS)]
    return [tuple(map(row.__getitem__, ranks)) for row, ranks in zip(zip(*columns), order)]
