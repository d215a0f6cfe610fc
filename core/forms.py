"""Showing a service's refusal on a WTForms form."""
from core.errors import FieldError


def attach_field_error(form, error: FieldError) -> None:
    """Show a service's refusal beside the field it names (or above the form)."""
    field = getattr(form, error.field, None)
    if field is None:
        form.form_errors.append(error.message)
    else:
        field.errors = list(field.errors) + [error.message]
