"""Who a user is: the four roles every blueprint checks (the user table itself is in accounts)."""
from flask_babel import lazy_gettext as _l

from core.enums import LabelledEnum


class Role(LabelledEnum):
    SME = "sme"
    INSTITUTION = "institution"
    ORGANISER = "organiser"
    ADMIN = "admin"

    @classmethod
    def _labels(cls):
        return {cls.SME: _l("企业"), cls.INSTITUTION: _l("金融机构"), cls.ORGANISER: _l("主办/承办单位"),
                cls.ADMIN: _l("管理员")}
