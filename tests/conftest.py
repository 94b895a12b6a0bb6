"""Shared settings for the unit and property tests.

Hypothesis runs derandomized (a fixed seed per test) with no example database, so CI sees the
same examples every run; every property test sets its own max_examples, and deadline is off
because timing on shared CI machines varies.
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import GRAPH_FEATURES, GRAPHS_CHECKED
from hypothesis import HealthCheck, settings
from lab import launch, serve
from playwright.sync_api import sync_playwright

settings.register_profile(
    "compgraph",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("compgraph")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if SITE_BUILD:
        terminalreporter.write_line(f"python3 run.py site: {SITE_BUILD['seconds']:.0f} s, "
                                    f"{SITE_BUILD['bytes'] / 1e6:.0f} MB")
    total = sum(GRAPHS_CHECKED.values())
    if total:
        parts = ", ".join(f"{name}: {n}" for name, n in sorted(GRAPHS_CHECKED.items()))
        terminalreporter.write_line(f"generated graphs checked: {total} ({parts})")
        if GRAPH_FEATURES:
            features = ", ".join(f"{k}: {n}" for k, n in sorted(GRAPH_FEATURES.items()))
            terminalreporter.write_line(f"  of which {features}")


# The browser tests' Chromium and JupyterLab server: one of each per test module.
@pytest.fixture(scope="module")
def chromium():
    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    yield from serve(tmp_path_factory.mktemp("browser"), "lab", hide_dot=True)


# The course's website, built once per session as CI and .github/workflows/pages.yml build it
# (`python3 run.py site`: the static pages, and the JupyterLite site in lite/), for
# test_site.py and test_jupyterlite.py. COMPGRAPH_SITE=<folder> checks a site built before
# instead (quicker while working on the pages; CI always builds).
SITE_BUILD: dict = {}


@pytest.fixture(scope="session")
def course_site(tmp_path_factory) -> Path:
    if os.environ.get("COMPGRAPH_SITE"):
        return Path(os.environ["COMPGRAPH_SITE"]).resolve()
    output = tmp_path_factory.mktemp("site") / "site"
    root = Path(__file__).resolve().parent.parent
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(root / "run.py"), "site", str(output)],
                          capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    SITE_BUILD.update(seconds=time.monotonic() - started, bytes=sum(
        p.stat().st_size for p in output.rglob("*") if p.is_file()))
    return output


@pytest.fixture(scope="session")
def served(course_site):
    """The whole built site (the static pages, and JupyterLite in lite/) from a local server."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Quiet, directory=str(course_site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
