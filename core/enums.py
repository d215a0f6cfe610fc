"""Labelled enums: fixed vocabularies whose members carry a translatable display label."""
from enum import StrEnum


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
