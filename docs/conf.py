"""Sphinx configuration of the litestar-jwtsession documentation (built by ``make docs``)."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # document the working tree, installed or not

project = "litestar-jwtsession"
author = "litestar-jwtsession developers"
copyright = "litestar-jwtsession developers"
try:
    release = version("litestar-jwtsession")
except PackageNotFoundError:  # pragma: no cover - building from a bare checkout
    from litestar_jwtsession import __version__ as release
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_class_signature = "mixed"
autodoc_default_options: dict[str, object] = {}
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "furo"
html_title = f"litestar-jwtsession {release}"
html_static_path: list[str] = []

# Classes whose keyword options are documented field by field below the class: a one-line
# signature instead of the full dataclass __init__.
_OPTION_CLASSES = {
    "litestar_jwtsession.JWSSessionConfig": "(key, **options)",
    "litestar_jwtsession.JWESessionConfig": "(key, **options)",
    "litestar_jwtsession.session.config.SessionConfig": "(key, **options)",
    "litestar_jwtsession.CookieOptions": "(**options)",
    "litestar_jwtsession.HookEvent": "(connection, config, **attributes)",
    "litestar_jwtsession.SessionSnapshot": "(id, created_at, expires_at, data={}, token=None)",
}


def _short_signature(app, what, name, obj, options, signature, return_annotation):  # type: ignore[no-untyped-def]
    if what == "class" and name in _OPTION_CLASSES:
        return _OPTION_CLASSES[name], None
    return None


def setup(app):  # type: ignore[no-untyped-def]
    from sphinx.ext.napoleon import _process_docstring

    # Napoleon reads the first "word: text" of an attribute docstring as its type, which mangles
    # the library's prose field docstrings ("Lifetime: seconds, ..."). Only run it on the rest.
    listeners = getattr(app.events, "listeners", {}).get("autodoc-process-docstring", [])
    for listener in list(listeners):
        if listener.handler is _process_docstring:
            app.disconnect(listener.id)

    def process_docstring(app, what, name, obj, options, lines):  # type: ignore[no-untyped-def]
        if what not in ("attribute", "data", "property"):
            _process_docstring(app, what, name, obj, options, lines)

    app.connect("autodoc-process-docstring", process_docstring)
    app.connect("autodoc-process-signature", _short_signature)
