"""chainmatch — the platform of the "一月一链 · 益企畅融" SME financing tour."""
import os
from pathlib import Path

from flask import Flask

from chainmatch import web
from chainmatch.config import load_config
from chainmatch.resources import PROJECT_ROOT, data_folder  # noqa: F401 — PROJECT_ROOT: the checkout, for source scans


def create_app(config: dict | None = None) -> Flask:
    """Build the web application. It never starts the scheduler (see `chainmatch scheduler`)."""
    instance_path = os.environ.get("CHAINMATCH_INSTANCE_PATH")  # else Flask's: see docs/operations.md
    app = Flask(
        __name__,
        instance_path=os.path.abspath(instance_path) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(data_folder("templates")),
        static_folder=str(data_folder("static")),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    app.config.update(load_config(app.instance_path))
    if config:
        app.config.update(config)

    web.init_app(app)
    return app
