"""What the browser tests share: Debian's Chromium driven by Playwright, offline, and a local server.

The tests use the machine's own Chromium (``/usr/bin/chromium``, Debian's package ``chromium``;
``make setup-browser`` installs it), never a browser that Playwright downloads. Every request
that leaves localhost is aborted and recorded, so a page that needs the network fails its test
instead of passing on a machine that happens to be online.
"""
import functools
import http.server
import os
import shutil
import socket
import threading
from contextlib import contextmanager
from urllib.parse import urlparse

import pytest

CHROMIUM = os.environ.get("DGM_CHROMIUM", "/usr/bin/chromium")
# Chromium's flags on a headless machine with no network (Playwright adds --headless and a fresh,
# temporary --user-data-dir itself); without the background-networking ones Chromium keeps trying
# to reach Google's services.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def chromium_path():
    """The Chromium executable, or a test failure that says how to install it."""
    path = CHROMIUM if os.path.isabs(CHROMIUM) else shutil.which(CHROMIUM)
    if not path or not os.access(path, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's package `chromium` "
                    "(`make setup-browser` does it as root), or set DGM_CHROMIUM to a Chromium executable")
    return path


def free_port():
    """A TCP port on localhost that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_directory(directory):
    """Serve ``directory`` over HTTP on a free localhost port; yields the base URL."""
    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def is_local(url):
    """Whether a request stays on this machine (localhost, or data embedded in the page)."""
    parsed = urlparse(url)
    return parsed.scheme in {"data", "blob", "about"} or parsed.hostname in LOCAL_HOSTS


@contextmanager
def offline_browser():
    """Yield a headless Chromium (Playwright's sync API); open pages in it with :func:`new_context`."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser, blocked, **kwargs):
    """A browser context (1280×900 unless told) that aborts every non-local request, noting it in ``blocked``."""
    kwargs.setdefault("viewport", {"width": 1280, "height": 900})
    context = browser.new_context(**kwargs)

    def route(route):
        if is_local(route.request.url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    return context


class PageProblems:
    """Collects what goes wrong while a page is open: JavaScript errors, console errors and failed requests."""

    def __init__(self, page):
        self.errors = []
        page.on("pageerror", lambda exc: self.errors.append(f"JavaScript error: {exc}"))
        page.on("console", self._console)
        page.on("requestfailed", lambda req: self.errors.append(
            f"request failed: {req.url} ({req.failure})"))
        page.on("response", self._response)

    def _console(self, message):
        if message.type == "error":
            self.errors.append(f"console error: {message.text}")

    def _response(self, response):
        if response.status >= 400:
            self.errors.append(f"HTTP {response.status}: {response.url}")
