"""chainmatch — the platform of the "一月一链 · 益企畅融" SME financing tour."""
from pathlib import Path

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Build the web application. It never starts the scheduler (see `chainmatch scheduler`)."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from chainmatch.config import load_config
    app.config.update(load_config(app.instance_path))
    if config:
        app.config.update(config)

    from chainmatch import web
    web.init_app(app)
    return app
