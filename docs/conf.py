"""Sphinx configuration of the fastinit documentation."""

import os
import sys

# fastinit.keras imports keras, which needs a backend; tensorflow is not a dependency.
os.environ.setdefault("KERAS_BACKEND", "jax")

sys.path.insert(0, os.path.abspath("."))  # docs/_figures.py

import fastinit  # noqa: E402  (the installed, compiled package)

project = "fastinit"
author = "fastinit developers"
copyright = "fastinit developers"
release = fastinit.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.napoleon",
    "numpydoc",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_data", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

autosummary_generate = True
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# fastinit.torch mirrors torch.nn.init, docstrings included: those use Google-style "Args:".
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "pydata_sphinx_theme"
html_title = f"fastinit {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"changelog": [], "index": []}


def _make_figures(app):
    # Figures are drawn at build time from recorded benchmark numbers (docs/_data).
    import _figures
    _figures.build(os.path.join(app.srcdir, "_generated"))


def setup(app):
    app.connect("builder-inited", _make_figures)
