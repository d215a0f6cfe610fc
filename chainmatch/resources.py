"""Where the web data folders are: inside the installed package (a wheel) or at the top of the checkout."""
from importlib import resources
from pathlib import Path

# The folder above the package: the checkout when run from one (source scans in the tests read it).
PROJECT_ROOT = Path(__file__).resolve().parent.parent

DATA_FOLDERS = ("templates", "static", "migrations", "translations")


def data_folder(name: str) -> Path:
    """templates, static, migrations or translations: chainmatch/<name> in a wheel, else <checkout>/<name>.

    pyproject.toml maps the checkout's top-level folders to the packages chainmatch.templates, … of the
    wheel; a checkout (run in place or editable-installed) keeps them beside the code that is running.
    """
    if name not in DATA_FOLDERS:
        raise ValueError(f"not a data folder: {name}")
    packaged = resources.files(__package__) / name
    if packaged.is_dir():
        return Path(str(packaged))
    return PROJECT_ROOT / name

