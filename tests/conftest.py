"""Shared settings for the unit and property tests.

Hypothesis runs derandomized (a fixed seed per test) with no example database, so CI sees the
same examples every run; every property test sets its own max_examples, and deadline is off
because timing on shared CI machines varies.
"""

from __future__ import annotations

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
