"""`commit_or_refuse`: a write view's service call is committed and announced, or rolled back and shown beside
the form's field (or flashed, for a button); nothing is ever half-written."""
import pytest
from flask import get_flashed_messages
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import StringField

from accounts.models import OrganiserOffice
from core.errors import FieldError, NotFound
from core.extensions import db
from core.views import commit_or_refuse


class NameForm(FlaskForm):
    class Meta:
        csrf = False

    name = StringField()


def offices() -> int:
    db.session.rollback()  # what another transaction sees: the committed rows only
    return db.session.scalar(select(func.count(OrganiserOffice.id)))


def add_office(name: str = "杭州主办单位", refuse: Exception | None = None):
    """Writes a row and flushes it, then refuses when told to: a refusal after a write."""
    office = OrganiserOffice(name=name, region_code="330100")
    db.session.add(office)
    db.session.flush()
    if refuse is not None:
        raise refuse
    return office


def test_success_commits_flashes_and_redirects(db_session):
    response = commit_or_refuse(NameForm(), add_office, success=lambda office: f"已添加：{office.name}",
                                next_url=lambda office: f"/offices/{office.id}")
    assert response.status_code == 302
    assert response.location.startswith("/offices/")
    assert get_flashed_messages(with_categories=True) == [("success", "已添加：杭州主办单位")]
    assert offices() == 1


def test_field_error_rolls_back_and_shows_beside_the_field(db_session):
    form = NameForm()
    response = commit_or_refuse(form, lambda: add_office(refuse=FieldError("name", "名称已被占用。")),
                                success="已添加。", next_url="/offices")
    assert response is None  # the view shows the form again
    assert form.name.errors == ["名称已被占用。"]
    assert get_flashed_messages() == []
    assert offices() == 0  # the row written before the refusal is gone


def test_field_error_of_no_field_goes_above_the_form(db_session):
    form = NameForm()
    assert commit_or_refuse(form, lambda: add_office(refuse=FieldError("other", "不行。")), next_url="/") is None
    assert form.form_errors == ["不行。"]
    assert offices() == 0


def test_a_button_refused_flashes_the_error_and_redirects(db_session):
    response = commit_or_refuse(None, lambda: add_office(refuse=FieldError("name", "名称已被占用。")),
                                success="已添加。", next_url="/offices")
    assert response.status_code == 302 and response.location == "/offices"
    assert get_flashed_messages(with_categories=True) == [("error", "名称已被占用。")]
    assert offices() == 0


def test_other_domain_errors_roll_back_and_go_on_up(db_session):
    with pytest.raises(NotFound):
        commit_or_refuse(None, lambda: add_office(refuse=NotFound()), success="已添加。", next_url="/offices")
    assert get_flashed_messages() == []
    assert offices() == 0


def test_then_runs_after_the_commit_and_a_category_can_be_given(db_session):
    seen = []
    response = commit_or_refuse(None, add_office, then=lambda office: seen.append(offices()),
                                success=("已添加。", "info"), next_url="/offices")
    assert response.status_code == 302
    assert seen == [1]  # committed before `then` ran
    assert get_flashed_messages(with_categories=True) == [("info", "已添加。")]


def test_respond_instead_of_a_redirect(db_session):
    response = commit_or_refuse(NameForm(), add_office, respond=lambda office: ("made", 201))
    assert response == ("made", 201)
    assert offices() == 1
    with pytest.raises(TypeError):
        commit_or_refuse(NameForm(), add_office)
