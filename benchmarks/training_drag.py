"""TrainingExplorer drag latency in Chromium: from an `input` event on the epoch slider to the new
picture painted (graph texts, loss-curve marker, decision boundary).

    .venv/bin/python benchmarks/training_drag.py            # 2,000 epochs, 120 drags
    .venv/bin/python benchmarks/training_drag.py --drags 60 --epochs 500
    .venv/bin/python benchmarks/training_drag.py --lab   # the widget inside JupyterLab

The page is the explorer's standalone HTML (the same modules and data the widget uses). Each drag
sets the slider to a new snapshot and dispatches `input`, as a dragging mouse does; the time runs
from just before the dispatch to a task queued from the next animation frame, which runs once that
frame is painted. `measure_drags(page, n)` is there for other harnesses (e.g. the widget inside
JupyterLab): it needs a page showing one explorer.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# One drag: move to snapshot `k`, then wait for the frame after it to be painted.
DRAG_JS = """async (k) => {
  const root = document.querySelector('.cg-widget[data-kind=training]');
  const slider = root.querySelector('.cg-epoch');
  const start = performance.now();
  slider.value = String(k);
  slider.dispatchEvent(new Event('input', {bubbles: true}));
  await new Promise((done) => requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = done;
    channel.port2.postMessage(0);
  }));
  return performance.now() - start;
}"""


def measure_drags(page: Any, drags: int = 120) -> list[float]:
    """Milliseconds from input to painted frame for `drags` moves of the epoch slider, jumping
    through the snapshots by varied strides (wrapping round), never to the snapshot shown."""
    count = page.evaluate("Number(document.querySelector('.cg-widget[data-kind=training] "
                          ".cg-epoch').max) + 1")
    stride = max(1, count // 37) if count > 2 else 1
    times, k = [], count - 1
    for i in range(drags):
        k = (k + stride * (1 if i % 2 == 0 else 3)) % count  # varied jumps, never zero
        times.append(page.evaluate(DRAG_JS, k))
    return times


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"drags": len(times), "median_ms": statistics.median(times),
            "p95_ms": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
            "max_ms": ordered[-1]}


def run(epochs: int = 2000, drags: int = 120, seed: int = 0) -> dict[str, Any]:
    """Build the explorer for one run of XOR training, open its page in Chromium, drag."""
    from playwright.sync_api import sync_playwright

    import compgraph as cg

    start = time.perf_counter()
    explorer = cg.TrainingExplorer(seed=seed, lr=1.0, epochs=epochs)
    build_s = time.perf_counter() - start
    page_html = explorer.html()
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        path = Path(folder) / "training.html"
        path.write_text(page_html, encoding="utf-8")
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(path.as_uri())
            page.wait_for_selector(".cg-widget[data-kind=training][data-ready=true]")
            measure_drags(page, 10)  # warm-up: first layouts, JIT
            times = measure_drags(page, drags)
        finally:
            browser.close()
    if errors:
        raise RuntimeError(f"errors on the page: {errors}")
    return {**summary(times), "epochs": epochs, "snapshots": len(explorer.data["snapshots"]),
            "payload_bytes": len(explorer.payload), "page_bytes": len(page_html.encode()),
            "build_s": build_s}


LAB_CELLS = ["import compgraph as cg",
             "explorer = cg.TrainingExplorer(seed={seed}, lr=1.0, epochs={epochs})\nexplorer"]

# Every text of the widget against what is painted behind it: SVG text over the topmost filled
# shape under its centre (or the heat-map bitmap), HTML text over its nearest painted background.
CONTRAST_JS = """(root) => {
  const rgba = (c) => { const m = c.match(/[\\d.]+/g); if (!m) return null;
    const [r, g, b, a] = m.map(Number); return [r, g, b, a === undefined ? 1 : a]; };
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const over = (top, under) => top.slice(0, 3).map((v, i) => v * top[3] + under[i] * (1 - top[3]));
  const pageBg = () => { for (let e = root; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor); if (c && c[3] > 0) return c; }
    return [255, 255, 255, 1]; };
  const htmlBg = (el) => { for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor); if (c && c[3] > 0.5) return c; }
    return pageBg(); };
  const results = [];
  const base = pageBg();
  for (const t of root.querySelectorAll('svg text')) {
    if (!t.textContent.trim()) continue;
    const r = t.getBoundingClientRect();
    const [x, y] = [r.x + r.width / 2, r.y + r.height / 2];
    let bg = base;
    const under = document.elementsFromPoint(x, y).find((e) => e !== t
      && ['rect', 'path', 'polygon', 'ellipse', 'circle'].includes(e.tagName)
      && getComputedStyle(e).fill !== 'none' && e.closest('svg') === t.closest('svg'));
    if (under) { const f = rgba(getComputedStyle(under).fill);
      const o = Number(getComputedStyle(under).fillOpacity);
      if (f) bg = over([f[0], f[1], f[2], o], base); }
    const fg = rgba(getComputedStyle(t).fill);
    const [a, b] = [lum(over(fg, bg)), lum(bg)];
    results.push({ text: t.textContent.slice(0, 40),
      ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) });
  }
  for (const el of root.querySelectorAll('label, span, div, option, select, input, button')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())
      || (['INPUT', 'SELECT'].includes(el.tagName) && el.type !== 'range');
    if (!own || !el.getClientRects().length) continue;
    const bg = htmlBg(el);
    const fg = rgba(getComputedStyle(el).color);
    const [a, b] = [lum(over(fg, bg)), lum(bg)];
    results.push({ text: (el.value || el.textContent).trim().slice(0, 40),
      ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) });
  }
  return results;
}"""


def run_lab(epochs: int = 2000, drags: int = 60, seed: int = 0,
            screenshots: Path | None = None) -> dict[str, Any]:
    """The widget in a real JupyterLab (a server of our own, like tests/test_browser.py): run the
    notebook, drag, train again from the form, measure height and contrast in both themes."""
    import re

    import nbformat
    from playwright.sync_api import expect, sync_playwright

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from test_browser import Lab  # the same server set-up as the browser tests

    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "lab-root"
        root.mkdir()
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(c.format(seed=seed, epochs=epochs))
                    for c in LAB_CELLS]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                     "language": "python"}
        nbformat.write(nb, root / "NB.ipynb")
        lab = Lab(root)
        lab.start()
        problems: list[str] = []
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    page = browser.new_page(viewport={"width": 1400, "height": 900})
                    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
                    page.on("pageerror", lambda e: problems.append(str(e)))
                    page.set_default_timeout(60_000)
                    page.goto(f"{lab.base}/lab/tree/NB.ipynb?reset&token={lab.token}")
                    page.locator(".jp-NotebookPanel").wait_for()
                    lab.wait_for_idle_kernel(60)
                    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
                    page.locator(".lm-Menu-itemLabel",
                                 has_text=re.compile(r"^Run All Cells$")).click()
                    widget = page.locator(".cg-widget[data-kind=training][data-ready=true]")
                    widget.wait_for()
                    widget.scroll_into_view_if_needed()
                    result["height_px"] = widget.bounding_box()["height"]
                    measure_drags(page, 10)
                    times = measure_drags(page, drags)
                    result.update(summary(times))
                    result["contrast"] = {}
                    for theme in ("JupyterLab Light", "JupyterLab Dark"):
                        # Settings → Theme → ..., from the menu bar as a learner would
                        page.locator(".lm-MenuBar-itemLabel",
                                     has_text=re.compile(r"^Settings$")).click()
                        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).click()
                        page.locator(".lm-Menu-itemLabel",
                                     has_text=re.compile(f"^{theme}$")).click()
                        light = "true" if theme.endswith("Light") else "false"
                        page.wait_for_function(
                            f"document.body.dataset.jpThemeLight === '{light}'")
                        page.wait_for_timeout(800)
                        ratios = widget.evaluate(CONTRAST_JS)
                        worst = min(ratios, key=lambda r: r["ratio"])
                        result["contrast"][theme] = {"texts": len(ratios),
                                                     "lowest": round(worst["ratio"], 2),
                                                     "lowest_text": worst["text"]}
                        if screenshots is not None:
                            name = "dark" if light == "false" else "light"
                            widget.screenshot(path=str(screenshots / f"training-lab-{name}.png"))
                    # an 800 px window: everything wraps inside the widget (the drawing may scroll
                    # inside its own box)
                    page.set_viewport_size({"width": 800, "height": 900})
                    page.wait_for_timeout(500)
                    result["clipped_at_800"] = widget.evaluate("""(root) => {
                        const edge = root.getBoundingClientRect().right + 1;
                        return [...root.querySelectorAll('*')].filter((e) =>
                            !e.closest('.cg-picture') && e.getClientRects().length
                            && e.getBoundingClientRect().right > edge)
                          .map((e) => e.className.baseVal ?? e.className).slice(0, 5); }""")
                    result["height_at_800"] = widget.bounding_box()["height"]
                    if screenshots is not None:
                        widget.screenshot(path=str(screenshots / "training-lab-800.png"))
                    page.set_viewport_size({"width": 1400, "height": 900})
                    # train again from the widget's form: the kernel answers with a new run
                    widget.locator(".cg-knob-seed").fill("3")
                    widget.locator(".cg-knob-epochs").fill("2.5")
                    widget.locator(".cg-train").click()
                    expect(widget.locator(".cg-status")).to_have_text(
                        "⚠ epochs must be a whole number, got '2.5'")
                    widget.locator(".cg-knob-epochs").fill("300")
                    start = time.perf_counter()
                    widget.locator(".cg-train").click()
                    expect(widget.locator(".cg-status")).to_contain_text("trained: seed 3")
                    expect(widget.locator(".cg-position")).to_contain_text("of 300")
                    result["retrain_s"] = time.perf_counter() - start
                finally:
                    browser.close()
        finally:
            lab.stop()
    result["console_errors"] = problems
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--drags", type=int, default=120)
    parser.add_argument("--lab", action="store_true", help="measure inside JupyterLab")
    parser.add_argument("--screenshots", type=Path, help="folder for the --lab screenshots")
    args = parser.parse_args(argv)
    if args.lab:
        result = run_lab(args.epochs, min(args.drags, 60), screenshots=args.screenshots)
        print(f"TrainingExplorer in JupyterLab, {args.epochs} epochs, {result['drags']} drags: "
              f"median {result['median_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms, max "
              f"{result['max_ms']:.1f} ms; widget {result['height_px']:.0f} px tall at 1400×900; "
              f"train again (300 epochs) {result['retrain_s']:.2f} s from click to new picture")
        for theme, c in result["contrast"].items():
            print(f"  {theme}: {c['texts']} texts, lowest contrast {c['lowest']}:1 "
                  f"({c['lowest_text']!r})")
        print(f"  at 800 px: {result['height_at_800']:.0f} px tall, parts sticking out: "
              f"{result['clipped_at_800'] or 'none'}")
        print(f"  console errors: {result['console_errors'] or 'none'}")
        return 0
    result = run(args.epochs, args.drags)
    print(f"TrainingExplorer drag latency, {result['epochs']} epochs, {result['snapshots']} "
          f"snapshots, {result['drags']} drags: median {result['median_ms']:.1f} ms, "
          f"p95 {result['p95_ms']:.1f} ms, max {result['max_ms']:.1f} ms (goal: median ≤ 50 ms)")
    print(f"payload {result['payload_bytes'] / 1000:.0f} kB (compressed; the notebook stores it "
          f"base64, {4 * result['payload_bytes'] / 3000:.0f} kB), standalone page "
          f"{result['page_bytes'] / 1000:.0f} kB; kernel time to train and build: "
          f"{result['build_s']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
