"""The write view's one pattern: run the service call, commit, say so, go on; or show the refusal and roll back.

    if form.validate_on_submit():
        done = commit_or_refuse(form, lambda: services.update_need(current_user, need, form.facts()),
                                success=_("融资需求已更新。"), next_url=url_for("market.my_enterprise"))
        if done is not None:
            return done
    return render_template(...)  # the form again, with the refusal beside its field

Nothing is half-written: a FieldError rolls back everything the call wrote (and the submission token it
claimed); any other DomainError rolls back too and goes on up, to be answered as 404/403 by the web layer.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask import flash, redirect

from core import submissions
from core.database import commit_keeping
from core.errors import DomainError, FieldError
from core.extensions import db
from core.forms import attach_field_error


def _of(value, result):
    return value(result) if callable(value) else value


def commit_or_refuse(form, action: Callable[[], Any], *, success=None, next_url=None, respond=None,
                     once: str | None = None, keep: Sequence = (), then: Callable[[Any], None] | None = None):
    """Run `action` (the service call) and commit; the response, or None when the form is to be shown again.

    - `form`: where a FieldError is shown (then None is returned, for the view to re-render the form); None
      for a button post: the refusal is flashed as an error and the response is the redirect all the same.
    - `success`: the message flashed after the commit, or a callable of the action's result giving the message,
      a (message, category) pair or None (nothing to flash); the category defaults to "success".
    - `next_url`: where to go (a URL, or a callable of the result); `respond` instead: a callable of the
      result giving the response. A refused button post has no result: a callable gets None.
    - `once`: the create form's one-time submission token is claimed first, in the same transaction; the
      value is where a repeated post goes when the first stored no address. The claim is fulfilled with
      `next_url`. A post already made is answered by `submissions.already_done` and the action is not run.
    - `keep`: objects whose loaded columns the commit keeps (`commit_keeping`), for `then` to use.
    - `then`: called with the result after the commit, before the message is flashed (signing in, say).
    """
    if (next_url is None) == (respond is None):
        raise TypeError("commit_or_refuse needs exactly one of next_url and respond")
    claimed = None
    if once is not None:
        claimed = submissions.claim(form, once)
        if claimed.already_done:
            return submissions.already_done(claimed)
    try:
        result = action()
        url = _of(next_url, result)
        if claimed is not None:
            submissions.fulfil(claimed, url)
    except FieldError as error:
        db.session.rollback()
        if form is None:
            flash(str(error.message), "error")
            return redirect(_of(next_url, None)) if respond is None else respond(None)
        attach_field_error(form, error)
        return None
    except DomainError:
        db.session.rollback()
        raise
    if keep:
        commit_keeping(db.session, *keep)
    else:
        db.session.commit()
    if then is not None:
        then(result)
    message = _of(success, result)
    if message is not None:
        text, category = message if isinstance(message, tuple) else (message, "success")
        flash(text, category)
    return redirect(url) if respond is None else respond(result)
