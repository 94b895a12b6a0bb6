"""Every lesson notebook in a real JupyterLab, as learners meet it.

Run All with graphviz's `dot` hidden from the kernel; every widget stepped; the contrast of every
text in the light and the dark theme; sizes at 1400×900 with the file browser open and at 800 px;
the notebook reopened after the run (trusted); and, on a second server with an empty trust
database, each committed notebook opened before running (untrusted). Screenshots for people go to
artifacts/. One JupyterLab per server kind for the module, one Chromium."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import nbformat
import pytest
from lab import (
    KERNEL_PRINT,
    MODEL_OUTPUTS,
    ROOT,
    Console,
    copy_notebook,
    left_area,
    open_notebook,
    run_all,
    screenshot,
    serve,
    set_theme,
)
from measure import BACKGROUNDS, GEOMETRY, TEXTS, WIDGET_OUTPUTS, failing_contrast, summary

# COMPGRAPH_NOTEBOOKS=<dir> checks other copies, e.g. freshly executed ones before they are
# committed; by default the committed notebooks.
NOTEBOOK_DIR = Path(os.environ.get("COMPGRAPH_NOTEBOOKS") or ROOT / "notebooks")
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
NOTEBOOK_SCOPE = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"
# Console messages that are not this project's: none so far. Each entry: (regex, why it is fine).
IGNORED_CONSOLE: tuple[tuple[str, str], ...] = ()
# What a learner must never see in place of a picture or a widget.
BARE_REPRS = [r"<compgraph\.", r"\b(Stepper|PathExplorer|TrainingExplorer)\(",
              r"\b(VBox|HBox|Button|HTML|IntSlider|Image)\(children=", r"<IPython\.core\.display",
              r"<graphviz\.", r"Error displaying widget", r"model not found"]
STEPPING = ("Stepper", "PathExplorer", "TrainingExplorer")


def shows_stepping_widget(source: str) -> bool:
    """Does the cell end by showing a Stepper, PathExplorer or TrainingExplorer (made there, or
    named after one made there, or display()ed)?"""
    try:
        body = ast.parse(source).body
    except SyntaxError:  # IPython syntax: not one of ours
        return False

    def makes(node) -> bool:
        return isinstance(node, ast.Call) and (
            getattr(node.func, "attr", None) in STEPPING or getattr(node.func, "id", None)
            in STEPPING)

    names = {t.id for stmt in body if isinstance(stmt, ast.Assign) and makes(stmt.value)
             for t in stmt.targets if isinstance(t, ast.Name)}
    if not body or not isinstance(body[-1], ast.Expr):
        return False
    shown = body[-1].value
    if isinstance(shown, ast.Call) and getattr(shown.func, "id", None) == "display" and shown.args:
        shown = shown.args[0]
    return makes(shown) or (isinstance(shown, ast.Name) and shown.id in names)
WIDTH, HEIGHT, NARROW = 1400, 900, 800
MAX_WIDGET_HEIGHT = 850
MIN_TEXT_PX = 10


@pytest.fixture(scope="module")
def fresh_lab(tmp_path_factory):
    """A second server whose trust database has never seen a notebook."""
    yield from serve(tmp_path_factory.mktemp("browser"), "untrusted", hide_dot=True)


class Executed:
    """One notebook, Run All done, its page still open."""

    def __init__(self, source: Path, page, console: Console, outputs: list, dot: str):
        self.name, self.page, self.console, self.outputs, self.dot = (source.name, page, console,
                                                                      outputs, dot)
        committed = nbformat.read(source, as_version=4)
        self.widget_outputs = sum(WIDGET_VIEW in o["mimes"] for cell in outputs for o in cell)
        # Cells that make a stepping widget and show a widget (in the file or after this run): a
        # run that stopped early must not pass for having fewer widgets to check.
        self.steppers = sum(shows_stepping_widget(c.source) for c in committed.cells
                            if c.cell_type == "code")
        self.stem = source.stem

    @property
    def widgets(self):
        return self.page.locator(f"{NOTEBOOK_SCOPE} .cg-widget")


@pytest.fixture(scope="class", params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def executed(request, lab, chromium):
    name = copy_notebook(request.param, lab.root)
    page = chromium.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    page.set_default_timeout(30_000)
    console = Console(page, IGNORED_CONSOLE)
    try:
        open_notebook(page, lab, name)
        left_area(page, True)
        run_all(page, lab)
        page.wait_for_timeout(1500)  # widgets draw after their output arrives
        dot = page.evaluate(KERNEL_PRINT, "import shutil; print(shutil.which('dot'))").strip()
        yield Executed(request.param, page, console, page.evaluate(MODEL_OUTPUTS), dot)
    finally:
        if console.ignored:
            print("\nignored console messages:\n" + "\n".join(console.ignored))
        page.close()
        lab.shutdown_kernels()


def snapshot(widget) -> str:
    """Everything a step can change: the drawing, the plots, the texts."""
    return widget.evaluate("""w => ['.cg-picture', '.cg-plot', '.cg-explanation', '.cg-position']
        .map(s => [...w.querySelectorAll(s)].map(e => e.innerHTML).join('')).join('\\u0001')""")


def wait_changed(page, widget, before: str, timeout: float = 5000) -> bool:
    try:
        page.wait_for_function(
            """([w, before]) => ['.cg-picture', '.cg-plot', '.cg-explanation', '.cg-position']
                .map(s => [...w.querySelectorAll(s)].map(e => e.innerHTML).join(''))
                .join('\\u0001') !== before""",
            arg=[widget.element_handle(), before], timeout=timeout, polling="raf")
        return True
    except Exception:  # playwright's TimeoutError: reported by the caller as "did not change"
        return False


def position(widget) -> str:
    return " ".join(widget.locator(".cg-position").inner_text().split())


# "step 7 of 22 · backward 2/11", "path 2 of 3", "snapshot 12 of 201 · epoch 110 of 2000"
POSITION = re.compile(r"^(?:step|path|snapshot) (\d+) of (\d+)( · .+)?$")


def step_widget(page, widget, where: str) -> list[str]:
    """Press next, the keys and the kind's own controls; what did not work."""
    problems: list[str] = []
    kind = widget.get_attribute("data-kind")
    if kind not in ("stepper", "paths", "training"):
        problems.append(f"{where}: data-kind={kind!r}")
    if widget.get_attribute("tabindex") != "0":
        problems.append(f"{where}: tabindex={widget.get_attribute('tabindex')!r}, not 0")
    svg = widget.locator(".cg-picture svg").first
    if svg.count() == 0:
        return problems + [f"{where}: no <svg> in .cg-picture"]
    if svg.get_attribute("role") != "img" or not (svg.get_attribute("aria-label") or "").strip():
        problems.append(f"{where}: the picture's svg lacks role=img or an aria-label")
    for action in ("first", "prev", "play", "next", "last"):
        button = widget.locator(f".cg-controls button[data-action={action}]")
        if button.count() != 1:
            problems.append(f"{where}: {button.count()} button[data-action={action}]")
        elif not (button.get_attribute("title") and button.get_attribute("aria-label")):
            problems.append(f"{where}: button {action} lacks a title or an aria-label")
    widget.scroll_into_view_if_needed()
    if widget.locator("button[data-action=next]").count() == 1:
        problems += step_with_buttons(page, widget, svg, where)
    if kind == "training":
        problems += training_keys(page, widget, where)
    return problems + kind_controls(page, widget, kind, where)


def step_with_buttons(page, widget, svg, where: str) -> list[str]:
    problems: list[str] = []
    nxt = widget.locator("button[data-action=next]")
    if nxt.is_disabled():  # shown at its last step (TrainingExplorer: the trained network)
        before = snapshot(widget)
        widget.locator("button[data-action=first]").click()
        if not wait_changed(page, widget, before):
            problems.append(f"{where}: first changed nothing")
    labels = [svg.get_attribute("aria-label")]
    for press in range(3):
        if nxt.is_disabled():
            break
        before = snapshot(widget)
        nxt.click()
        if not wait_changed(page, widget, before):
            problems.append(f"{where}: next press {press + 1} changed nothing")
        labels.append(svg.get_attribute("aria-label"))
    if len(set(labels)) < 2:
        problems.append(f"{where}: the svg's aria-label never changed: {labels[0]!r}")
    text = position(widget)
    match = POSITION.match(text)
    if not match:
        return problems + [f"{where}: position reads {text!r}, not 'step i of n · …'"
                           " (or 'path i of n', 'snapshot i of n · …')"]
    chooser = widget.locator("select.cg-path")

    def at() -> tuple[int, int]:
        """(1-based place, count): a PathExplorer's choices include "all paths" first."""
        if chooser.count():
            return chooser.evaluate("s => [s.selectedIndex + 1, s.options.length]")
        got = POSITION.match(position(widget))
        return (int(got.group(1)), int(got.group(2))) if got else (-1, -1)

    total = at()[1]
    # Keys work when the widget has focus.
    widget.focus()
    keys = (("Home", 1), ("End", total), ("ArrowLeft", total - 1), ("ArrowRight", total))
    for key, expected in keys:
        page.keyboard.press(key)
        page.wait_for_timeout(50)
        if at()[0] != expected:
            problems.append(f"{where}: after {key} the position reads {position(widget)!r}, "
                            f"expected {expected} of {total}")
    # At the end, Next and Last are disabled; at the start, First and Previous.
    for action in ("next", "last"):
        if not widget.locator(f"button[data-action={action}]").is_disabled():
            problems.append(f"{where}: {action} is not disabled at the last step")
    widget.locator("button[data-action=first]").click()
    for action in ("first", "prev"):
        if not widget.locator(f"button[data-action={action}]").is_disabled():
            problems.append(f"{where}: {action} is not disabled at the first step")
    return problems


def training_keys(page, widget, where: str) -> list[str]:
    """←/→/Home/End on the focused TrainingExplorer move the epoch slider."""
    problems: list[str] = []
    epoch = widget.locator("input.cg-epoch")
    if epoch.count() != 1:
        return [f"{where}: no input.cg-epoch"]
    lo, hi = (int(epoch.get_attribute(a)) for a in ("min", "max"))
    widget.focus()
    for key, expected in (("Home", lo), ("End", hi)):
        page.keyboard.press(key)
        page.wait_for_timeout(50)
        if int(epoch.input_value()) != expected:
            problems.append(f"{where}: after {key} the epoch slider reads {epoch.input_value()}, "
                            f"expected {expected}")
    before = snapshot(widget)
    page.keyboard.press("ArrowLeft")
    if not wait_changed(page, widget, before):
        problems.append(f"{where}: ArrowLeft on the focused widget changed nothing")
    return problems


def kind_controls(page, widget, kind: str, where: str) -> list[str]:
    problems: list[str] = []
    if kind == "training":
        epoch = widget.locator("input.cg-epoch")
        if epoch.count() != 1:
            problems.append(f"{where}: no input.cg-epoch")
        else:
            before = snapshot(widget)
            epoch.evaluate("""e => { e.value = Math.round((+e.min + +e.max) / 3);
                e.dispatchEvent(new Event('input', {bubbles: true})); }""")
            if not wait_changed(page, widget, before):
                problems.append(f"{where}: moving the epoch slider changed nothing")
        sample = widget.locator("select.cg-sample")
        if sample.count() != 1:
            problems.append(f"{where}: no select.cg-sample")
        else:
            before = snapshot(widget)
            sample.select_option(index=1)
            if not wait_changed(page, widget, before):
                problems.append(f"{where}: choosing another sample changed nothing")
        if widget.locator(".cg-plot svg").count() == 0:
            problems.append(f"{where}: no plot drawn as SVG in .cg-plot")
    if kind == "paths":
        paths = widget.locator("select.cg-path")
        if paths.count() != 1:
            problems.append(f"{where}: no select.cg-path")
        elif paths.locator("option").count() > 1:
            before = snapshot(widget)
            current = paths.evaluate("s => s.selectedIndex")
            paths.select_option(index=1 if current == 0 else 0)
            if not wait_changed(page, widget, before):
                problems.append(f"{where}: choosing another path changed nothing")
    return problems


@pytest.mark.usefixtures("executed")
class TestNotebookInJupyterLab:
    """In definition order, on one page per notebook."""

    def test_runs_without_dot(self, executed):
        assert executed.dot == "None", f"the kernel still finds dot: {executed.dot!r}"
        errors = [f"cell {i}: {o['ename']}: {o['evalue'][:200]}"
                  for i, cell in enumerate(executed.outputs) for o in cell if o["type"] == "error"]
        assert errors == [], f"{executed.name}: cells raised with dot hidden:\n" + "\n".join(errors)

    def test_every_widget_steps(self, executed):
        page = executed.page
        outputs = page.evaluate(WIDGET_OUTPUTS, NOTEBOOK_SCOPE)
        broken = [f"cell {o['cell']}: {o['text']!r}" for o in outputs
                  if not o["cg"] and not o["ipywidget"]]
        assert broken == [], f"{executed.name}: widget outputs showing no widget:\n" + \
            summary(broken)
        shown = sum(o["cg"] for o in outputs)
        assert shown >= executed.steppers, (
            f"{executed.name}: {executed.steppers} cells make a stepping widget, "
            f"{shown} .cg-widget shown")
        problems, stepped = [], 0
        for i in range(executed.widgets.count()):
            widget = executed.widgets.nth(i)
            if widget.get_attribute("data-kind") == "picture":
                continue  # a still picture: measured by the other tests
            stepped += 1
            problems += step_widget(page, widget, f"{executed.stem} widget {i}")
        assert stepped >= executed.steppers, f"{stepped} widgets stepped"
        if stepped:
            page.locator(f"{NOTEBOOK_SCOPE} .cg-widget:not([data-kind=picture])").first \
                .scroll_into_view_if_needed()
            screenshot(page, f"{executed.stem}-light.png")
        assert problems == [], summary(problems)

    def test_contrast_light(self, executed):
        set_theme(executed.page, "JupyterLab Light")
        texts = executed.page.evaluate(TEXTS, NOTEBOOK_SCOPE)
        assert texts or executed.widget_outputs == 0, "no text measured at all"
        bad = failing_contrast(texts)
        assert bad == [], f"{executed.name}, light theme: {len(bad)} of {len(texts)} texts below " \
                          f"4.5:1\n" + summary(bad)

    def test_contrast_dark(self, executed):
        page = executed.page
        set_theme(page, "JupyterLab Dark")
        try:
            texts = page.evaluate(TEXTS, NOTEBOOK_SCOPE)
            cards = page.evaluate(BACKGROUNDS, NOTEBOOK_SCOPE)
            if executed.widgets.count():
                executed.widgets.first.scroll_into_view_if_needed()
            screenshot(page, f"{executed.stem}-dark.png")
        finally:
            set_theme(page, "JupyterLab Light")
        bad = failing_contrast(texts)
        glaring = [f"{c['where']}: card luminance {c['card']:.2f} on a page of {c['page']:.2f}"
                   for c in cards if c["page"] < 0.2 and c["card"] > 0.4]
        assert bad == [] and glaring == [], (
            f"{executed.name}, dark theme: {len(bad)} of {len(texts)} texts below 4.5:1, "
            f"{len(glaring)} of {len(cards)} light cards on the dark page\n"
            + summary(bad) + "\n" + summary(glaring))

    def test_fits_1400_with_file_browser(self, executed):
        page = executed.page
        page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
        left_area(page, True)
        geometry = page.evaluate(GEOMETRY, [NOTEBOOK_SCOPE, False])
        problems = []
        for w in geometry["widgets"]:
            # a still picture has no height cap (every node shows); a stepping widget has one
            if w["kind"] != "picture" and w["height"] > MAX_WIDGET_HEIGHT:
                problems.append(f"{w['where']}: {w['height']} px tall (> {MAX_WIDGET_HEIGHT})")
            if w["minText"] is not None and w["minText"] < MIN_TEXT_PX:
                problems.append(f"{w['where']}: graph text drawn at {w['minText']} px")
            problems += [f"{w['where']}: {p}" for p in w["problems"]]
        for p in geometry["pictures"]:
            problems += [f"{p['where']}: {q}" for q in p["problems"]]
            if p["minText"] is not None and p["minText"] < MIN_TEXT_PX:
                problems.append(f"{p['where']}: text drawn at {p['minText']} px")
        assert problems == [], f"{executed.name} at {WIDTH}×{HEIGHT}:\n" + summary(problems)

    def test_fits_800(self, executed):
        page = executed.page
        page.set_viewport_size({"width": NARROW, "height": HEIGHT})
        try:
            left_area(page, False)
            page.wait_for_timeout(300)
            # At 800 px a wide drawing may scroll inside its own box; nothing may be cut off.
            geometry = page.evaluate(GEOMETRY, [NOTEBOOK_SCOPE, True])
            if executed.widgets.count():
                executed.widgets.first.scroll_into_view_if_needed()
            screenshot(page, f"{executed.stem}-800.png")
        finally:
            page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
            left_area(page, True)
        problems = []
        for w in geometry["widgets"]:
            problems += [f"{w['where']}: {p}" for p in w["problems"]]
            if w["minText"] is not None and w["minText"] < MIN_TEXT_PX:
                problems.append(f"{w['where']}: graph text drawn at {w['minText']} px")
        for p in geometry["pictures"]:
            problems += [f"{p['where']}: {q}" for q in p["problems"]]
        assert problems == [], f"{executed.name} at {NARROW} px:\n" + summary(problems)

    def test_console_clean(self, executed):
        errors = executed.console.errors
        assert errors == [], f"{executed.name}: {len(errors)} console errors:\n" + summary(errors)

    def test_reopened_after_run(self, executed, lab):
        """Saved after the run (trusted now), closed, kernel gone, opened again."""
        page = executed.page
        page.keyboard.press("Control+s")
        page.wait_for_function(
            "() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
        page.evaluate("() => window.jupyterapp.commands.execute('application:close-all')")
        page.wait_for_timeout(500)
        lab.shutdown_kernels()
        console = Console(page, IGNORED_CONSOLE)
        open_notebook(page, lab, executed.name)
        page.wait_for_timeout(3000)
        problems = shown_problems(page, nbformat.read(lab.root / executed.name, as_version=4))
        problems += console.errors
        if executed.widget_outputs:
            screenshot(page, f"{executed.stem}-reopened.png")
        assert problems == [], f"{executed.name} reopened after a run:\n" + summary(problems)


OUTPUT_TEXTS = """(scope) => [...document.querySelectorAll(scope + ' .jp-Cell')].map(cell =>
  [...cell.querySelectorAll('.jp-OutputArea-child .jp-OutputArea-output')].map(o => ({
    text: o.innerText.slice(0, 400),
    picture: !!o.querySelector('.cg-widget, .cg-static, img, svg, canvas'),
    ipywidget: !!o.querySelector('.widget-box, .widget-slider, .widget-button, .widget-html')})))"""


def shown_problems(page, nb) -> list[str]:
    """Every output of the open notebook: no error text, no bare repr, and a picture wherever the
    file holds a widget or an SVG."""
    shown = page.evaluate(OUTPUT_TEXTS, NOTEBOOK_SCOPE)
    assert len(shown) == len(nb.cells), f"{len(shown)} cells shown, {len(nb.cells)} in the file"
    problems = []
    for i, (cell, outputs) in enumerate(zip(nb.cells, shown)):
        stored = cell.get("outputs", []) if cell.cell_type == "code" else []
        for j, out in enumerate(outputs):
            for pattern in BARE_REPRS:
                if re.search(pattern, out["text"]):
                    problems.append(f"cell {i} output {j} shows {out['text'][:90]!r}")
                    break
            data = stored[j].get("data", {}) if j < len(stored) else {}
            # (a plain ipywidget, drawn as one, is fine too: its repr would be caught above)
            if (WIDGET_VIEW in data or "image/svg+xml" in data) and not (
                    out["picture"] or out["ipywidget"]):
                problems.append(f"cell {i} output {j}: no picture where the file has "
                                f"{sorted(data)}; shows {out['text'][:90]!r}")
    return problems


@pytest.mark.parametrize("source", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_opened_before_running(source, fresh_lab, chromium):
    """A committed notebook as a new learner first opens it: untrusted, not run, scrolled."""
    name = copy_notebook(source, fresh_lab.root)
    page = chromium.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    console = Console(page, IGNORED_CONSOLE)
    try:
        open_notebook(page, fresh_lab, name)
        trusted = page.evaluate(
            """() => { const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
                for (let i = 0; i < cells.length; i++)
                  if (cells.get(i).type === 'code') return cells.get(i).trusted; }""")
        page.evaluate("""async () => { for (const c of document.querySelectorAll('.jp-Cell')) {
            c.scrollIntoView(); await new Promise(r => setTimeout(r, 30)); } }""")
        page.wait_for_timeout(1500)
        problems = shown_problems(page, nbformat.read(source, as_version=4)) + console.errors
        page.evaluate("() => window.scrollTo(0, 0)")
        first = page.locator(f"{NOTEBOOK_SCOPE} .jp-OutputArea-output").first
        if first.count():
            first.scroll_into_view_if_needed()
        screenshot(page, f"{source.stem}-before-running.png")
    finally:
        page.close()
        fresh_lab.shutdown_kernels()
    assert not trusted, "the notebook opened trusted: the trust database is not fresh"
    assert problems == [], f"{source.name} opened before running:\n" + summary(problems)
