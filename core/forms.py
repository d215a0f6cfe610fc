"""Showing a service's refusal on a WTForms form."""
from core.errors import FieldError


def attach_field_error(form, error: FieldError) -> None:
    """Show a service's refusal beside the field it names (or above the form)."""
    field = getattr(form, error.field, None)
    if field is None:
        form.form_errors.append(error.message)
    else:
        field.errors = list(field.errors) + [error.message]


def enum_member(enum_cls):
    """A SelectField `coerce` that gives the enum member (None for an empty choice); anything else is refused."""

    def coerce(value):
        if value is None or value == "" or isinstance(value, enum_cls):
            return value or None
        return enum_cls(value)  # a ValueError here is WTForms' "not a valid choice"

    return coerce
