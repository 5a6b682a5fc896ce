"""Sphinx configuration of the spatialstats documentation.

Build (warnings are errors) and run the doctests, from the repository root::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
    python -m sphinx -W -b doctest docs docs/_build/doctest
"""

from __future__ import annotations

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
]

exclude_patterns = ["_build", "_static/bench/*.rst", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []

# autodoc: signatures keep their type hints; members in source order; the public namespace only.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
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

html_theme = "furo"
html_title = f"spatialstats {release}"
html_static_path = ["_static"]
