"""Serve MathJax from the book itself, so that its equations typeset without a network.

Sphinx loads MathJax from ``mathjax_path`` (set in ``_config.yml``). By default that is a CDN, and a
book read offline shows raw ``\\(\\log Z\\)``. This extension copies MathJax 3 from a Python
package that ships it (``django-static-mathjax``, pinned in ``requirements.txt``; the package is
only a copy of MathJax's npm release ``es5/`` folder, nothing of Django is used) into the built
book's ``_static/mathjax/``, and refuses to build if ``mathjax_path`` points anywhere else.

Only what the configured component can load is copied: the component file itself and MathJax's
sub-folders (TeX extensions, fonts, menu, accessibility), not the other combined components.
"""
import importlib.util
import shutil
from pathlib import Path

from sphinx.errors import ConfigError

STATIC_DIR = "mathjax"  # the folder under the book's _static/
PACKAGE = "django-static-mathjax"  # the PyPI package; its import name is `mathjax`


def mathjax_es5_dir():
    """The folder of MathJax's browser files (``es5/``) inside the installed package."""
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"MathJax is not installed: `pip install {PACKAGE}` (it is in requirements.txt)")
    es5 = Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax" / "es5"
    if not es5.is_dir():
        raise ConfigError(f"{es5} is missing: reinstall {PACKAGE}")
    return es5


def check_config(app, config):
    """Insist on a local ``mathjax_path`` of the form ``mathjax/<component>.js`` that exists."""
    path = config.mathjax_path
    prefix = STATIC_DIR + "/"
    if not path.startswith(prefix) or "://" in path:
        raise ConfigError(f"mathjax_path must be '{prefix}<component>.js' (served from _static/), not {path!r}")
    component = path[len(prefix):]
    if not (mathjax_es5_dir() / component).is_file():
        raise ConfigError(f"mathjax_path {path!r}: MathJax has no component {component!r}")


def copy_mathjax(app, exception):
    """After an HTML build, copy the configured component and MathJax's sub-folders into _static/."""
    if exception is not None or app.builder.format != "html":
        return
    es5 = mathjax_es5_dir()
    target = Path(app.outdir) / "_static" / STATIC_DIR
    component = app.config.mathjax_path[len(STATIC_DIR) + 1:]
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(es5 / component, target / component)
    shutil.copy2(es5.parent / "LICENSE", target / "LICENSE")
    for sub in es5.iterdir():
        if sub.is_dir():
            shutil.copytree(sub, target / sub.name, dirs_exist_ok=True)


def setup(app):
    app.connect("config-inited", check_config)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
