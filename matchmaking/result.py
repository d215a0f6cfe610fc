"""What the engine returns: `Plan` with its `Meeting`s, `Unplaced` meetings, `Unmatched`
enterprises and `UnkeptRequest`s, each carrying a machine-readable reason code and zh/en text.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .scoring import Reason

# Reason code -> (Chinese, English). Codes are stable; texts may be reworded.
REASON_TEXT = {
    # Why an enterprise has no meeting.
    "no_need": ("企业未发布融资需求", "the enterprise posted no financing need"),
    "no_capacity": ("企业没有可参会的时段或会面上限为 0",
                    "the enterprise has no available slot or a meeting cap of 0"),
    "no_product_of_type": ("没有与需求类型（股、贷、保、担）相同的产品",
                           "no product of the need's financing type"),
    "amount_out_of_range": ("需求金额不在任何同类产品的额度范围内",
                            "the amount is outside every same-type product's range"),
    "region_not_covered": ("额度合适的产品均不覆盖企业所在地区",
                           "no product with a fitting range covers the enterprise's region"),
    "chain_not_covered": ("符合地区和额度的产品均不面向企业所在产业链",
                          "no product fitting region and amount targets the enterprise's chain"),
    "stage_not_covered": ("符合条件的产品均不面向企业所处发展阶段",
                          "no otherwise fitting product targets the enterprise's stage"),
    "tier_not_held": ("符合条件的产品均要求企业未持有的资质（如专精特新、小巨人）",
                      "every otherwise fitting product requires a tier the enterprise lacks"),
    "only_declined": ("可对接的机构均已拒绝与该企业对接",
                      "every eligible institution declined this enterprise"),
    "no_common_slot": ("与可对接的机构没有共同的空闲时段",
                       "no available slot is shared with any eligible institution"),
    "capacity_exhausted": ("可对接机构的会面名额已分配给其他企业",
                           "the eligible institutions' meeting capacity went to other enterprises"),
    "not_placed": ("已分配的会面无法排入时段", "the allocated meetings could not be timetabled"),
    # Why an allocated meeting has no slot.
    "slot_conflict": ("双方共同的空闲时段均已排满", "every slot free to both sides is taken"),
    # Why an accepted request is not a meeting.
    "not_eligible": ("双方之间没有符合硬性条件的需求与产品",
                     "no need and product between the two pass the hard rules"),
    "cap_reached": ("会面上限不允许保留全部已接受的申请",
                    "the meeting caps cannot hold every accepted request"),
}

NEED_RULE_REASON = ("no_product_of_type", "amount_out_of_range", "region_not_covered",
                    "chain_not_covered", "stage_not_covered", "tier_not_held")


def reason_text(code: str) -> tuple[str, str]:
    """(zh, en) text of a reason code."""
    return REASON_TEXT[code]


@dataclass(frozen=True, slots=True)
class Meeting:
    enterprise: str
    institution: str
    need: str
    product: str
    slot: int
    table: int
    score: float
    reasons: tuple[Reason, ...]
    request: str | None = None   # "accepted", "mutual", "requested" or None


@dataclass(frozen=True, slots=True)
class Unplaced:
    """An allocated meeting that got no slot."""

    enterprise: str
    institution: str
    need: str
    product: str
    score: float
    reason: str
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class Unmatched:
    """An enterprise without any meeting; `detail` names e.g. the need the reason is about."""

    enterprise: str
    reason: str
    zh: str
    en: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class UnkeptRequest:
    """An accepted request that is not a meeting in the plan."""

    enterprise: str
    institution: str
    reason: str
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class Plan:
    meetings: tuple[Meeting, ...]
    unplaced: tuple[Unplaced, ...] = ()
    unmatched: tuple[Unmatched, ...] = ()
    unkept_requests: tuple[UnkeptRequest, ...] = ()
    stats: dict = field(default_factory=dict)

