"""Wiring of the web application: extensions, blueprints, locale, sign-in, errors, filters."""
import math
import time

from flask import Flask, current_app, g, has_request_context, render_template, request, session
from flask_babel import get_locale, lazy_gettext
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

# Every table must be known to the metadata before migrations or create_all look at it: the models of each
# package are imported here, also those no blueprint imports.
import accounts.audit  # noqa: F401
import core.submissions  # noqa: F401
import notifications.models  # noqa: F401
import policies.models  # noqa: F401
from accounts import sessions
from accounts.models import User
from accounts.routes import bp as auth_bp
from accounts.services import may_hold_session
from chainmatch import input_bounds, security
from chainmatch.home import bp as home_bp
from chainmatch.resources import data_folder
from core import database, errors
from core.clock import format_shanghai
from core.extensions import babel, csrf, db, limiter, login_manager, migrate
from core.money import money_text
from core.roles import Role
from events import ports as events_ports
from events.routes.online import bp as online_bp
from events.routes.organiser import bp as organiser_bp
from events.routes.participant import bp as events_bp
from events.routes.reports import bp as reports_bp
from events.services import participants
from events.services import scope as event_scope
from market import enums
from market.routes import bp as market_bp
from market.web_links import is_web_url
from notifications.routes import bp as notifications_bp
from policies import ports as policies_ports
from policies import services as policy_services
from policies.routes import bp as policies_bp


def init_app(app: Flask) -> None:
    # First of all before_request hooks: the request's kind of transaction is known before any query.
    app.before_request(lambda: database.mark_request(request))
    input_bounds.init_app(app)  # before the blueprints: their rules take its converters
    security.init_app(app)
    db.init_app(app)
    app.teardown_appcontext(_close_session)  # registered after Flask-SQLAlchemy's, so it runs first
    with app.app_context():
        database.configure_engine(db.engine, app.config.get("SQLITE_BUSY_TIMEOUT_MS",
                                                            database.DEFAULT_BUSY_TIMEOUT_MS))
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: "Asia/Shanghai",
                   default_translation_directories=str(_translations_dir()))
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = lazy_gettext("请先登录。")
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user)
    limiter.init_app(app)
    sessions.init_app(app)

    _register_blueprints(app)
    _plug_ports()
    _register_errors(app)
    _register_template_helpers(app)


def _migrations_dir():
    return data_folder("migrations")


def _translations_dir():
    return data_folder("translations")


def _register_blueprints(app: Flask) -> None:
    for blueprint in (home_bp, auth_bp, market_bp, organiser_bp, events_bp, online_bp, reports_bp,
                      notifications_bp, policies_bp):
        app.register_blueprint(blueprint)


def _plug_ports() -> None:
    """The sibling domains use each other only through ports (core/ports.py); this is where they meet."""
    events_ports.open_chain_policies.plug(policy_services.open_policies_for_chain)
    policies_ports.event_for.plug(event_scope.event_for)
    policies_ports.visible_events.plug(participants.visible_events)
    policies_ports.approved_enterprises.plug(participants.approved_enterprises)
    policies_ports.event_status_labels.plug(participants.event_status_labels)


def select_locale() -> str:
    if not has_request_context():
        return "zh"  # jobs and commands: each message picks its language itself
    chosen = session.get("locale")
    if chosen in ("zh", "en"):
        return chosen
    if current_user and current_user.is_authenticated:
        return current_user.locale
    return "zh"


def load_user(session_id: str):
    """Sessions carry "user_id:session_version"; a stale version, a disabled user or a demo account outside
    the demo signs out."""
    try:
        user_id, version = (int(part) for part in session_id.split(":", 1))
    except ValueError:
        return None
    if not 0 < user_id < 2**31:
        return None
    user = db.session.get(User, user_id)
    if user is None or user.session_version != version or not may_hold_session(user):
        return None
    return user


def _register_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_refused(error):
        return render_template("errors/error.html", code=400,
                               message=_("表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。")), 400

    @app.errorhandler(403)
    @app.errorhandler(errors.Forbidden)
    def forbidden(error):
        return render_template("errors/error.html", code=403, message=_("您没有权限访问该页面。")), 403

    @app.errorhandler(404)
    @app.errorhandler(errors.NotFound)
    def not_found(error):
        return render_template("errors/error.html", code=404, message=_("页面不存在。")), 404

    @app.errorhandler(errors.DomainError)
    def refused(error):
        """A service's refusal no view caught: 400 with its message (NotFound and Forbidden have their own)."""
        return render_template("errors/error.html", code=400,
                               message=error.message or _("请求无法完成，请检查后重试。")), 400

    @app.errorhandler(429)
    def too_many_requests(error):
        return render_template("errors/error.html", code=429, message=_too_many_message()), 429

    @app.errorhandler(413)
    def too_large(error):
        limit = app.config["MAX_CONTENT_LENGTH"] // 1024
        return render_template("errors/error.html", code=413, message=_(
            "提交的内容过大（上限 %(size)s KB），请精简后重试。", size=limit)), 413

    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(InterfaceError, _database_unavailable)
    app.register_error_handler(PoolTimeoutError, _database_unavailable)

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return render_template("errors/error.html", code=500, message=_("服务器出错了，请稍后再试。")), 500


# ---- database hiccups -------------------------------------------------------------------------------------

RETRIED_METHODS = frozenset({"GET", "HEAD"})
DATABASE_FAULTS = (OperationalError, InterfaceError, PoolTimeoutError)
SQLITE_HICCUPS = ("locked", "busy", "unable to open", "disk i/o")


def _is_hiccup(error: Exception) -> bool:
    """A fault of the database's availability, not of our SQL: pysqlite reports "no such column" as an
    OperationalError too, and that stays a 500."""
    if isinstance(error, PoolTimeoutError) or _dropped_connection(error):
        return True
    message = str(getattr(error, "orig", error)).lower()
    return db.engine.dialect.name == "sqlite" and any(word in message for word in SQLITE_HICCUPS)


def _dropped_connection(error: Exception) -> bool:
    """The connection died under us (server restart, backend terminated, network): worth one more try."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, DBAPIError) and type(error.orig).__module__.startswith("psycopg")


def _lost_upgrade(error: Exception) -> bool:
    """SQLite refused a deferred (read-only) transaction's first write: another writer got there first."""
    return (isinstance(error, OperationalError) and db.engine.dialect.name == "sqlite"
            and bool(g.get("db_deferred_transaction")) and "locked" in str(error.orig))


def _may_retry(error: Exception) -> bool:
    """Once, for a GET/HEAD that committed nothing (what it wrote was rolled back with the failure); the
    response is not streamed yet, since a streamed body's failure never reaches an error handler."""
    if request.method not in RETRIED_METHODS or g.get("db_retried") or database.committed_writes():
        return False
    return _dropped_connection(error) or _lost_upgrade(error)


def _database_unavailable(error: Exception):
    """A database fault: a read-only request runs once more on a fresh connection (an SQLite GET that has to
    write, as a writer); what still fails is a 503 with Retry-After, and nothing half written (the
    transaction rolled back)."""
    app = current_app._get_current_object()
    if not _is_hiccup(error):
        raise error  # a bug: the 500 page
    app.logger.warning("database unavailable for %s %s: %s", request.method, request.path, error)
    db.session.rollback()  # an invalidated connection leaves the pool; the next checkout opens a new one
    if _may_retry(error):
        g.db_retried = True
        if _lost_upgrade(error):
            g.db_reads_only = False  # the second run writes: BEGIN IMMEDIATE from its first query
        g.pop("_login_user", None)  # Flask-Login loads the user again, in the new transaction
        try:
            response = app.preprocess_request()
            if response is None:
                response = app.dispatch_request()
            return app.make_response(response)
        except DATABASE_FAULTS as again:
            if not _is_hiccup(again):
                raise
            app.logger.warning("database still unavailable for %s %s: %s", request.method, request.path, again)
            db.session.rollback()
        except Exception as other:  # the second run failed otherwise (a 404, a 403 …): its own handler answers
            return app.handle_user_exception(other)
    return _unavailable_page()


def _close_session(_error) -> None:
    """End the request's session. A connection that died after the response was built (the closing
    ROLLBACK fails) is thrown away, not turned into a 500 for a page that was fine."""
    try:
        db.session.remove()
    except DATABASE_FAULTS as error:
        current_app.logger.warning("closing a session on a dead connection: %s", error)
        db.session().invalidate()  # the connection leaves the pool instead of being rolled back
        db.session.remove()


def _unavailable_page():
    retry_after = current_app.config.get("DATABASE_RETRY_AFTER_SECONDS", 5)
    g._login_user = login_manager.anonymous_user()  # the page must not need the database that just failed
    if database.committed_writes():
        message = _("您的操作已保存，但页面暂时无法显示，请稍后刷新。")
    elif request.method in database.READ_METHODS:
        message = _("服务暂时繁忙，请稍后再试。")
    else:
        message = _("服务暂时繁忙，您提交的内容没有保存，请稍后重试。")
    headers = {"Retry-After": str(retry_after)}
    try:
        return render_template("errors/error.html", code=503, message=message), 503, headers
    except DATABASE_FAULTS:
        db.session.rollback()
        return message, 503, {**headers, "Content-Type": "text/plain; charset=utf-8"}


def _too_many_message() -> str:
    """The 429 page's text, with the wait the limit that was hit asks for (Retry-After says the same)."""
    current = limiter.current_limit
    if current is None:
        return _("操作过于频繁，请稍后再试。")
    minutes = max(1, math.ceil((current.reset_at - time.time()) / 60))
    return _("操作过于频繁，请在 %(minutes)s 分钟后再试。", minutes=minutes)


def format_rate(bp: int | None) -> str:
    if bp is None:
        return "—"
    return f"{bp / 100:.2f}%"


def _labelled_enums() -> dict:
    return {"financing_type": enums.FinancingType, "stage": enums.Stage, "tier": enums.Tier,
            "industry": enums.Industry, "size_class": enums.SizeClass, "collateral": enums.Collateral,
            "need_status": enums.NeedStatus, "institution_kind": enums.InstitutionKind,
            "institution_status": enums.InstitutionStatus, "product_status": enums.ProductStatus,
            "role": Role}


def _label_filter(enum_cls):
    """`{{ value|stage }}` shows the member's label in the current language; unknown values as they are."""
    def label(value):
        try:
            return enum_cls(value).label
        except ValueError:
            return value
    return label


def need_status_of(need) -> str:
    """`{{ need|need_status_of }}`: the need's status in its financing type's words (已出单 for insurance …)."""
    try:
        return need.status.label_for(need.type)
    except ValueError:
        return need.status


def _money_in_locale(yuan: int | None) -> str:
    return money_text(yuan, "en" if str(get_locale()) == "en" else "zh")


def _register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["money"] = _money_in_locale
    app.jinja_env.filters["rate"] = format_rate
    app.jinja_env.filters["local"] = format_shanghai
    app.jinja_env.tests["web_url"] = is_web_url  # {% if url is web_url %}: link only http(s) addresses
    for name, enum_cls in _labelled_enums().items():
        app.jinja_env.filters[name] = _label_filter(enum_cls)
    app.jinja_env.filters["need_status_of"] = need_status_of

    @app.context_processor
    def inject_globals():
        return {"current_locale": str(get_locale()), "demo_mode": app.config.get("DEMO_MODE", False)}
