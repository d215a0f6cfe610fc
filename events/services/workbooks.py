"""Workbooks that never hold a live formula, whatever people typed (OWASP's CSV-injection advice).

Every export builds a `TextOnlyWorkbook`; saving it marks as text each string cell that a spreadsheet
could take for a formula or an error code: one that starts with `=`, `+`, `-`, `@`, a tab or a carriage
return (and the full-width ＝ ＋ － ＠ that Chinese input methods type), or that reads like `#N/A`.
openpyxl turns a string starting with `=` into a formula cell by itself; here such a cell becomes a
string cell with Excel's quote prefix (the `'` one types before text), so that editing it in Excel or
WPS keeps it text. Numbers stay numbers. The exports write no formulas of their own (totals are summed
in Python, like the dashboard's figures).

tests/security/test_exports_as_text.py fails when openpyxl's Workbook is created anywhere else.
"""
from io import BytesIO

from openpyxl import Workbook

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def reads_as_formula(cell) -> bool:
    """A string cell that a spreadsheet would evaluate or show as an error rather than as the text."""
    value = cell.value
    return isinstance(value, str) and (cell.data_type in ("f", "e") or value.startswith(FORMULA_STARTS))


def keep_as_text(workbook: Workbook) -> None:
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if reads_as_formula(cell):
                    cell.data_type = "s"
                    cell.quotePrefix = True


class TextOnlyWorkbook(Workbook):
    """An openpyxl workbook whose string cells are written as text, never as formulas."""

    def save(self, filename) -> None:
        keep_as_text(self)
        super().save(filename)


def workbook_bytes(workbook: TextOnlyWorkbook) -> bytes:
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
