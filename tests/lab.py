"""The harness of the real-browser tests: a Jupyter server of our own (JupyterLab or Notebook 7)
and Debian's Chromium driven by Playwright.

Each server gets its own home (config, runtime, settings, workspaces and a Jupyter data directory,
so the trust database starts empty and no setting of the user's leaks in), a free port, a random
token, offline settings, and a kernelspec of its own whose PATH can hide graphviz's `dot`. It is
killed, kernels included, on teardown. No skip: a server or browser that cannot start fails the
test and says why."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("COMPGRAPH_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
# Settings for a clean, offline JupyterLab: no "would you like news?" pop-up (it would also try the
# network); a notebook with a known kernelspec starts it without asking; every cell is rendered,
# not only those near the viewport, so that every output can be measured.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings":
        {"autoStartDefaultKernel": True, "windowingMode": "none"},
}
GRAPHVIZ_PROGRAMS = ("dot", "neato", "fdp", "sfdp", "twopi", "circo", "osage", "patchwork")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def path_without_dot(shadow: Path) -> str:
    """This process's PATH with every directory that holds graphviz's programs replaced by a
    directory of symlinks to everything else in it: the kernel sees python, pip, ... but no dot."""
    parts = []
    for i, entry in enumerate(os.environ.get("PATH", "").split(os.pathsep)):
        folder = Path(entry)
        if not any((folder / p).exists() for p in GRAPHVIZ_PROGRAMS):
            parts.append(entry)
            continue
        copy = shadow / f"{i}-{folder.name}"
        copy.mkdir(parents=True, exist_ok=True)
        for item in folder.iterdir():
            if item.name not in GRAPHVIZ_PROGRAMS:
                target = copy / item.name
                if not target.exists():
                    target.symlink_to(item)
        parts.append(str(copy))
    # The venv's bin first, as an activated venv would have it.
    return os.pathsep.join([str(Path(sys.executable).parent), *parts])


class Server:
    """A Jupyter server (app "lab" or "notebook") in `root`, configured under `home`."""

    def __init__(self, root: Path, home: Path, *, app: str = "lab", hide_dot: bool = False,
                 settings: dict | None = None):
        self.root, self.home, self.app = root, home, app
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.log_path = home / f"jupyter-{app}.log"
        for name, content in {**LAB_SETTINGS, **(settings or {})}.items():
            path = home / "settings" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(content))
        self.data_dir = home / "data"  # the trust database (nbsignatures.db) lives here
        self.kernel_path = (path_without_dot(home / "no-dot-bin") if hide_dot
                            else os.environ.get("PATH", ""))
        self.hide_dot = hide_dot
        # Our own "python3" kernelspec: found before ipykernel's own, runs this Python, with the
        # PATH chosen above.
        spec_dir = self.data_dir / "kernels" / "python3"
        spec_dir.mkdir(parents=True, exist_ok=True)
        (spec_dir / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": KERNELSPEC["display_name"], "language": "python",
            "env": {"PATH": self.kernel_path}}))
        self.env = {**os.environ,
                    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                                os.environ.get("PYTHONPATH")])),
                    "JUPYTER_CONFIG_DIR": str(home / "config"),
                    "JUPYTER_DATA_DIR": str(self.data_dir),
                    # In a venv jupyter looks in the venv's share/ before the data dir, and would
                    # start ipykernel's own python3 instead of ours.
                    "JUPYTER_PREFER_ENV_PATH": "0",
                    "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
                    "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
                    "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
                    "IPYTHONDIR": str(home / "ipython")}
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, notebook: str, reset: bool = True) -> str:
        where = "lab/tree" if self.app == "lab" else "notebooks"
        return f"{self.base}/{where}/{notebook}?{'reset&' if reset else ''}token={self.token}"

    def start(self) -> Server:
        command = [sys.executable, "-m", "jupyter", self.app, "--no-browser",
                   f"--port={self.port}", f"--IdentityProvider.token={self.token}",
                   f"--ServerApp.root_dir={self.root}", "--ServerApp.open_browser=False",
                   # window.jupyterapp: the tests run JupyterLab's own commands (theme, run all)
                   "--LabApp.expose_app_in_browser=True"
                   if self.app == "lab" else "--JupyterNotebookApp.expose_app_in_browser=True"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # containers run tests as root; jupyter refuses else
        self.log = open(self.log_path, "w")  # closed in stop()
        # A session of its own, so that stop() can end the server and its kernels together.
        self.process = subprocess.Popen(command, env=self.env, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"jupyter {self.app} exited with {self.process.returncode}:\n"
                            f"{self.log_tail()}")
            try:
                if "started" in self.api("status"):
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter {self.app} did not answer /api/status in 60 s:\n"
                            f"{self.log_tail()}")
            time.sleep(0.2)

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.base}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            body = response.read()
            return json.loads(body) if body else None

    def wait_for_idle_kernel(self, timeout: float = 60) -> None:
        """A kernel has started, is idle, and a browser is connected to it. (The notebook's own
        busy/idle indicator says "idle" before the kernel has even started; running cells that
        early can lose the session.)"""
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

    def shutdown_kernels(self) -> None:
        for kernel in self.api("kernels"):
            self.api(f"kernels/{kernel['id']}", method="DELETE")
        for session in self.api("sessions"):
            self.api(f"sessions/{session['id']}", method="DELETE")

    def trust(self, notebook: Path) -> None:
        """Sign a notebook in this server's trust database, as running it in the browser would."""
        subprocess.run([sys.executable, "-m", "jupyter", "trust", str(notebook)], env=self.env,
                       check=True, capture_output=True)

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


def serve(tmp: Path, name: str, **options) -> Iterator[Server]:
    """Start a server in tmp/name; for `yield from` in a fixture."""
    root, home = tmp / name / "root", tmp / name / "home"
    root.mkdir(parents=True)
    home.mkdir(parents=True)
    server = Server(root, home, **options)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def launch(playwright):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set "
                    "COMPGRAPH_CHROMIUM)")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)


class Console:
    """Every console error and uncaught page error of a page, in order. `ignore` lists
    (pattern, reason) pairs: a message matching a pattern is kept apart in `ignored`, with its
    reason, and reported by the test rather than silently dropped."""

    def __init__(self, page, ignore: tuple[tuple[str, str], ...] = ()):
        self.errors: list[str] = []
        self.ignored: list[str] = []
        self.ignore = ignore
        page.on("console", lambda m: m.type == "error" and self._add(
            f"console.error: {m.text} ({m.location.get('url', '')})"))
        page.on("pageerror", lambda e: self._add(
            f"page error: {e} | {' / '.join((e.stack or '').splitlines()[1:3]).strip()}"))

    def _add(self, message: str) -> None:
        for pattern, reason in self.ignore:
            if re.search(pattern, message):
                self.ignored.append(f"{message}  [ignored: {reason}]")
                return
        self.errors.append(message)


def copy_notebook(source: Path, root: Path, strip_outputs: bool = False) -> str:
    nb = nbformat.read(source, as_version=4)
    if strip_outputs:
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nbformat.write(nb, root / source.name)
    return source.name


def open_notebook(page, server: Server, name: str, *, kernel: bool = True) -> None:
    page.goto(server.url(name))
    page.locator(".jp-NotebookPanel").first.wait_for()
    if kernel:
        server.wait_for_idle_kernel()


def run_all(page, server: Server, timeout: float = 180) -> None:
    """Run → Run All Cells from the menu bar, then wait until no cell is queued or running and
    the kernel is idle. (A cell that raises stops the run: the cells after it stay unnumbered.)"""
    if server.app == "lab":
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    else:
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    prompts = "[...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]" \
              ".map(p => p.textContent.trim())"
    page.wait_for_function(f"() => {prompts}.some(p => p === '[*]:' || /\\d/.test(p))",
                           timeout=30_000)
    deadline = time.monotonic() + timeout
    quiet_since = None
    while time.monotonic() < deadline:
        busy = page.evaluate(f"() => {prompts}.some(p => p === '[*]:')") or any(
            k["execution_state"] != "idle" for k in server.api("kernels"))
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 0.5:
            return
        time.sleep(0.2)
    pytest.fail(f"cells still running {timeout} s after Run All")


def screenshot(page, name: str, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=full_page)
    return path


def dot_visible_to_kernel(server: Server) -> bool:
    return shutil.which("dot", path=server.kernel_path) is not None


# --- things the tests read from and do in a JupyterLab page --------------------------------------

# The outputs of the current notebook, from its model: per cell, [{type, mimes, ename, evalue,
# name, text}] (an empty list for a markdown cell).
MODEL_OUTPUTS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.model.cells, out = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') { out.push([]); continue; }
    out.push(cell.outputs.toJSON().map(o => ({
      type: o.output_type, mimes: Object.keys(o.data || {}), ename: o.ename || '',
      evalue: o.evalue || '', name: o.name || '',
      text: [].concat(o.text || []).join('').slice(0, 300)})));
  }
  return out;
}"""

# Run code in the current notebook's kernel, out of sight of the notebook; its stdout.
KERNEL_PRINT = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  let text = '';
  const future = kernel.requestExecute({code, silent: false, store_history: false});
  future.onIOPub = msg => { if (msg.header.msg_type === 'stream') text += msg.content.text;
                            if (msg.header.msg_type === 'error') text += msg.content.ename; };
  await future.done;
  return text;
}"""


def set_theme(page, theme: str) -> None:
    """'JupyterLab Light' or 'JupyterLab Dark', through JupyterLab's own command."""
    light = "true" if "Light" in theme else "false"
    page.evaluate("t => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})",
                  theme)
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'")
    page.wait_for_timeout(600)  # the theme's stylesheet applies after the attribute changes


def left_area(page, open_: bool) -> None:
    page.evaluate("o => o ? window.jupyterapp.shell.activateById('filebrowser')"
                  " : window.jupyterapp.shell.collapseLeft()", open_)
    page.wait_for_timeout(300)
