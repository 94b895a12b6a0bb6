"""The JupyterLite site: the course in a browser tab, nothing to install. It is built as
`python3 run.py site` builds it for publishing, in lite/ beside the static pages (conftest's
course_site, shared with test_site.py).

What is checked here, offline: the build holds every notebook and the package's wheel in the
site's own package index; the site, served by a plain static HTTP server, opens in Chromium, lists
every notebook and opens each one, with no pop-up about Jupyter news; where Pyodide cannot be
downloaded, a notice says so and links to the notebook's static page; the wheel installs and
imports in a plain virtual environment with no graphviz `dot` on PATH. Not checked: running a
notebook in the browser, because the Pyodide kernel downloads Pyodide, numpy and matplotlib from
the internet when it starts, which this machine cannot reach (the README says so)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(course_site) -> Path:
    return course_site / "lite"


def site_wheel(site: Path) -> tuple[Path, dict]:
    index = json.loads((site / "pypi" / "all.json").read_text())
    [(version, [release])] = index["compgraph"]["releases"].items()
    return site / "pypi" / release["filename"], release


def test_the_site_holds_every_notebook_and_the_front_ends(site):
    assert (site / "lab" / "index.html").is_file() and (site / "index.html").is_file()
    for notebook in NOTEBOOKS:
        copied = site / "files" / notebook.name
        assert copied.is_file(), f"{notebook.name} is not in the site"
        assert json.loads(copied.read_text()) == json.loads(notebook.read_text())
    listing = json.loads((site / "api" / "contents" / "all.json").read_text())
    assert sorted(item["name"] for item in listing["content"] if item["type"] == "notebook") \
        == [notebook.name for notebook in NOTEBOOKS]
    config = json.loads((site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    extensions = {extension["name"] for extension in config["federated_extensions"]}
    # the Python kernel, and the widget front ends that draw ipywidgets and anywidget views
    assert {"@jupyterlite/pyodide-kernel-extension", "@jupyter-widgets/jupyterlab-manager",
            "anywidget"} <= extensions
    kernel = config["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert any(url.startswith("./pypi/all.json") for url in kernel["pipliteUrls"])


def test_the_wheel_in_the_site_index_is_the_whole_package(site):
    wheel, release = site_wheel(site)
    assert wheel.is_file()
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == release["digests"]["sha256"]
    assert wheel.name.endswith("-py3-none-any.whl")  # pure Python: what Pyodide can install
    package_files = sorted(path.relative_to(ROOT).as_posix()
                           for path in (ROOT / "compgraph").rglob("*")
                           if path.is_file() and "__pycache__" not in path.parts)
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = {name for name in archive.namelist() if name.startswith("compgraph/")}
    assert sorted(set(package_files) - in_wheel) == []  # front-end files included


def test_the_wheel_imports_in_a_plain_venv_without_dot(site, tmp_path):
    wheel, _ = site_wheel(site)
    uv = Path(sys.executable).parent / ("uv.exe" if os.name == "nt" else "uv")
    env_dir = tmp_path / "plain"
    subprocess.run([str(uv), "venv", "--no-config", "--quiet", "--python", sys.executable,
                    str(env_dir)], check=True)
    env_bin = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = env_bin / ("python.exe" if os.name == "nt" else "python")
    # The wheel and its dependencies, at the lock's versions (none of the notebook tools).
    subprocess.run([str(uv), "pip", "install", "--no-config", "--quiet", "--python", str(python),
                    "-c", str(ROOT / "requirements.lock"), str(wheel)], check=True)
    script = ("import shutil, compgraph as cg\n"
              "assert shutil.which('dot') is None, shutil.which('dot')\n"
              "x = cg.Input('x')\n"
              "graph = cg.Graph(cg.exp(cg.sin(cg.square(x))))\n"
              "graph.forward(x=0.5)\n"
              "graph.backward()\n"
              "print(cg.__file__)\n"
              "print(round(graph.grad(x), 4))\n")
    done = subprocess.run([str(python), "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, env={"PATH": str(env_bin), "HOME": str(tmp_path),
                                             "SYSTEMROOT": os.environ.get("SYSTEMROOT", "")})
    assert done.returncode == 0, done.stderr
    location, gradient = done.stdout.split()
    assert Path(location).resolve().is_relative_to(env_dir.resolve())  # the wheel, not ROOT
    assert gradient == "1.2409"  # e^{sin x²} · cos x² · 2x at x = 0.5


def test_the_site_lists_and_opens_every_notebook_in_chromium(served):
    chromium = os.environ.get("COMPGRAPH_CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{served}/lite/lab/index.html")
            listing = page.locator(".jp-DirListing-content .jp-DirListing-itemText")
            expect(listing.first).to_be_visible(timeout=60_000)
            names = sorted(listing.all_inner_texts())
            assert names == [notebook.name for notebook in NOTEBOOKS]
            for notebook in NOTEBOOKS:
                cells = len(nbformat.read(notebook, as_version=4).cells)
                page.locator(".jp-DirListing-item", has_text=notebook.name).dblclick()
                tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
                expect(tab).to_contain_text(notebook.name, timeout=60_000)
                panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
                expect(panel.locator(".jp-Cell").first).to_be_visible(timeout=60_000)
                # every cell of the file is in the opened notebook (the status bar counts them)
                expect(page.locator(".jp-StatusBar-Widget", has_text="Cell ")).to_contain_text(
                    f"/{cells}", timeout=30_000)
                first_heading = next(line.lstrip("#").strip() for cell in
                                     nbformat.read(notebook, as_version=4).cells
                                     if cell.cell_type == "markdown"
                                     for line in cell.source.splitlines() if line.startswith("# "))
                words = " ".join(first_heading.split()[:3])
                expect(panel.locator(".jp-RenderedMarkdown h1").first).to_contain_text(words)
            # JupyterLab's "get notified about official Jupyter news?" never covers the lesson
            assert page.get_by_text("Jupyter news").count() == 0
        finally:
            browser.close()


def test_without_pyodide_the_learner_is_told_and_sent_to_the_static_page(served, chromium):
    """Every request that leaves the local server is aborted, as where the CDN that serves
    Pyodide cannot be reached: instead of a kernel that never starts, a notice says why and
    links to the notebook's static page, which works."""
    notebook = NOTEBOOKS[0]
    context = chromium.new_context(viewport={"width": 1200, "height": 800})
    try:
        context.route("**/*", lambda route: route.continue_()
                      if route.request.url.startswith(served + "/") else route.abort())
        page = context.new_page()
        page.goto(f"{served}/lite/lab/index.html?path={notebook.name}")
        notice = page.locator("#cg-offline")
        expect(notice).to_be_visible(timeout=30_000)
        expect(notice).to_contain_text("Python cannot start here")
        expect(notice).to_contain_text("cdn.jsdelivr.net")
        notice.get_by_role("link", name="the course's web pages").click()
        page.wait_for_url(f"{served}/{notebook.stem}.html")
        expect(page.locator(".cg-live .cg-widget").first).to_be_visible(timeout=30_000)
    finally:
        context.close()


def test_every_app_page_of_the_site_carries_the_notice(site):
    # the app pages (the site's root index.html only sends the browser on to lab/)
    pages = [page for page in sorted(site.rglob("index.html"))
             if 'id="jupyter-config-data"' in (text := page.read_text(encoding="utf-8"))
             and "</body>" in text]
    assert {page.parent.name for page in pages} >= {"lab", "notebooks", "tree"}
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert 'const PYODIDE_URL = "https://' in text and "__PAGES__" not in text, page
        assert 'const PAGES = "../../"' in text, page  # from lite/<app>/ up to the pages


def test_no_news_prompt_in_any_jupyterlab_we_configure(site):
    """JupyterLab's news prompt is off in the settings run.py lab and Binder install
    (binder/overrides.json) and in the JupyterLite site (lite/overrides.json, in the build)."""
    news = {"fetchNews": "false", "checkForUpdates": False}
    for path in (ROOT / "binder" / "overrides.json", ROOT / "lite" / "overrides.json",
                 site / "overrides.json"):
        settings = json.loads(path.read_text())
        assert settings["@jupyterlab/apputils-extension:notification"] == news, path
    run_py = (ROOT / "run.py").read_text()
    assert 'LAB_SETTINGS = ROOT / "binder" / "overrides.json"' in run_py


def test_the_pages_workflow_publishes_what_run_py_builds():
    import yaml
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    assert any(step.get("run") == "python3 run.py site" for step in steps)
    [upload] = [step for step in steps if "upload-pages-artifact" in step.get("uses", "")]
    assert upload["with"]["path"] == "build/site"
    run_py = (ROOT / "run.py").read_text()
    assert 'SITE_OUTPUT = ROOT / "build" / "site"' in run_py
