"""No user data can reach a lazy translation's parameters: a static check of every project package.

Flask-Babel's LazyString has `__html__`, so Jinja and markupsafe take `lazy_gettext("…%(name)s", name=…)`
for safe HTML and print the parameters unescaped. Inside functions (where user data lives) messages
with parameters use eager `gettext`/`ngettext`/`pgettext` (a plain str, which Jinja escapes); lazy strings
with parameters are allowed only at import time (module and class level), where no request exists.
"""
import ast
import textwrap

from tests.security.project_sources import Source, project_packages, project_sources

# Lazy functions of Flask-Babel → how many leading positional arguments are the message itself.
# None: the call always carries a parameter (the count of the n-forms).
LAZY_FUNCTIONS = {"lazy_gettext": 1, "lazy_pgettext": 2, "lazy_ngettext": None, "lazy_npgettext": None,
                  "LazyString": None}
BABEL_MODULES = {"flask_babel", "flask_babel.speaklater"}
HOUSE_ALIAS = "_l"  # docs/translations.md: `lazy_gettext as _l`


class _LazyCallsInFunctions(ast.NodeVisitor):
    def __init__(self):
        self.names = {HOUSE_ALIAS: "lazy_gettext"}  # local name → lazy function
        self.modules = set()                       # local names bound to a Flask-Babel module
        self.depth = 0
        self.found: list[ast.Call] = []

    def collect_imports(self, tree: ast.Module) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in BABEL_MODULES:
                for alias in node.names:
                    if alias.name in LAZY_FUNCTIONS:
                        self.names[alias.asname or alias.name] = alias.name
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in BABEL_MODULES:
                        self.modules.add(alias.asname or alias.name.split(".")[0])

    def _lazy_function(self, func: ast.expr) -> str | None:
        if isinstance(func, ast.Name):
            return self.names.get(func.id)
        if isinstance(func, ast.Attribute) and func.attr in LAZY_FUNCTIONS:
            base = func.value
            while isinstance(base, ast.Attribute):  # flask_babel.speaklater.LazyString
                base = base.value
            if isinstance(base, ast.Name) and base.id in self.modules:
                return func.attr
        return None

    def _in_function(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _in_function

    def visit_Call(self, node: ast.Call):
        name = self._lazy_function(node.func)
        if self.depth and name is not None:
            message_args = LAZY_FUNCTIONS[name]
            if (message_args is None or node.keywords or len(node.args) > message_args
                    or any(isinstance(arg, ast.Starred) for arg in node.args)):
                self.found.append(node)
        self.generic_visit(node)


def lazy_calls_with_parameters_in_functions(source: Source) -> list[str]:
    finder = _LazyCallsInFunctions()
    finder.collect_imports(source.tree)
    finder.visit(source.tree)
    return [f"{source.path}:{call.lineno}: {ast.unparse(call)[:100]}" for call in finder.found]


def _check(code: str) -> list[str]:
    return lazy_calls_with_parameters_in_functions(Source("example.py", ast.parse(textwrap.dedent(code))))


def test_every_project_package_is_checked():
    assert {"chainmatch", "market", "events", "notifications", "policies", "seeds"} <= set(project_packages())


def test_no_lazy_string_with_parameters_inside_a_function():
    offenders = [line for source in project_sources() for line in lazy_calls_with_parameters_in_functions(source)]
    assert not offenders, (
        "lazy translations with parameters inside functions (LazyString is treated as safe HTML, so user data in "
        "its parameters is not escaped); use eager gettext/ngettext/pgettext there:\n" + "\n".join(offenders))


def test_the_check_finds_every_shape_of_the_mistake():
    found = _check('''
        import flask_babel
        import flask_babel as fb
        from flask_babel import lazy_gettext as _l, lazy_ngettext, lazy_pgettext
        from flask_babel import lazy_gettext as later
        from flask_babel.speaklater import LazyString

        def view(name, n, extra):
            a = _l("名称：%(name)s", name=name)
            b = later("名称：%(name)s", name=name)
            c = flask_babel.lazy_gettext("名称：%(name)s", name=name)
            d = fb.lazy_gettext("名称：%(name)s", **extra)
            e = lazy_ngettext("%(num)s 家", "%(num)s 家", n)
            f = lazy_pgettext("context", "名称：%(name)s", name=name)
            g = LazyString(str, name)

        class Form:
            def validate(self, field):
                raise ValueError(_l("未知：%(code)s", code=field.data))

        check = lambda value: _l("值：%(v)s", v=value)
    ''')
    assert [line.split(":")[1] for line in found] == ["9", "10", "11", "12", "13", "14", "15", "19", "21"]


def test_the_check_allows_what_is_safe():
    assert _check('''
        from flask_babel import gettext as _
        from flask_babel import lazy_gettext as _l

        REQUIRED = _l("此项必填。")
        MONTHS = [(m, _l("%(m)s 月", m=m)) for m in range(1, 13)]

        class Form:
            label = _l("第 %(n)s 页", n=1)

        def view(name):
            message = _("名称：%(name)s", name=name)
            plain = _l("此项必填。")
            return _l("、").join([message, plain])
    ''') == []
