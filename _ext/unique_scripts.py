"""Drop repeated ``<script>`` tags from the book's pages.

sphinx-thebe (which Jupyter Book always loads) registers its inline configuration script,
``const THEBE_JS_URL = ...``, once more after the HTML builder has started; Sphinx 7 then lists
it twice (once with the file name ``None``, once with ``''``), and the second copy throws
"Identifier 'THEBE_JS_URL' has already been declared" in every page. Keeping the first of the
scripts that load the same file, or run the same code, removes the error and nothing else.
"""


def script_key(script):
    """What makes two script entries the same: the file (``None`` and ``''`` alike) and the attributes."""
    return script.filename or "", tuple(sorted(script.attributes.items()))


def drop_repeated_scripts(app, pagename, templatename, context, doctree):
    """Keep the first of the entries of ``script_files`` that have the same :func:`script_key`."""
    if "script_files" in context:
        first = {}
        for script in context["script_files"]:
            first.setdefault(script_key(script), script)
        context["script_files"] = list(first.values())


def setup(app):
    app.connect("html-page-context", drop_repeated_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
