"""chainmatch — the platform of the "一月一链 · 益企畅融" SME financing tour."""
import os
from pathlib import Path

from flask import Flask

# The folder above the package: the checkout when run from one (source scans in the tests read it).
# The data folders (templates, …) are found through chainmatch.resources, also in an installed wheel.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Build the web application. It never starts the scheduler (see `chainmatch scheduler`)."""
    from chainmatch.resources import data_folder
    instance_path = os.environ.get("CHAINMATCH_INSTANCE_PATH")  # else Flask's: see docs/operations.md
    app = Flask(
        __name__,
        instance_path=os.path.abspath(instance_path) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(data_folder("templates")),
        static_folder=str(data_folder("static")),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from chainmatch.config import load_config
    app.config.update(load_config(app.instance_path))
    if config:
        app.config.update(config)

    from chainmatch import web
    web.init_app(app)
    return app
