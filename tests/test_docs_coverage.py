"""Every public name has an entry in the API reference and a docstring that teaches.

Data-driven: the public modules are found by walking the package (every module path without a ``_`` component),
the public names are their ``__all__``, and the API entries are what Sphinx's Python domain holds after reading
docs/ (so an entry counts however a page produces it: ``automodule``, ``autoclass``, ``autodata``...). A new
module or name is checked without editing this file.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import io
import pkgutil
import re
import types
from pathlib import Path

import pytest

import spatialstats

DOCS = Path(__file__).resolve().parents[1] / "docs"
MIN_DESCRIPTION_WORDS = 8  # a summary paragraph that says what is computed, when there is no ``.. math::``
TORCH_HOOKS = {"extra_repr"}  # torch.nn.Module hooks a loss overrides: not API of its own
FUNCTION_REFERENCE = re.compile(r":func:`~?(spatialstats(?:\.\w+)+)`")

pytestmark = pytest.mark.filterwarnings("ignore:The mapping interface for autodoc options:PendingDeprecationWarning")

# Names whose docstrings lack a part, in files this test's author does not own. strict: once fixed, the xfail
# fails, and the name must leave this list.
KNOWN_GAPS: dict[str, str] = {}


def public_modules() -> list[types.ModuleType]:
    """The package and every submodule whose dotted path has no private (``_``) component."""
    names = [spatialstats.__name__]
    for info in pkgutil.walk_packages(spatialstats.__path__, f"{spatialstats.__name__}."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return [importlib.import_module(name) for name in names]


def public_names() -> list[tuple[str, str]]:
    return [(module.__name__, name) for module in public_modules() for name in getattr(module, "__all__", ())]


def entry_candidates(module_name: str, name: str) -> set[str]:
    """The names under which the object may be documented: any public module that exports it, or its home."""
    obj = getattr(importlib.import_module(module_name), name)
    if isinstance(obj, types.ModuleType):
        return {obj.__name__}
    candidates = {
        f"{module.__name__}.{name}"
        for module in public_modules()
        if name in getattr(module, "__all__", ()) and getattr(module, name) is obj
    }
    if inspect.isclass(obj) or inspect.isfunction(obj):
        candidates.add(f"{obj.__module__}.{obj.__qualname__}")
    return candidates


def resolve(dotted: str) -> object | None:
    """The object a ``:func:`` reference names, or None."""
    module_name, _, attribute = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attribute, None)
    except ImportError:
        return None


def states_what_it_computes(doc: str) -> bool:
    """``.. math::`` here, or in the function the docstring defers to (a thin wrapper), or a full summary."""
    if ".. math::" in doc or len(doc.split("\n\n", 1)[0].split()) >= MIN_DESCRIPTION_WORDS:
        return True
    referenced = (resolve(target) for target in FUNCTION_REFERENCE.findall(doc))
    return any(".. math::" in (getattr(function, "__doc__", None) or "") for function in referenced)


def known_gap(module_name: str, name: str) -> list[pytest.MarkDecorator]:
    obj = getattr(importlib.import_module(module_name), name)
    home = f"{obj.__module__.rsplit('.', 1)[0]}.{name}" if inspect.isclass(obj) else ""
    reason = KNOWN_GAPS.get(f"{module_name}.{name}") or KNOWN_GAPS.get(home)
    return [pytest.mark.xfail(reason=reason, strict=True)] if reason else []


def own_methods(cls: type) -> dict[str, object]:
    """Public methods and properties a spatialstats class defines or inherits from another spatialstats class."""
    methods = {}
    for klass in reversed(cls.__mro__):
        if not klass.__module__.startswith(f"{spatialstats.__name__}."):
            continue
        for name, value in vars(klass).items():
            if name in TORCH_HOOKS:
                continue
            function = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
            if not name.startswith("_") and (inspect.isfunction(function) or isinstance(value, property)):
                methods[name] = function
    return methods


@pytest.fixture(scope="module")
def api_entries(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Read docs/ with Sphinx (no output written) and return the documented Python objects."""
    application = pytest.importorskip("sphinx.application", reason="the docs extra is not installed")
    build = tmp_path_factory.mktemp("docs")
    app = application.Sphinx(
        str(DOCS), str(DOCS), str(build / "out"), str(build / "doctrees"), "dummy",
        status=io.StringIO(), warning=io.StringIO(), freshenv=True,
    )
    app.build()
    return set(app.env.get_domain("py").objects)


@pytest.mark.parametrize(("module_name", "name"), public_names())
def test_public_name_has_api_entry(api_entries: set[str], module_name: str, name: str) -> None:
    candidates = entry_candidates(module_name, name)
    assert candidates & api_entries, f"{module_name}.{name} has no API entry in docs/ (looked for {sorted(candidates)})"


@pytest.mark.parametrize(
    ("module_name", "name"), [pytest.param(*pair, marks=known_gap(*pair)) for pair in public_names()]
)
def test_public_name_docstring_teaches(module_name: str, name: str) -> None:
    obj = getattr(importlib.import_module(module_name), name)
    if isinstance(obj, types.ModuleType):
        assert (obj.__doc__ or "").strip(), f"module {obj.__name__} has no docstring"
        return
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        pytest.skip("data: its description lives in the API page (an int or a tuple has no docstring)")
    doc = inspect.cleandoc(obj.__doc__ or "")
    assert ">>>" in doc, f"{module_name}.{name}: the docstring has no runnable example (>>>)"
    assert states_what_it_computes(doc), (
        f"{module_name}.{name}: the docstring has neither `.. math::` (here or in the function it refers to) "
        "nor a summary that says what it computes"
    )


def public_classes() -> list[tuple[str, str]]:
    return [
        (module_name, name)
        for module_name, name in public_names()
        if inspect.isclass(getattr(importlib.import_module(module_name), name))
    ]


@pytest.mark.parametrize(("module_name", "name"), public_classes())
def test_public_methods_have_entries_and_own_docstrings(api_entries: set[str], module_name: str, name: str) -> None:
    cls = getattr(importlib.import_module(module_name), name)
    documented_as = entry_candidates(module_name, name) & api_entries
    for method_name, method in own_methods(cls).items():
        assert inspect.getdoc(method), f"{name}.{method_name} has no docstring of its own"
        entries = {f"{entry}.{method_name}" for entry in documented_as}
        assert entries & api_entries, f"{name}.{method_name} has no API entry (looked for {sorted(entries)})"


def load_offline_check() -> types.ModuleType:
    """docs/tools/check_offline.py, the no-remote-assets check of ``make docs``."""
    spec = importlib.util.spec_from_file_location("check_offline", DOCS / "tools" / "check_offline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_offline_check_finds_remote_assets_only(tmp_path: Path) -> None:
    check = load_offline_check()
    (tmp_path / "_static").mkdir()
    (tmp_path / "page.html").write_text(
        '<script src="_static/mathjax/tex-svg.js"></script><a href="https://pytorch.org/docs/">torch</a>'
        '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>'
        '<link rel="stylesheet" href="//fonts.example.org/a.css"><img src="_static/f.png">'
    )
    (tmp_path / "_static" / "theme.css").write_text("a { } @font-face { src: url('https://x.org/f.woff2') }")
    problems = check.remote_assets(tmp_path)
    assert len(problems) == 3
    assert any("cdn.jsdelivr.net" in problem for problem in problems)
    assert any("//fonts.example.org" in problem for problem in problems)
    assert any(problem.startswith("_static/theme.css") for problem in problems)
    assert check.main([str(tmp_path)]) == 1
    (tmp_path / "page.html").write_text('<script src="_static/mathjax/tex-svg.js"></script>')
    (tmp_path / "_static" / "theme.css").write_text("a { background: url('../img/x.png') }")
    assert check.remote_assets(tmp_path) == [] and check.main([str(tmp_path)]) == 0
