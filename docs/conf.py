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
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 7,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
# Guide pages are all at the top level: no section navigation to show beside them. The API
# pages (generated/) keep it: it lists the other functions.
html_sidebars = {"*": []}

# Docstrings write names as \text{fan\_in}: MathJax's textmacros package renders the \_ there.
mathjax3_config = {"loader": {"load": ["[tex]/textmacros"]},
                   "tex": {"packages": {"[+]": ["textmacros"]}}}

# MathJax comes from its CDN; a build for reading offline can point at a local copy: a MathJax 3
# tex-mml-chtml.js (with its input/tex/extensions folder beside it), or, with Debian's
# libjs-mathjax, MathJax 2:
# FASTINIT_DOCS_MATHJAX=file:///usr/share/javascript/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML
if os.environ.get("FASTINIT_DOCS_MATHJAX"):
    mathjax_path = os.environ["FASTINIT_DOCS_MATHJAX"]
    if "MathJax.js" in mathjax_path:
        myst_update_mathjax = False
        mathjax2_config = {"tex2jax": {"inlineMath": [["\\(", "\\)"]],
                                       "displayMath": [["\\[", "\\]"]]}}


def _make_figures(app):
    # Figures are drawn at build time from recorded benchmark numbers (docs/_data).
    import _figures
    _figures.build(os.path.join(app.srcdir, "_generated"))


def setup(app):
    app.connect("builder-inited", _make_figures)
