"""A real browser: JupyterLab on localhost, driven by Playwright in Debian's Chromium. A notebook
with a Stepper is run, its buttons are pressed, and the drawn SVG and the explanation are checked
after every press against a trace computed here, in the test process.

No skip: if JupyterLab or Chromium cannot start, this test fails and says why."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from pictures import CHAIN_INPUTS, chain_rule_graph
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
SCREENSHOT = ARTIFACTS / "stepper.png"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
NOTEBOOK = "NB.ipynb"
# The notebook builds the same graph as pictures.chain_rule_graph(), so the trace computed in this
# process says what the widget must show.
CELLS = [
    "import compgraph as cg",
    'x = cg.Input("x")\nh = cg.square(x, name="h")\ng = cg.sin(h, name="g")\n'
    'graph = cg.Graph(cg.exp(g, name="f"))',
    "cg.Stepper(graph, x=0.5)",
]
# Settings for a clean, offline JupyterLab: no "would you like news?" pop-up (it would also try the
# network), and a notebook with a known kernelspec starts it without asking.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings":
        {"autoStartDefaultKernel": True},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server of our own, in a temporary root directory."""

    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.log_path = root.parent / "jupyterlab.log"
        home = root.parent / "jupyter-home"  # config, settings, workspaces: none of the user's
        for name, content in LAB_SETTINGS.items():
            path = home / "settings" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(content))
        self.env = {**os.environ,
                    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                                os.environ.get("PYTHONPATH")])),
                    "JUPYTER_CONFIG_DIR": str(home / "config"),
                    "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
                    "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
                    "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
                    "IPYTHONDIR": str(home / "ipython")}
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={self.port}",
                   f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
                   "--ServerApp.open_browser=False"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # containers run tests as root; jupyter refuses else
        self.log = open(self.log_path, "w")  # closed in stop()
        # A session of its own, so that stop() can end the server and its kernels together.
        self.process = subprocess.Popen(command, env=self.env, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 45
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"JupyterLab exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                status = self.api("status")
                if "started" in status:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer /api/status in 45 s:\n{self.log_tail()}")
            time.sleep(0.2)

    def api(self, path: str):
        request = urllib.request.Request(f"{self.base}/api/{path}",
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=2) as response:
            return json.loads(response.read())

    def wait_for_idle_kernel(self, timeout: float = 30) -> None:
        """The kernel has started and a browser is connected to it. (The notebook's own busy/idle
        indicator says "idle" before the kernel has even started; running cells that early can
        lose the session.)"""
        deadline = time.monotonic() + timeout
        kernels: object = None
        while time.monotonic() < deadline:
            try:
                kernels = self.api("kernels")
            except OSError as e:  # the server can answer 5xx while a kernel is still starting
                kernels = e
            else:
                if kernels and all(k["execution_state"] == "idle" and k["connections"] > 0
                                   for k in kernels):
                    return
            time.sleep(0.1)
        pytest.fail(f"no idle, connected kernel after {timeout} s: {kernels}\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()  # jupyter shuts its kernels down on SIGTERM
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # the group we started, only
                self.process.wait(5)
        self.log.close()


@pytest.fixture
def lab(tmp_path):
    root = tmp_path / "lab-root"
    root.mkdir()
    server = Lab(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nbformat.write(nb, path)


# JavaScript run in the page: where each node of the widget's SVG is on the screen.
NODE_CENTRES = """svg => Object.fromEntries([...svg.querySelectorAll('g.node')].map(g => {
    const r = g.querySelector('ellipse, path, polygon').getBoundingClientRect();
    return [g.querySelector('title').textContent,
            [Math.round(2 * (r.x + r.width / 2)) / 2, Math.round(2 * (r.y + r.height / 2)) / 2]];
}))"""


def test_stepper_in_jupyterlab(lab):
    started = time.monotonic()
    write_notebook(lab.root / NOTEBOOK)
    expected = chain_rule_graph().trace(**CHAIN_INPUTS)
    kinds = [s.kind for s in expected]
    positions = [f"{k} {kinds[:i + 1].count(k)}/{kinds.count(k)}" for i, k in enumerate(kinds)]

    problems: list[str] = []  # every console error and uncaught page error, none filtered
    chromium = os.environ.get("COMPGRAPH_CHROMIUM") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.on("console", lambda m: m.type == "error" and problems.append(
                f"console.error: {m.text} ({m.location.get('url', '')})"))
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.set_default_timeout(30_000)

            page.goto(f"{lab.base}/lab/tree/{NOTEBOOK}?reset&token={lab.token}")
            page.locator(".jp-NotebookPanel").wait_for()
            lab.wait_for_idle_kernel()
            expect(page.locator(".jp-Notebook-ExecutionIndicator")).to_have_attribute(
                "data-status", "idle")

            # Run → Run All Cells, from the menu bar as a learner would.
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()

            widget = page.locator(".jp-OutputArea-output .widget-vbox").first
            picture = widget.locator(".cg-picture .widget-html-content")
            svg = picture.locator("svg")
            svg.wait_for()
            explanation = widget.locator(".cg-explanation .widget-html-content")
            position = widget.locator("div.widget-label")
            expect(explanation).to_have_text(expected[0].text, use_inner_text=True)
            expect(position).to_have_text(positions[0])
            next_button = widget.locator('button[title="Next step"]')
            previous_button = widget.locator('button[title="Previous step"]')
            for title in ("First step", "Previous step", "Next step", "Last step"):
                expect(widget.locator(f'button[title="{title}"]')).to_have_count(1)

            seen = [svg.inner_html()]
            layout = svg.evaluate(NODE_CENTRES)
            assert len(layout) == 4
            assert "f = e^g" in " ".join(svg.text_content().split())

            def press(button, step: int) -> str:
                before = svg.inner_html()
                button.click()
                # The HTML widget replaces its content: wait on the container, then read the svg.
                page.wait_for_function(
                    "([box, before]) => box.querySelector('svg')?.innerHTML !== before",
                    arg=[picture.element_handle(), before])
                # innerText turns the explanation's <br> into line breaks (textContent would not)
                expect(explanation).to_have_text(expected[step].text, use_inner_text=True)
                assert explanation.inner_text().strip() == expected[step].text
                expect(position).to_have_text(positions[step])
                drawn = svg.inner_html()
                assert drawn != before
                assert svg.evaluate(NODE_CENTRES) == layout, f"step {step}: a node moved"
                return drawn

            steps = 5  # the four forward steps, the seed ∂f/∂f = 1, and the edge into g
            for step in range(1, steps + 1):
                drawn = press(next_button, step)
                assert drawn not in seen, f"step {step} drew an earlier picture again"
                seen.append(drawn)
            assert "∂f/∂g = 1.281" in svg.text_content()

            drawn = press(previous_button, steps - 1)
            assert drawn == seen[steps - 1], "previous shows exactly the earlier picture"
            assert "∂f/∂f = 1" in svg.text_content() and "∂f/∂g" not in svg.text_content()

            ARTIFACTS.mkdir(exist_ok=True)
            widget.scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOT))
        finally:
            browser.close()

    assert SCREENSHOT.stat().st_size > 10_000
    assert problems == [], "the browser console reported errors:\n" + "\n".join(problems)
    print(f"\n[browser] done in {time.monotonic() - started:.1f} s; screenshot {SCREENSHOT}")
