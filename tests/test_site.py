"""The course as a static website (`python3 run.py site`): every notebook as a page that reads and
steps with nothing running, and no dead link anywhere.

The site is built once per session (conftest.course_site: the pages and the JupyterLite site
beside them, as CI and .github/workflows/pages.yml build it) and served by a plain local web
server; Chromium aborts every request that goes anywhere else. One browser visits every page once
in the light scheme at 1200 px (loads, console, math, every widget stepped by Next, the → key and
its step slider, contrast), again at 800 px (nothing clipped), and once with JavaScript off (every
widget output shows its picture).
Without a browser: every link and asset of every page resolves inside the folder, no link points
at a placeholder repository, the vendored files match their record and the versions the notebooks'
saved widget state needs."""

from __future__ import annotations

import base64
import functools
import html.parser
import http.server
import importlib.util
import json
import re
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import nbformat
import pytest
from lab import path_without_dot
from measure import _SCRIPT as MEASURE_SCRIPT
from measure import GEOMETRY, TEXTS, failing_contrast, summary
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
PAGES = ["index.html", "notation.html", "licenses.html",
         *[path.stem + ".html" for path in NOTEBOOKS]]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# What a placeholder address looks like: none of these may appear in anything we publish.
PLACEHOLDERS = re.compile(r"OWNER/REPO|github\.com/OWNER\b|(?<![<\w-])owner\.github\.io|"
                          r"github\.io/REPO\b")
# builds the JupyterLite site too (conftest.course_site), about a minute: CI runs these
slow = pytest.mark.slow


def live_widgets(notebook: Path) -> int:
    """Widget outputs of the course's own widgets (anywidget): the ones a page draws live."""
    nb = nbformat.read(notebook, as_version=4)
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    return sum(state.get(output.data[WIDGET_VIEW]["model_id"], {}).get("model_module")
               == "anywidget"
               for cell in nb.cells if cell.cell_type == "code"
               for output in cell.outputs if WIDGET_VIEW in output.get("data", {}))


# --- without a browser --------------------------------------------------------------------------

class Links(html.parser.HTMLParser):
    """Every href and src of a page (data: URLs and in-page anchors left out), and the targets
    of rel=prev / rel=next links."""

    def __init__(self, text: str):
        super().__init__()
        self.found: list[str] = []
        self.rel: dict[str, set[str]] = {"prev": set(), "next": set()}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("href", "src"):
            value = attrs.get(name)
            if value and not value.startswith(("data:", "#")):
                self.found.append(value)
        if attrs.get("rel") in self.rel:
            self.rel[attrs["rel"]].add(attrs.get("href"))


@slow
def test_every_link_and_asset_of_every_page_is_there(course_site):
    for name in ("index.html", *(p.stem + ".html" for p in NOTEBOOKS)):
        assert (course_site / name).is_file(), name
    dead, outside = [], []
    for page in sorted(course_site.glob("*.html")):
        for link in Links(page.read_text(encoding="utf-8")).found:
            parts = urllib.parse.urlsplit(link)
            if parts.scheme or parts.netloc:
                outside.append(f"{page.name}: {link}")
                continue
            target = (page.parent / urllib.parse.unquote(parts.path)).resolve()
            if not target.is_file():
                dead.append(f"{page.name}: {link}")
            if parts.query.startswith("path="):  # a notebook opened in JupyterLite
                notebook = course_site / "lite" / "files" / parts.query[len("path="):]
                if not notebook.is_file():
                    dead.append(f"{page.name}: {link} (no such notebook in lite/files)")
    assert dead == [], "links to nothing:\n" + summary(dead)
    # pyproject.toml names no repository: then no page links anywhere outside the site
    assert outside == [], "links out of the site with no repository set:\n" + summary(outside)


@slow
def test_no_placeholder_address_anywhere(course_site):
    published = [*sorted(course_site.glob("*.html")), ROOT / "README.md", *NOTEBOOKS,
                 *sorted((course_site / "lite").rglob("*.ipynb"))]
    found = [f"{path.name}: {match[0]!r}" for path in published
             for match in [PLACEHOLDERS.search(path.read_text(encoding="utf-8"))] if match]
    assert found == [], summary(found)


@slow
def test_each_notebook_has_a_page_in_order_with_previous_and_next(course_site):
    pages = [course_site / (p.stem + ".html") for p in NOTEBOOKS]
    index = (course_site / "index.html").read_text(encoding="utf-8")
    places = [index.find(f'href="{page.name}"') for page in pages]
    assert -1 not in places and places == sorted(places), "the contents list every page, in order"
    for i, page in enumerate(pages):
        text = page.read_text(encoding="utf-8")
        links = Links(text)
        assert links.rel["prev"] == ({pages[i - 1].name} if i else set()), page.name
        assert links.rel["next"] == ({pages[i + 1].name} if i + 1 < len(pages) else set()), \
            page.name
        assert f"lite/lab/index.html?path={NOTEBOOKS[i].name}" in links.found, \
            f"{page.name} does not offer JupyterLite"
        # the notebooks' own link and set-up cells are not part of the page
        assert "compgraph-setup" not in text and "ModuleNotFoundError" not in text


def test_every_widget_in_the_notebooks_can_be_shown_without_a_kernel():
    """What the site's build warns about: a widget whose state was not saved, or one that is not
    the course's own (it needs the kernel) and has no still picture beside it."""
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "tools" / "build_site.py")
    build_site = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_site)
    warnings: list[str] = []
    for path in NOTEBOOKS:
        build_site.prepare_widgets(path.name, nbformat.read(path, as_version=4), warnings)
    assert warnings == []


def test_vendored_files_match_their_record():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "vendor_site.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_vendored_versions_fit_the_notebooks_widget_state():
    """The widget manager and anywidget's front end in web/vendor must load what the notebooks
    saved: anywidget's JavaScript at the version of the Python package in the lock, and only
    modules that html-manager 1.x (the ipywidgets 8 manager) carries."""
    record = json.loads((ROOT / "web" / "vendor" / "VENDOR.json").read_text())["packages"]
    lock = (ROOT / "requirements.lock").read_text()
    pinned = dict(re.findall(r"^([\w-]+)==([\w.]+)", lock, re.M))
    assert record["anywidget"]["version"] == pinned["anywidget"]
    assert pinned["ipywidgets"].startswith("8.")
    assert record["@jupyter-widgets/html-manager"]["version"].startswith("1.")
    modules = set()
    for notebook in NOTEBOOKS:
        saved = nbformat.read(notebook, as_version=4).metadata.get("widgets", {})
        state = saved.get(WIDGET_STATE, {})
        if state:
            assert state["version_major"] == 2, notebook.name
        for model in state.get("state", {}).values():
            modules.add((model["model_module"], model["model_module_version"]))
    loadable = {("@jupyter-widgets/base", "2.0.0"), ("@jupyter-widgets/controls", "2.0.0"),
                ("@jupyter-widgets/output", "1.0.0")}
    major_minor = ".".join(record["anywidget"]["version"].split(".")[:2])
    for module, version in modules:
        if module == "anywidget":
            assert version.lstrip("~^").startswith(major_minor), (module, version)
        else:
            assert (module, version) in loadable, (module, version)


# --- the widgets' still pictures, in the kernel --------------------------------------------------

def test_every_widget_output_carries_its_picture_for_views_without_scripts():
    """One output per widget: the widget view, its still picture as an <img> in text/html (the
    static pages, an untrusted JupyterLab) and as a PNG (views that show no HTML)."""
    import compgraph as cg
    x = cg.Input("x")
    graph = cg.Graph(cg.exp(cg.sin(cg.square(x, name="h"), name="g"), name="f"))
    for widget in (cg.Stepper(graph, x=0.5), cg.PathExplorer(graph, "x", x=0.5),
                   cg.TrainingExplorer(seed=0, lr=1.0, epochs=30)):
        data, _ = widget._repr_mimebundle_()
        assert {WIDGET_VIEW, "text/html", "image/png", "text/plain"} <= set(data), type(widget)
        png = base64.b64decode(data["image/png"])
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) < 120_000, len(png)
        assert "<img " in data["text/html"]


def test_a_widget_is_shown_once_in_a_run_notebook(tmp_path):
    """Executed as the lead executes the notebooks: each cell that shows a widget has one
    output (JupyterLab draws the widget from it, a static view its picture; never both)."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import compgraph as cg\nx = cg.Input('x')\n"
        "graph = cg.Graph(cg.exp(cg.sin(cg.square(x, name='h'), name='g'), name='f'))\n"
        "cg.Stepper(graph, x=0.5)")])
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    [output] = notebook.cells[0].outputs
    assert WIDGET_VIEW in output.data and "image/png" in output.data


# --- in the browser -----------------------------------------------------------------------------

def context(browser, base: str, **options):
    """A browser context that lets through only requests to the local server, and lists the
    others (aborted) and the local ones that failed."""
    ctx = browser.new_context(**options)
    ctx.outside, ctx.failed = [], []

    def route(request_route):
        url = request_route.request.url
        if url.startswith(base + "/"):
            request_route.continue_()
        else:
            ctx.outside.append(url)
            request_route.abort()
    ctx.route("**/*", route)
    return ctx


READY = """() => document.documentElement.dataset.math === 'typeset' &&
  [...document.querySelectorAll('.cg-live')].every(live =>
    live.querySelector('.cg-widget .cg-picture svg'))"""

RAW_MATH = """() => {
  const raw = [];
  for (const el of document.querySelectorAll('.jp-RenderedMarkdown, .cg-math')) {
    const copy = el.cloneNode(true);
    copy.querySelectorAll('.katex, code, pre, script').forEach(n => n.remove());
    const text = copy.textContent;
    for (const m of text.matchAll(/\\$|\\\\\\(|\\\\\\[/g))
      raw.push(text.slice(Math.max(0, m.index - 30), m.index + 30).replace(/\\s+/g, ' '));
  }
  return {raw, errors: [...document.querySelectorAll('.katex-error')].map(e => e.textContent),
          typeset: document.querySelectorAll('.katex').length};
}"""

# Every visible text of the page outside pictures, measured as the notebook tests measure texts.
PAGE_TEXTS = f"() => {{ {MEASURE_SCRIPT}\nreturn htmlTexts(document.body, 'page'); }}"

DRAWING = """w => [...w.querySelectorAll('.cg-picture, .cg-plot')].map(e => e.innerHTML).join('')"""


def changed(page, widget, before: str) -> bool:
    try:
        page.wait_for_function(f"([w, before]) => ({DRAWING})(w) !== before",
                               arg=[widget.element_handle(), before], timeout=5000)
        return True
    except Exception:  # playwright's TimeoutError: the caller says what did not change
        return False


# Move a widget's step slider (a Stepper's, or the TrainingExplorer's epoch slider) to its start.
SLIDE_TO_START = """w => { const s = w.querySelector('input[type=range].cg-slider, input.cg-epoch');
  if (!s) return false;
  s.value = s.min; s.dispatchEvent(new Event('input', {bubbles: true})); return true; }"""


def step_every_widget(page, name: str) -> tuple[int, list[str]]:
    """On every live widget: Next (from the first step if it is shown at its last), the → key
    and the step slider must each change the drawing. Returns (widgets stepped, problems)."""
    problems = []
    widgets = page.locator(".cg-live .cg-widget")
    for i in range(widgets.count()):
        widget = widgets.nth(i)
        widget.scroll_into_view_if_needed()
        where = f"{name} widget {i} ({widget.get_attribute('data-kind')})"
        nxt = widget.locator(".cg-controls button[data-action=next]").first
        if nxt.count() == 0:
            problems.append(f"{where}: no Next button")
            continue
        if nxt.is_disabled():
            widget.locator(".cg-controls button[data-action=first]").first.click()
        before = widget.evaluate(DRAWING)
        nxt.click()
        if not changed(page, widget, before):
            problems.append(f"{where}: Next did not change the drawing")
        before = widget.evaluate(DRAWING)
        widget.focus()
        page.keyboard.press("ArrowRight")
        if not changed(page, widget, before):
            problems.append(f"{where}: the → key did not change the drawing")
        before = widget.evaluate(DRAWING)
        if widget.evaluate(SLIDE_TO_START) and not changed(page, widget, before):
            problems.append(f"{where}: moving the step slider did not change the drawing")
    return widgets.count(), problems


@pytest.fixture(scope="module")
def visited(chromium, served):
    """Every page, loaded once at 1200 px and once at 800 px, with what was seen."""
    ctx = context(chromium, served, viewport={"width": 1200, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    seen = {}
    console: list[str] = []
    page.on("console", lambda m: m.type == "error" and console.append(m.text))
    page.on("pageerror", lambda e: console.append(f"page error: {e}"))
    page.on("response", lambda r: r.status >= 400 and ctx.failed.append(f"{r.status} {r.url}"))
    page.on("requestfailed", lambda r: r.url.startswith(served) and ctx.failed.append(r.url))
    try:
        for name in PAGES:
            console.clear()
            ctx.outside.clear()
            ctx.failed.clear()
            page.set_viewport_size({"width": 1200, "height": 900})
            page.goto(f"{served}/{name}")
            ready = True
            try:
                page.wait_for_function(READY, timeout=30_000)
            except Exception:  # playwright's TimeoutError: reported by the tests
                ready = False
            math = page.evaluate(RAW_MATH)
            texts = page.evaluate(PAGE_TEXTS) + page.evaluate(TEXTS, "main")
            live = page.locator(".cg-live").count()
            stepped, stepping = step_every_widget(page, name)
            page.set_viewport_size({"width": 800, "height": 900})
            page.wait_for_timeout(400)  # widgets refit on resize
            narrow = page.evaluate(GEOMETRY, ["main", True])
            wide_page = page.evaluate("() => [document.scrollingElement.scrollWidth, "
                                      "document.scrollingElement.clientWidth]")
            seen[name] = {"ready": ready, "console": list(console), "outside": list(ctx.outside),
                          "failed": list(ctx.failed), "math": math, "texts": texts, "live": live,
                          "stepped": stepped, "stepping": stepping, "narrow": narrow,
                          "wide_page": wide_page}
        yield seen
    finally:
        ctx.close()


@slow
def test_every_page_loads_from_the_site_alone_without_errors(visited):
    problems = [f"{name}: {what}" for name, seen in visited.items()
                for what in ([f"asked outside the site for {url}" for url in seen["outside"]]
                             + [f"failed to load {url}" for url in seen["failed"]]
                             + [f"console: {text}" for text in seen["console"]]
                             + ([] if seen["ready"] else ["never ready (math typeset, every "
                                                          "widget drawn) in 30 s"]))]
    assert problems == [], summary(problems)


@slow
def test_every_formula_is_typeset(visited):
    problems = [f"{name}: raw {raw!r}" for name, seen in visited.items()
                for raw in seen["math"]["raw"]]
    problems += [f"{name}: KaTeX could not read {error!r}" for name, seen in visited.items()
                 for error in seen["math"]["errors"]]
    assert problems == [], summary(problems)
    for path in NOTEBOOKS:
        assert visited[path.stem + ".html"]["math"]["typeset"] > 0, path.name


@slow
def test_every_widget_steps_in_every_page(visited):
    for path in NOTEBOOKS:
        seen = visited[path.stem + ".html"]
        assert seen["live"] == live_widgets(path), f"{path.name}: widgets drawn live"
        assert seen["stepped"] == seen["live"], f"{path.name}: widgets stepped"
    problems = [p for seen in visited.values() for p in seen["stepping"]]
    assert problems == [], summary(problems)


@slow
def test_text_contrast(visited):
    problems = [f"{name} {line}" for name, seen in visited.items()
                for line in failing_contrast(seen["texts"])]
    assert problems == [], summary(problems)


@slow
def test_nothing_clipped_at_800_px(visited):
    problems = []
    for name, seen in visited.items():
        scroll, client = seen["wide_page"]
        if scroll > client + 1:
            problems.append(f"{name}: the page scrolls sideways ({scroll} > {client} px)")
        for part in seen["narrow"]["widgets"] + seen["narrow"]["pictures"]:
            problems += [f"{name} {part['where']}: {p}" for p in part["problems"]]
    assert problems == [], summary(problems)


@slow
def test_without_javascript_every_widget_output_shows_its_picture(chromium, served):
    ctx = context(chromium, served, viewport={"width": 1200, "height": 900},
                  java_script_enabled=False)
    try:
        page = ctx.new_page()
        problems = []
        for path in NOTEBOOKS:
            page.goto(f"{served}/{path.stem}.html")
            outputs = page.locator(".cg-output")
            if outputs.count() != live_widgets(path):
                problems.append(f"{path.name}: {outputs.count()} widget outputs, "
                                f"{live_widgets(path)} widgets")
            for i in range(outputs.count()):
                image = outputs.nth(i).locator(".cg-still img").first
                if image.count() == 0 or not image.is_visible():
                    problems.append(f"{path.name} widget output {i}: no picture shown")
                elif not image.evaluate("img => img.complete && img.naturalWidth > 0"):
                    problems.append(f"{path.name} widget output {i}: its picture did not load")
        assert ctx.outside == [], ctx.outside
        assert problems == [], summary(problems)
    finally:
        ctx.close()


@slow
def test_a_widget_saved_where_dot_was_missing_draws_and_steps_in_its_page(tmp_path, chromium,
                                                                          monkeypatch):
    """A notebook run by a kernel without graphviz's `dot` saves scenes with no SVG: the page lays
    the graph out itself with the WebAssembly graphviz the site carries (assets/viz.js)."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 1 · Drawn in the browser\n\nThe chain $f = e^{g}$."),
        nbformat.v4.new_code_cell(
            "import shutil\nassert shutil.which('dot') is None\nimport compgraph as cg\n"
            "x = cg.Input('x')\n"
            "graph = cg.Graph(cg.exp(cg.sin(cg.square(x, name='h'), name='g'), name='f'))\n"
            "cg.Stepper(graph, x=0.5)")])
    monkeypatch.setenv("PATH", path_without_dot(tmp_path / "no-dot"))
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    nbformat.write(notebook, folder / "01_drawn.ipynb")
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "tools" / "build_site.py")
    build_site = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_site)
    site = tmp_path / "site"
    build_site.build(site, folder=folder)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    ctx = context(chromium, base, viewport={"width": 1200, "height": 900})
    try:
        page = ctx.new_page()
        errors = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.goto(f"{base}/01_drawn.html")
        page.wait_for_function(READY, timeout=30_000)
        stepped, problems = step_every_widget(page, "01_drawn")
        assert (stepped, problems, errors, ctx.outside) == (1, [], [], [])
    finally:
        ctx.close()
        server.shutdown()
        server.server_close()
