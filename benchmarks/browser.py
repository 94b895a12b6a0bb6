"""Latency of the widgets as a learner feels it, measured in Chromium on a real JupyterLab.

    .venv/bin/python benchmarks/browser.py            # prints a table, updates RESULTS.md's rows
    .venv/bin/python benchmarks/browser.py --quick    # fewer steps, RESULTS.md left alone

Step latency: the XOR network's Stepper (the graph of the Stepper row in RESULTS.md), its Next
button clicked; the time from the click to the new picture. Each click is dispatched at a random
moment inside an animation frame, as a person's would be; "update" is the time until every part
of the widget that changes (picture, explanation, position) has changed and the browser has laid
it out, "painted" the time until the next animation frame after that, i.e. the frame that shows
it. Epoch drag: TrainingExplorer's epoch slider moved by `input` events (what a drag sends), the
time until the graph and the plots show the new epoch, then to the frame that shows them.

The kernel's PATH has no graphviz `dot` (as for a learner without graphviz). Uses the browser
tests' harness (tests/lab.py): its own JupyterLab, free port, token, settings; killed at the end.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import tempfile
from pathlib import Path

import nbformat
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

import lab  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

RESULTS = HERE / "RESULTS.md"
STEP_GOAL_MS = 16.0
DRAG_GOAL_MS = 50.0
ROW_PREFIX = "Chromium: "
CELLS = [
    "import compgraph as cg",
    "net = cg.nn.sigmoid_net(seed=0)\n"
    "cg.Stepper(net.graph, rankdir='BT', X=cg.nn.XOR_X, y=cg.nn.XOR_Y)",
    "cg.TrainingExplorer(cg.nn.train_xor(0, 1.0, 2000))",
]
STEPPER = ".cg-widget[data-kind=stepper]"
TRAINING = ".cg-widget[data-kind=training]"

# In the page: press Next n times (back to the first step at the end of the trace) and time each.
STEP_TIMES = """async ([root, n, parts]) => {
  const next = root.querySelector('button[data-action=next]');
  const first = root.querySelector('button[data-action=first]');
  return await timeInputs(root, n, parts, i => {
    if (next.disabled) { first.click(); return false; }
    next.click(); return true; });
}"""
# In the page: move the epoch slider through n values, one input event each.
DRAG_TIMES = """async ([root, n, parts]) => {
  const slider = root.querySelector('input.cg-epoch');
  const lo = +slider.min, hi = +slider.max;
  return await timeInputs(root, n, parts, i => {
    slider.value = Math.round(lo + (hi - lo) * ((i * 37) % n) / n);
    slider.dispatchEvent(new Event('input', {bubbles: true})); return true; });
}"""
TIMER = """
window.timeInputs = async (root, n, parts, act) => {
  const frame = () => new Promise(r => requestAnimationFrame(() => r(performance.now())));
  const state = () => parts.map(s => [...root.querySelectorAll(s)].map(e => e.innerHTML).join(''));
  const out = [];
  for (let i = 0; out.length < n; i++) {
    await frame();
    await new Promise(r => setTimeout(r, Math.random() * 14));  // a random moment in the frame
    const before = state();
    const changed = new Promise((resolve, reject) => {
      const done = () => { const now = state();
        return now.every((v, k) => v !== before[k]); };
      const observer = new MutationObserver(() => { if (done()) {
        observer.disconnect(); root.getBoundingClientRect(); resolve(performance.now()); } });
      observer.observe(root, {subtree: true, childList: true, attributes: true,
                              characterData: true});
      setTimeout(() => { observer.disconnect(); reject(new Error('no change in 10 s')); }, 10000);
    });
    const t0 = performance.now();
    const counted = act(i);
    const updated = await changed;
    const painted = await frame();
    if (counted) out.push([updated - t0, painted - t0]);
  }
  return out;
};
"""


def stats(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), float(np.percentile(values, 95))


def measure(steps: int) -> dict[str, list[list[float]] | str]:
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        servers = lab.serve(Path(tmp), "bench", hide_dot=True)
        server = next(servers)
        try:
            nb = nbformat.v4.new_notebook()
            nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
            nb.metadata["kernelspec"] = dict(lab.KERNELSPEC)
            nbformat.write(nb, server.root / "bench.ipynb")
            browser = lab.launch(p)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(60_000)
            lab.open_notebook(page, server, "bench.ipynb")
            lab.run_all(page, server)
            page.evaluate(TIMER)
            stepper = page.locator(STEPPER).first
            stepper.wait_for()
            stepper.scroll_into_view_if_needed()
            results = {"step": page.evaluate(STEP_TIMES, [stepper.element_handle(), steps,
                                                          [".cg-picture", ".cg-explanation",
                                                           ".cg-position"]])}
            training = page.locator(TRAINING).first
            try:
                training.wait_for(timeout=20_000)
            except Exception:  # playwright's TimeoutError: the row says what was missing
                results["drag"] = f"no {TRAINING} in the page: not measured"
            else:
                training.scroll_into_view_if_needed()
                results["drag"] = page.evaluate(DRAG_TIMES, [training.element_handle(), steps,
                                                             [".cg-picture", ".cg-plot"]])
            browser.close()
            return results
        finally:
            servers.close()


def rows(results: dict[str, list[list[float]] | str]) -> list[tuple[str, str, str, str, str]]:
    """(name, figure, goal, result, note) per benchmark."""
    out = []
    for key, name, goal in (("step", "Stepper step, input to picture (XOR graph)", STEP_GOAL_MS),
                            ("drag", "TrainingExplorer epoch drag, input to picture",
                             DRAG_GOAL_MS)):
        times = results[key]
        if isinstance(times, str):
            out.append((ROW_PREFIX + name, "—", f"median ≤ {goal:g} ms", "not measured", times))
            continue
        update = stats([t[0] for t in times])
        painted = stats([t[1] for t in times])
        out.append((ROW_PREFIX + name,
                    f"median {painted[0]:.1f} ms, p95 {painted[1]:.1f} ms",
                    f"median ≤ {goal:g} ms", "met" if painted[0] <= goal else "missed",
                    f"{len(times)} inputs at random moments within a frame, measured in the page "
                    f"(performance.now()); to the frame that shows the change: median "
                    f"{painted[0]:.1f} ms, p95 {painted[1]:.1f} ms; DOM updated and laid out: "
                    f"median {update[0]:.1f} ms, p95 {update[1]:.1f} ms; kernel without dot"))
    return out


def update_results(table: list[tuple[str, str, str, str, str]], when: str) -> None:
    """Replace this file's rows (and notes) in RESULTS.md's table, keeping every other row."""
    text = RESULTS.read_text().splitlines() if RESULTS.exists() else ["# Benchmark results", ""]
    text = [line for line in text
            if not line.startswith((f"| {ROW_PREFIX}", f"- **{ROW_PREFIX}"))]
    header = next((line for line in text if line.startswith("| benchmark")), None)
    columns = header.count("|") - 1 if header else 6  # name, figure, ..., goal, result
    new_rows = ["| " + " | ".join([n, fig, *["—"] * (columns - 4), goal, res]) + " |"
                for n, fig, goal, res, _ in table]
    table_end = max((i for i, line in enumerate(text) if line.startswith("|")), default=None)
    if table_end is None:
        text += ["| benchmark | compgraph | peer | ratio | goal | result |",
                 "|---|---|---|---|---|---|", *new_rows, ""]
    else:
        text[table_end + 1:table_end + 1] = new_rows
    notes = [f"- **{n}**: {note} ({when}, benchmarks/browser.py)" for n, _, _, _, note in table]
    if "## Notes" in text:
        at = text.index("## Notes") + 2
        while at < len(text) and text[at].startswith("- "):
            at += 1
        text[at:at] = notes
    else:
        text += ["## Notes", "", *notes, ""]
    RESULTS.write_text("\n".join(text) + ("\n" if text[-1] else ""))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 inputs each; RESULTS.md untouched")
    args = parser.parse_args(argv)
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    table = rows(measure(20 if args.quick else 60))
    width = max(len(r[0]) for r in table)
    print(f"browser benchmarks, {when}")
    for name, figure, goal, result, note in table:
        print(f"{name.ljust(width)}  {figure}  ({goal}: {result})\n    {note}")
    if not args.quick:
        update_results(table, when)
        print(f"updated {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
