"""TrainingExplorer drag latency in Chromium: from an `input` event on the epoch slider to the new
picture painted (graph texts, loss-curve marker, decision boundary).

    .venv/bin/python benchmarks/training_drag.py            # 2,000 epochs, 120 drags
    .venv/bin/python benchmarks/training_drag.py --drags 60 --epochs 500

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
    """Milliseconds from input to painted frame for `drags` moves of the epoch slider, stepping
    through the snapshots forwards and backwards, each to a snapshot other than the last."""
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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--drags", type=int, default=120)
    args = parser.parse_args(argv)
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
