"""Sphinx configuration of the spatialstats documentation.

Build (warnings are errors) and run the doctests, from the repository root::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
    python -m sphinx -W -b doctest docs docs/_build/doctest
"""

from __future__ import annotations

import importlib
import importlib.metadata

project = "spatialstats"
author = "spatialstats developers"
copyright = "2026, spatialstats developers"
try:
    release = importlib.metadata.version("spatialstats")
except importlib.metadata.PackageNotFoundError:  # building from a checkout that is not installed
    release = "0.1.0"
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
    "myst_parser",
]

exclude_patterns = ["_build", "_static/**", "figures/**", "Thumbs.db", ".DS_Store"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
templates_path: list[str] = []

# autodoc: signatures keep their type hints; members in source order; the public namespace only.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True  # defaults as written (``torch.optim.Adam``), not their repr (``<class ...>``)
python_maximum_signature_line_length = 100  # longer signatures list one parameter per line
autodoc_default_options = {"members": True, "show-inheritance": True}


def _public_bases(app, name, obj, options, bases):
    """Show only public bases under "Bases:" (a private base such as ``_OptionsLoss`` is replaced by its own)."""
    public = []
    for base in bases:
        for candidate in base.__mro__ if base.__name__.startswith("_") else (base,):
            if not candidate.__name__.startswith("_") and candidate not in public:
                public.append(candidate)
                break
    bases[:] = [_TORCH_LINKS.get(f"{base.__module__}.{base.__qualname__}", base) for base in public]


# torch classes named in signatures and "Bases:", linked by plain URLs (no intersphinx: no network at build time).
_TORCH_LINKS = {
    "torch.nn.modules.module.Module": "`torch.nn.Module <https://pytorch.org/docs/stable/generated/torch.nn.Module.html>`__",
}


def _public_return(app, what, name, obj, options, signature, return_annotation):
    """A return annotation naming a private class (``from_target -> _StatisticsLoss``) shows the documented class."""
    if return_annotation and "._" in return_annotation and what == "method":
        return signature, name.rsplit(".", 1)[0]
    return None


def _public_modules(name: str) -> list[str]:
    """The public modules on the way to ``name`` (``a.b._c.d`` gives ``a``, ``a.b``), longest first."""
    parts = name.split(".")
    public = []
    for end in range(1, len(parts)):
        if parts[end - 1].startswith("_"):
            break
        public.append(".".join(parts[:end]))
    return public[::-1]


def _resolve_reexport(app, env, node, contnode):
    """Resolve ``spatialstats.pkg.module.name`` to where the name is documented, ``spatialstats.pkg.name``.

    Docstrings may name a function by its defining module; the API pages document it once, under the public
    module that re-exports it in ``__all__``.
    """
    if node.get("refdomain") != "py" or not node.get("reftarget", "").startswith("spatialstats."):
        return None
    target = node["reftarget"]
    module_name, _, attribute = target.rpartition(".")
    domain = env.get_domain("py")
    for candidate in _public_modules(module_name):
        module = importlib.import_module(candidate)
        if attribute in getattr(module, "__all__", ()) and f"{candidate}.{attribute}" in domain.objects:
            node["reftarget"] = f"{candidate}.{attribute}"
            return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], node["reftarget"], node,
                                       contnode)
    return None


def _no_type_docstring(app, what, name, obj, options, lines):
    """A constant (``CENTER_CROP_CUTOFF = 25``) has no docstring of its own: drop the one of its type (``int``)."""
    if what in ("data", "attribute") and lines and type(obj).__doc__ and lines[0] in type(obj).__doc__:
        lines.clear()


def setup(app):
    app.connect("autodoc-process-docstring", _no_type_docstring)
    app.connect("autodoc-process-bases", _public_bases)
    app.connect("autodoc-process-signature", _public_return)
    app.connect("missing-reference", _resolve_reexport)
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

# doctest builder: every ``>>>`` block of the pages and of the docstrings autodoc pulls in.
doctest_global_setup = """
import importlib.util
import warnings
import torch
torch.manual_seed(0)
PYMKS_MISSING = importlib.util.find_spec("pymks") is None  # the migration page's side-by-side examples need it
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
"""

# Strict cross-references: an unresolved one fails the ``-W`` build. Only types of other projects are ignored
# (there is no intersphinx: the build must not touch the network); the pages link to their docs by plain URLs.
nitpicky = True
nitpick_ignore = [
    ("py:class", "torch.Tensor"),
    ("py:class", "Tensor"),
    ("py:class", "torch.nn.Module"),
    ("py:class", "torch.nn.modules.module.Module"),
    ("py:class", "torch.Generator"),
    ("py:class", "torch.dtype"),
    ("py:class", "torch.optim.Optimizer"),
    ("py:class", "torch.optim.optimizer.Optimizer"),
    ("py:class", "torch.device"),
    ("py:class", "numpy.ndarray"),
    ("py:class", "np.ndarray"),
    ("py:class", "collections.abc.Sequence"),
    ("py:class", "collections.abc.Callable"),
    ("py:class", "collections.abc.Iterable"),
    ("py:class", "sklearn.base.BaseEstimator"),
    ("py:class", "sklearn.base.TransformerMixin"),
    ("py:class", "collections.abc.Mapping"),
    ("py:class", "os.PathLike"),
    ("py:class", "torch.nn.Sequential"),
    ("py:class", "torch.nn.modules.container.Sequential"),
    ("py:mod", "torch.nn"),
    ("py:mod", "torch.nn.functional"),
]

# The example READMEs are included below a section of docs/examples.rst without their "# title" line, so their
# "## ..." headings start at H2 on purpose.
suppress_warnings = ["myst.header"]

# Math renders offline: MathJax 3 (SVG output, no font files) is vendored under _static/mathjax.
mathjax_path = "mathjax/tex-svg.js"

html_theme = "furo"
html_title = f"spatialstats {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
