"""Headless Chromium for the tests marked ``browser`` (tests/ is on sys.path under pytest).

Debian's ``chromium`` (``apt-get install chromium``; ``.ci/run`` installs it) driven by the Python
``playwright`` package; Playwright's own browser download is never used. The flags keep Chromium
off the network: on a closed network its background connections otherwise fail at every start.
"""

import contextlib
import functools
import http.server
import os
import shutil
import tempfile
import threading

import pytest

CHROMIUM = os.environ.get("DIFFCOURSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_browser():
    """Skip the test, saying what is missing, unless Chromium and playwright are installed."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(
            f"browser test: no Chromium at {CHROMIUM} (apt-get install chromium, "
            "or set DIFFCOURSE_CHROMIUM)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("browser test: the playwright package is not installed (requirements.txt)")


@contextlib.contextmanager
def chromium():
    """A Playwright ``BrowserContext`` on Debian's Chromium with a fresh profile, closed on exit."""
    require_browser()
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="diffcourse-chromium-")
    try:
        with sync_playwright() as pw:
            # Playwright passes the profile as --user-data-dir (it refuses that flag in args)
            context = pw.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 900},
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@contextlib.contextmanager
def serve(directory):
    """Serve ``directory`` over HTTP on 127.0.0.1 and a free port; yield the base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
