"""Labelled enums: fixed vocabularies whose members carry a translatable display label."""
from enum import StrEnum

from sqlalchemy import Enum, event
from sqlalchemy.orm import Mapper


class LabelledEnum(StrEnum):
    """A StrEnum whose members carry a translatable display label."""

    @property
    def label(self) -> str:
        return str(self._labels()[self])

    @classmethod
    def _labels(cls) -> dict:
        raise NotImplementedError

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(member.value, member.label) for member in cls]


def sql_in(enum_cls: type[StrEnum], column: str) -> str:
    """A CHECK-constraint expression keeping `column` within the enum's values."""
    return f"{column} IN (" + ", ".join(f"'{m.value}'" for m in enum_cls) + ")"


def enum_column(enum_cls: type[StrEnum], length: int, check: str | None) -> Enum:
    """A VARCHAR(`length`) column type holding `enum_cls` members, with its own CHECK named `check`.

    Loads give members; writes take a member or its value and refuse anything else. `check=None`
    leaves the CHECK to the table (for a column whose rule says more than "one of the values").
    """
    return Enum(enum_cls, native_enum=False, length=length, validate_strings=True,
                values_callable=lambda cls: [member.value for member in cls],
                create_constraint=check is not None, name=check)


@event.listens_for(Mapper, "mapper_configured")
def _members_on_assignment(mapper, class_) -> None:
    """Assigning a value of an `enum_column` stores its member, so unflushed objects hold members too.

    Strings that are not values are kept as given: the column type refuses them when they are written.
    """
    for prop in mapper.column_attrs:
        kind = prop.columns[0].type
        if isinstance(kind, Enum) and kind.enum_class is not None and prop.parent is mapper:
            event.listen(prop.class_attribute, "set", _coerce_to(kind.enum_class), retval=True)


def _coerce_to(enum_cls):
    values = {member.value for member in enum_cls}

    def coerce(target, value, oldvalue, initiator):
        return enum_cls(value) if isinstance(value, str) and value in values else value
    return coerce
