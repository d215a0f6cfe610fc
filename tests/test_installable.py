"""The built wheel carries the data folders and runs outside the checkout: migrate, seed, render the home page."""
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from chainmatch import PROJECT_ROOT

pytestmark = pytest.mark.slow

# Build artefacts and local state of the checkout stay out of the copy the wheel is built from.
NOT_COPIED = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", "instance", "outbox",
                                    ".pytest_cache", ".hypothesis", "*.sqlite", "*.sqlite-*", "tests")

# Runs in the venv, from a folder outside the checkout.
IN_THE_VENV = """
import sys
from pathlib import Path

import chainmatch
assert Path(chainmatch.__file__).is_relative_to(sys.prefix), chainmatch.__file__

from flask_babel import force_locale
from flask_migrate import upgrade

from chainmatch import create_app
from core.extensions import db, login_manager
from seeds.loader import load_all

app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///" + sys.argv[1], "TESTING": True})
for folder in (app.template_folder, app.static_folder, app.extensions["migrate"].directory):
    assert Path(folder).is_relative_to(sys.prefix), folder
with app.app_context():
    upgrade()
    load_all(db.session)
    db.session.commit()
with app.test_request_context(), force_locale("en"):
    print("en:", login_manager.login_message)
response = app.test_client().get("/")
assert response.status_code == 200, response.status_code
print(response.get_data(as_text=True))
"""


def _build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    shutil.copytree(PROJECT_ROOT, source, ignore=NOT_COPIED)
    # The installed setuptools builds offline when it can make wheels (the `wheel` package, or setuptools
    # 70.1+); else pip fetches pyproject's build requirements into an isolated environment.
    local = importlib.util.find_spec("wheel") or importlib.util.find_spec("setuptools.command.bdist_wheel")
    isolation = ["--no-build-isolation"] if local else []
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation,
                    "-w", str(tmp_path / "dist"), str(source)], check=True, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("chainmatch-*.whl")
    return wheel


def _checkout_files(folder: str, pattern: str) -> set[str]:
    return {str(path.relative_to(PROJECT_ROOT)) for path in (PROJECT_ROOT / folder).glob(pattern)
            if path.is_file() and "__pycache__" not in path.parts}


def test_the_wheel_carries_the_data_and_runs_outside_the_checkout(tmp_path):
    wheel = _build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())

    packages = {str(path.relative_to(PROJECT_ROOT)) for path in PROJECT_ROOT.glob("*/**/__init__.py")
                if path.parts[len(PROJECT_ROOT.parts)] not in ("tests", "build")}
    assert packages - names == set(), "add these packages to [tool.setuptools] packages in pyproject.toml"
    carried = {f"chainmatch/{name}" for name in
               _checkout_files("templates", "**/*.html") | _checkout_files("static", "**/*")
               | _checkout_files("migrations", "versions/*.py")
               | _checkout_files("translations", "*/LC_MESSAGES/*.mo")}
    carried |= {"chainmatch/migrations/" + name for name in ("env.py", "script.py.mako", "alembic.ini")}
    carried |= {"seeds/" + name for name in ("chains.yaml", "regions.csv", "demo_smes.json", "policies.yaml",
                                             "institutions.yaml", "offices.yaml")}
    assert "chainmatch/templates/base.html" in carried and "chainmatch/static/css/app.css" in carried
    assert "chainmatch/translations/en/LC_MESSAGES/messages.mo" in carried
    assert carried - names == set()
    assert not any(name.split("/")[0] in ("templates", "static", "migrations", "translations") for name in names)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    str(wheel)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "DATABASE_URL", "SECRET_KEY", "CHAINMATCH_DEMO", "CHAINMATCH_POLICY_LIBRARY")}
    env["CHAINMATCH_INSTANCE_PATH"] = str(tmp_path / "instance")  # without SECRET_KEY, the key is generated there
    run = subprocess.run([str(python), "-c", IN_THE_VENV, str(tmp_path / "installed.sqlite")], cwd=elsewhere,
                         env=env, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "人工智能" in run.stdout and "新能源汽车" in run.stdout  # seeded chains (seeds/chains.yaml)
    assert "en: Please sign in first." in run.stdout  # the compiled English catalogue came along
    assert (tmp_path / "instance" / "secret_key").is_file()
