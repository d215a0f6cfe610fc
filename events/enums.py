"""Vocabularies of the month's event, with display labels."""
from flask_babel import lazy_gettext as _l

from core.enums import LabelledEnum


class EventStatus(LabelledEnum):
    """draft → open → closed → matched → published → running → finished → reported."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    MATCHED = "matched"
    PUBLISHED = "published"
    RUNNING = "running"
    FINISHED = "finished"
    REPORTED = "reported"

    @classmethod
    def _labels(cls):
        return {cls.DRAFT: _l("草稿"), cls.OPEN: _l("报名中"), cls.CLOSED: _l("报名截止"), cls.MATCHED: _l("已匹配"),
                cls.PUBLISHED: _l("日程已发布"), cls.RUNNING: _l("进行中"), cls.FINISHED: _l("已结束"),
                cls.REPORTED: _l("已报送")}

    @property
    def rank(self) -> int:
        return list(EventStatus).index(self)


class SessionKind(LabelledEnum):
    """The eight activities of the notice, plus livestreams and knowledge talks."""

    TRAINING = "training"
    PRODUCT_PROMOTION = "product_promotion"
    EQUITY_MATCHING = "equity_matching"
    CREDIT_MATCHING = "credit_matching"
    INSURANCE_MATCHING = "insurance_matching"
    MNA_MATCHING = "mna_matching"
    INDUSTRY_MATCHING = "industry_matching"
    POLICY_MATCHING = "policy_matching"
    LIVESTREAM = "livestream"
    KNOWLEDGE_TALK = "knowledge_talk"

    @classmethod
    def _labels(cls):
        return {cls.TRAINING: _l("宣传培训"), cls.PRODUCT_PROMOTION: _l("产品推介"),
                cls.EQUITY_MATCHING: _l("股权融资对接"), cls.CREDIT_MATCHING: _l("信贷融资对接"),
                cls.INSURANCE_MATCHING: _l("保险服务对接"), cls.MNA_MATCHING: _l("并购重组对接"),
                cls.INDUSTRY_MATCHING: _l("产业对接"), cls.POLICY_MATCHING: _l("政策对接"),
                cls.LIVESTREAM: _l("公益直播"), cls.KNOWLEDGE_TALK: _l("金融知识宣讲")}

    @property
    def has_meetings(self) -> bool:
        """Sessions where SMEs sit with institutions at tables in slots."""
        return self in MATCHMAKING_KINDS


MATCHMAKING_KINDS = (SessionKind.EQUITY_MATCHING, SessionKind.CREDIT_MATCHING, SessionKind.INSURANCE_MATCHING,
                     SessionKind.MNA_MATCHING, SessionKind.INDUSTRY_MATCHING, SessionKind.POLICY_MATCHING)


class SessionMode(LabelledEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    HYBRID = "hybrid"

    @classmethod
    def _labels(cls):
        return {cls.ONLINE: _l("线上"), cls.OFFLINE: _l("线下"), cls.HYBRID: _l("线上+线下")}


class RegistrationStatus(LabelledEnum):
    PENDING = "pending"
    APPROVED = "approved"
    WAITLISTED = "waitlisted"
    REJECTED = "rejected"
    CANCELLED = "cancelled"

    @classmethod
    def _labels(cls):
        return {cls.PENDING: _l("待审核"), cls.APPROVED: _l("已通过"), cls.WAITLISTED: _l("候补中"),
                cls.REJECTED: _l("未通过"), cls.CANCELLED: _l("已取消")}


class RequestStatus(LabelledEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"

    @classmethod
    def _labels(cls):
        return {cls.REQUESTED: _l("待回复"), cls.ACCEPTED: _l("已接受"), cls.DECLINED: _l("已婉拒"),
                cls.EXPIRED: _l("已过期"), cls.WITHDRAWN: _l("已撤回")}


class RequestDirection(LabelledEnum):
    FROM_ENTERPRISE = "from_enterprise"
    FROM_INSTITUTION = "from_institution"

    @classmethod
    def _labels(cls):
        return {cls.FROM_ENTERPRISE: _l("企业发起"), cls.FROM_INSTITUTION: _l("机构发起")}


class MeetingStatus(LabelledEnum):
    """proposed (by the matcher or an organiser) → scheduled (published) → held / no-show, or cancelled."""

    PROPOSED = "proposed"
    SCHEDULED = "scheduled"
    HELD = "held"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"

    @classmethod
    def _labels(cls):
        return {cls.PROPOSED: _l("拟安排"), cls.SCHEDULED: _l("已排期"), cls.HELD: _l("已会谈"),
                cls.NO_SHOW: _l("未到场"), cls.CANCELLED: _l("已取消")}


ACTIVE_MEETING_STATUSES = (MeetingStatus.PROPOSED, MeetingStatus.SCHEDULED, MeetingStatus.HELD, MeetingStatus.NO_SHOW)


class MeetingSource(LabelledEnum):
    MATCHER = "matcher"
    REQUEST = "request"
    ORGANISER = "organiser"
    BOOKING = "booking"

    @classmethod
    def _labels(cls):
        return {cls.MATCHER: _l("智能匹配"), cls.REQUEST: _l("双方约见"), cls.ORGANISER: _l("主办方安排"),
                cls.BOOKING: _l("企业预约")}


class Side(LabelledEnum):
    ENTERPRISE = "enterprise"
    INSTITUTION = "institution"

    @classmethod
    def _labels(cls):
        return {cls.ENTERPRISE: _l("企业"), cls.INSTITUTION: _l("金融机构")}


class Verdict(LabelledEnum):
    """The SME's answer to the institution's figures of a meeting."""

    CONFIRMED = "confirmed"
    DISPUTED = "disputed"

    @classmethod
    def _labels(cls):
        return {cls.CONFIRMED: _l("企业已确认"), cls.DISPUTED: _l("企业有异议")}


class LeadSource(LabelledEnum):
    """Where a meeting request came from (the online half of the tour counts its leads)."""

    DIRECT = "direct"
    ZONE = "zone"
    STREAM = "stream"
    CATALOGUE = "catalogue"

    @classmethod
    def _labels(cls):
        return {cls.DIRECT: _l("直接发起"), cls.ZONE: _l("网络服务专区"), cls.STREAM: _l("直播/宣讲"),
                cls.CATALOGUE: _l("金融超市")}
