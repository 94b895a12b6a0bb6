"""A real browser: a Stepper in JupyterLab checked step by step against a trace computed here, in
the test process; the same Stepper exported to one HTML file and stepped from file:// with the
network blocked; and a Stepper in Notebook 7. The kernels never see graphviz's `dot`.

No skip: if JupyterLab, Notebook 7 or Chromium cannot start, a test fails and says why."""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest
from lab import (
    KERNELSPEC,
    ROOT,
    Console,
    left_area,
    open_notebook,
    path_without_dot,
    run_all,
    screenshot,
    serve,
)
from pictures import CHAIN_INPUTS, chain_rule_graph
from playwright.sync_api import expect

NOTEBOOK = "NB.ipynb"
# The notebook builds the same graph as pictures.chain_rule_graph(), so the trace computed in this
# process says what the widget must show.
GRAPH_CELL = ('x = cg.Input("x")\nh = cg.square(x, name="h")\ng = cg.sin(h, name="g")\n'
              'graph = cg.Graph(cg.exp(g, name="f"))')
CELLS = ["import compgraph as cg", GRAPH_CELL, "cg.Stepper(graph, x=0.5)"]
# Notebook 7.6's own start-up error, measured here: raised by its keyboard-shortcuts plugin
# (gone when @jupyterlab/shortcuts-extension is disabled; still there with the widget managers
# and anywidget disabled, with no settings of ours and before any cell runs). Not compgraph's.
NOTEBOOK7_IGNORED = ((r"^page error: Cannot read properties of undefined \(reading 'schema'\) \| "
                      r"at \S+/static/notebook/notebook_core\.",
                      "Notebook 7's shortcuts plugin at start-up, with or without compgraph"),)
KIND_NAMES = {"forward": "forward", "backward": "backward", "tangent": "forward mode"}

# JavaScript run in the page: where each node of the widget's SVG is on the screen.
NODE_CENTRES = """svg => Object.fromEntries([...svg.querySelectorAll('g.node')].map(g => {
    const r = g.querySelector('ellipse, path, polygon').getBoundingClientRect();
    return [g.dataset.cg || g.id || g.querySelector('title').textContent,
            [Math.round(2 * (r.x + r.width / 2)) / 2, Math.round(2 * (r.y + r.height / 2)) / 2]];
}))"""
# The drawing with every element's classes in a fixed order, so that two visits of one step
# compare equal however the classes were toggled.
DRAWING = """svg => { const copy = svg.cloneNode(true);
    for (const e of [copy, ...copy.querySelectorAll('*')]) {
        const c = e.getAttribute('class');
        if (c !== null) e.setAttribute('class', c.split(/\\s+/).filter(Boolean).sort().join(' '));
    }
    return copy.innerHTML; }"""


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory):
    yield from serve(tmp_path_factory.mktemp("browser"), "notebook7", app="notebook",
                      hide_dot=True)


def write_notebook(path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nbformat.write(nb, path)


def expected_steps():
    """The trace, and for each step the position line the widget must show."""
    steps = chain_rule_graph().trace(**CHAIN_INPUTS)
    kinds = [s.kind for s in steps]
    positions = [f"step {i + 1} of {len(steps)} · {KIND_NAMES[k]} "
                 f"{kinds[:i + 1].count(k)}/{kinds.count(k)}" for i, k in enumerate(kinds)]
    return steps, positions


def check_stepping(page, widget, what: str) -> None:
    """Step the chain-rule Stepper with the buttons and the keys; compare with the trace."""
    expected, positions = expected_steps()
    svg = widget.locator(".cg-picture svg").first
    explanation = widget.locator(".cg-explanation")
    position = widget.locator(".cg-position")
    expect(svg).to_have_attribute("role", "img")
    expect(explanation).to_have_text(expected[0].text, use_inner_text=True)
    expect(position).to_have_text(positions[0])
    for action in ("first", "prev", "play", "next", "last"):
        button = widget.locator(f".cg-controls button[data-action={action}]")
        expect(button).to_have_count(1)
        assert button.get_attribute("title") and button.get_attribute("aria-label"), action
    for action in ("first", "prev"):
        expect(widget.locator(f"button[data-action={action}]")).to_be_disabled()
    layout = svg.evaluate(NODE_CENTRES)
    assert len(layout) == 4, f"{what}: nodes {sorted(layout)}"
    seen = [svg.evaluate(DRAWING)]
    labels = [svg.get_attribute("aria-label")]

    def arrive(step: int) -> str:
        expect(position).to_have_text(positions[step])
        # innerText turns the explanation's line breaks into newlines (textContent would not)
        expect(explanation).to_have_text(expected[step].text, use_inner_text=True)
        assert svg.evaluate(NODE_CENTRES) == layout, f"{what}, step {step}: a node moved"
        return svg.evaluate(DRAWING)

    steps = 5  # the four forward steps, the seed ∂f/∂f = 1, and the edge into g
    for step in range(1, steps + 1):
        widget.locator("button[data-action=next]").click()
        drawn = arrive(step)
        assert drawn not in seen, f"{what}: step {step} drew an earlier picture again"
        seen.append(drawn)
        labels.append(svg.get_attribute("aria-label"))
    assert len(set(labels)) == len(labels), f"{what}: aria-labels repeat: {labels}"
    assert "∂f/∂g = 1.281" in svg.text_content()

    widget.locator("button[data-action=prev]").click()
    assert arrive(steps - 1) == seen[steps - 1], f"{what}: previous shows another picture"

    widget.focus()
    page.keyboard.press("End")
    arrive(len(expected) - 1)
    for action in ("next", "last"):
        expect(widget.locator(f"button[data-action={action}]")).to_be_disabled()
    page.keyboard.press("ArrowLeft")
    arrive(len(expected) - 2)
    page.keyboard.press("Home")
    assert arrive(0) == seen[0], f"{what}: Home does not show the first picture again"
    page.keyboard.press("ArrowRight")
    assert arrive(1) == seen[1]


def test_stepper_in_jupyterlab(lab, chromium):
    write_notebook(lab.root / NOTEBOOK)
    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(30_000)
    console = Console(page)
    try:
        open_notebook(page, lab, NOTEBOOK)
        left_area(page, True)
        run_all(page, lab)
        widget = page.locator(".jp-OutputArea-output .cg-widget[data-kind=stepper]")
        widget.wait_for()
        check_stepping(page, widget, "JupyterLab")
        widget.scroll_into_view_if_needed()
        shot = screenshot(page, "stepper.png")
    finally:
        page.close()
    assert shot.stat().st_size > 10_000
    assert console.errors == [], "console errors:\n" + "\n".join(console.errors)


EXPORT = """
import sys
sys.path.insert(0, {tests!r})
import compgraph as cg
from pictures import CHAIN_INPUTS, chain_rule_graph
widget = cg.Stepper(chain_rule_graph(), **CHAIN_INPUTS)
if hasattr(widget, "export_html"):
    widget.export_html({path!r})
else:
    cg.export_html(widget, {path!r})
"""


def test_export_html_offline(tmp_path, chromium):
    """Exported with no `dot` on the PATH, opened from file:// with every other request
    refused, stepped with the buttons and the keys."""
    folder = tmp_path / "export"
    folder.mkdir()
    path = folder / "stepper.html"
    env = {"PATH": path_without_dot(tmp_path / "no-dot-bin"), "PYTHONPATH": str(ROOT),
           "HOME": str(tmp_path)}
    made = subprocess.run([sys.executable, "-c", EXPORT.format(tests=str(ROOT / "tests"),
                                                               path=str(path))],
                          env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, f"export failed:\n{made.stderr[-3000:]}"
    assert sorted(p.name for p in folder.iterdir()) == ["stepper.html"], "not one single file"

    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    refused: list[str] = []

    def only_files(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_files)
    page = context.new_page()
    page.set_default_timeout(15_000)
    console = Console(page)
    try:
        page.goto(path.as_uri())
        widget = page.locator(".cg-widget[data-kind=stepper]")
        widget.wait_for()
        check_stepping(page, widget, "exported HTML")
        shot = screenshot(page, "export.png")
    finally:
        context.close()
    assert shot.stat().st_size > 5_000
    assert refused == [], f"the exported page asked the network for {refused}"
    assert console.errors == [], "console errors:\n" + "\n".join(console.errors)


def test_stepper_in_notebook7(notebook7, chromium):
    write_notebook(notebook7.root / NOTEBOOK)
    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(30_000)
    console = Console(page, NOTEBOOK7_IGNORED)
    try:
        open_notebook(page, notebook7, NOTEBOOK)
        # Notebook 7's own page, not JupyterLab's
        app = page.evaluate("() => [window.jupyterapp?.name, document.body.dataset.notebook]")
        run_all(page, notebook7)
        widget = page.locator(".jp-OutputArea-output .cg-widget[data-kind=stepper]")
        widget.wait_for()
        _, positions = expected_steps()
        svg = widget.locator(".cg-picture svg").first
        drawings = [svg.evaluate(DRAWING)]
        for step in range(1, 4):
            widget.locator("button[data-action=next]").click()
            expect(widget.locator(".cg-position")).to_have_text(positions[step])
            drawings.append(svg.evaluate(DRAWING))
        assert len(set(drawings)) == 4, "a step in Notebook 7 left the drawing as it was"
        widget.scroll_into_view_if_needed()
        screenshot(page, "notebook7.png")
    finally:
        page.close()
    assert app == ["Jupyter Notebook", "notebooks"], f"not Notebook 7's page: {app}"
    if console.ignored:
        print("\nignored console messages:\n" + "\n".join(console.ignored))
    assert console.errors == [], "console errors:\n" + "\n".join(console.errors)


def test_lab_harness_hides_dot(lab):
    """The premise of every test here: the kernel's PATH has no graphviz, this process's has."""
    spec = json.loads((lab.data_dir / "kernels" / "python3" / "kernel.json").read_text())
    assert spec["env"]["PATH"] == lab.kernel_path
    found = subprocess.run([sys.executable, "-c", "import shutil; print(shutil.which('dot'))"],
                           env={"PATH": lab.kernel_path}, capture_output=True, text=True)
    assert found.stdout.strip() == "None"
