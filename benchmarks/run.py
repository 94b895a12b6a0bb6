"""compgraph's benchmarks: time per training step against micrograd, PyTorch and numpy written
by hand, cost across graph sizes, and the notebook suite's wall time (benchmarks/browser.py adds
the Stepper's latency in Chromium). Prints a table and writes benchmarks/RESULTS.md.

    python3 run.py bench                      # from the repository root: set-up, then this file
    .venv/bin/python benchmarks/run.py        # the same, once set up
    .venv/bin/python benchmarks/run.py --quick --only scalar,tensor   # a short look, no RESULTS.md

The machine is noisy, so each comparison runs its peers in one process, interleaved round by
round (A B, B A, A B, ...), with garbage collected between rounds (outside the timing), and takes
medians: a peer's time is the median of its rounds, the ratio the median of the per-round ratios.
Not part of the test suite (pytest collects tests/ and notebooks/ only).
"""

from __future__ import annotations

import os

# One thread for numpy's BLAS, as for torch (set before numpy is imported): two noisy cores.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import gc  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import workloads as wl  # noqa: E402

import compgraph as cg  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
SECTIONS = ("scalar", "tensor", "xor", "retrain", "scale", "notebooks")


@dataclass
class Row:
    """One line of the table."""

    name: str
    ours: str  # compgraph's figure
    peer: str = "—"  # the peer's figure, with its name
    ratio: str = "—"
    numpy: str = "—"  # the same math written by hand in numpy
    numpy_ratio: str = "—"
    goal: str = "—"
    result: str = "—"  # met / missed / skipped
    note: str = ""


def fmt_time(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"


def interleaved(peers: dict[str, object], rounds: int, steps: int) -> dict[str, list[float]]:
    """Seconds per step for each peer, one entry per round; peers alternate their order."""
    times: dict[str, list[float]] = {name: [] for name in peers}
    names = list(peers)
    for r in range(rounds + 1):  # round 0 warms up and is not recorded
        for name in names if r % 2 else names[::-1]:
            step = peers[name].step
            gc.collect()
            start = time.perf_counter()
            for _ in range(steps):
                step()
            if r:
                times[name].append((time.perf_counter() - start) / steps)
    return times


def check_equal_losses(label: str, a: object, b: object, tol: float = 1e-9) -> float:
    la, lb = a.loss0(), b.loss0()
    diff = abs(la - lb)
    assert diff <= tol * max(1.0, abs(la)), f"{label}: losses differ at step 0: {la!r} vs {lb!r}"
    return la


def compare(name: str, ours: object, peer_name: str, peer: object, goal: float, rounds: int,
            steps: int, numpy_peer: object | None = None, numpy_goal: float = 2.0) -> Row:
    """Time `ours` against `peer` (and the hand-written numpy peer, if given; all built on the
    same data and weights) and make a row."""
    loss = check_equal_losses(name, ours, peer)
    peers = {"compgraph": ours, peer_name: peer}
    if numpy_peer is not None:
        check_equal_losses(name, ours, numpy_peer)
        peers["numpy"] = numpy_peer
    print(f"  {name}: step-0 loss {loss:.12g} in all {len(peers)}; timing {rounds} rounds × "
          f"{steps} steps", flush=True)
    times = interleaved(peers, rounds, steps)

    def ratio_to(other: str) -> tuple[float, float, float]:
        ratios = sorted(a / b for a, b in zip(times["compgraph"], times[other]))
        return statistics.median(ratios), *np.percentile(ratios, [25, 75])

    def best_ratio(other: str) -> str:
        # the fastest rounds, the least disturbed by other work on a busy machine
        return f"{min(times['compgraph']) / min(times[other]):.2f}"

    t_ours, t_peer = statistics.median(times["compgraph"]), statistics.median(times[peer_name])
    ratio, q1, q3 = ratio_to(peer_name)
    # All have taken the same steps from the same start: they should still agree.
    drift = max(abs(ours.loss0() - p.loss0()) for p in peers.values())
    met = ratio <= goal
    row = Row(name, fmt_time(t_ours), f"{peer_name} {fmt_time(t_peer)}", f"{ratio:.2f}",
              goal=f"≤ {goal:g}",
              note=f"per-round ratios to {peer_name} {q1:.2f}–{q3:.2f} (quartiles); "
                   f"loss after {(rounds + 1) * steps} steps agrees to {drift:.1g}; "
                   f"fastest rounds' ratio {best_ratio(peer_name)}")
    if numpy_peer is not None:
        n_ratio, n_q1, n_q3 = ratio_to("numpy")
        row.numpy = fmt_time(statistics.median(times["numpy"]))
        row.numpy_ratio = f"{n_ratio:.2f}"
        row.goal += f"; ≤ {numpy_goal:g} to numpy"
        row.note += (f"; per-round ratios to numpy {n_q1:.2f}–{n_q3:.2f} (quartiles), "
                     f"fastest rounds' ratio {best_ratio('numpy')}")
        met = met and n_ratio <= numpy_goal
    row.result = "met" if met else "missed"
    return row


# --- 1. scalar engine vs micrograd ------------------------------------------------------------

def bench_scalar(quick: bool) -> Row:
    X, y = wl.two_moons()
    weights = wl.init_weights()
    start = time.perf_counter()
    ours = wl.CompgraphScalarMoons(X, y, weights)
    build = time.perf_counter() - start
    row = compare("moons MLP, scalar graph", ours, "micrograd", wl.MicrogradMoons(X, y, weights),
                  goal=0.2, rounds=3 if quick else 15, steps=1)
    row.note += f"; {len(ours.graph)} nodes, built once in {fmt_time(build)}"
    return row


# --- 2. tensor engine vs PyTorch --------------------------------------------------------------

def bench_tensor(quick: bool) -> Row:
    X, y = wl.two_moons()
    weights = wl.init_weights()
    return compare("moons MLP, arrays", wl.CompgraphTensorMoons(X, y, weights), "torch",
                   wl.TorchMoons(X, y, weights), goal=1.0, rounds=5 if quick else 31, steps=100,
                   numpy_peer=wl.NumpyMoons(X, y, weights))


def bench_xor(quick: bool) -> Row:
    theta1, theta2 = cg.nn.init_sigmoid_params(seed=0)
    return compare("XOR 2-2-1 sigmoid net", wl.CompgraphXor(theta1, theta2), "torch",
                   wl.TorchXor(theta1, theta2), goal=1.0, rounds=5 if quick else 31, steps=200,
                   numpy_peer=wl.NumpyXor(theta1, theta2))


def bench_retrain(quick: bool) -> Row:
    """What TrainingExplorer does when a knob changes: train XOR again for 2,000 epochs."""
    name = "XOR retrained, 2,000 epochs (nn.train_xor)"
    times = []
    for _ in range(3 if quick else 9):
        gc.collect()
        start = time.perf_counter()
        history = cg.nn.train_xor(seed=0, lr=1.0, epochs=2000)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"  {name}: median {fmt_time(median)} over {len(times)} runs")
    return Row(name, fmt_time(median), goal="≤ 0.2 s", result="met" if median <= 0.2 else "missed",
               note=f"median of {len(times)} runs, fastest "
               f"{fmt_time(min(times))}; final loss {history.losses[-1]:.4g}, "
               f"{history.correct()}/4 correct")


# --- 3. cost in proportion to the graph ----------------------------------------------------

def bench_scale(quick: bool) -> Row:
    """A scalar chain tanh(h·w) of 10 to 100,000 ops: seconds per node of forward + backward,
    the 10th pass against the 2nd, and memory per node held after ten passes (tracemalloc, in
    a run of its own, since tracing slows every allocation)."""
    import tracemalloc
    name = "scalar chain, forward + backward, 10 to 100,000 ops"
    sizes = (10, 100, 1_000, 10_000, 100_000)
    per_node, tenth_to_second, memory = {}, {}, {}
    for n in sizes:
        x, w = cg.Input("x"), cg.Param("w", 1.0)
        h = x
        for _ in range(n // 2):
            h = cg.tanh(h * w)
        graph = cg.Graph(h)
        passes = []
        for _ in range(3 if quick else 10):
            gc.collect()
            start = time.perf_counter()
            graph.forward(x=0.5)
            graph.backward()
            passes.append(time.perf_counter() - start)
        per_node[n] = statistics.median(passes) / len(graph)
        tenth_to_second[n] = passes[-1] / passes[1]
        del graph, h
        gc.collect()
        tracemalloc.start()
        x, w = cg.Input("x"), cg.Param("w", 1.0)
        h = x
        for _ in range(n // 2):
            h = cg.tanh(h * w)
        graph = cg.Graph(h)
        for _ in range(10):
            graph.forward(x=0.5)
            graph.backward()
        gc.collect()
        memory[n] = tracemalloc.get_traced_memory()[0] / len(graph)
        tracemalloc.stop()
        del graph, h
    big = sizes[-1]
    whole = per_node[big] * (big + 2)
    print(f"  {name}: {fmt_time(whole)} per pass at {big:,} ops")
    return Row(name, f"{fmt_time(whole)} at {big:,} ops; {memory[big] / 1024:.2f} KB per node",
               goal="≤ 1 s; ≤ 2 KB per node",
               result="met" if whole <= 1.0 and memory[big] <= 2048 else "missed",
               note="µs per node by size: " + ", ".join(
                   f"{n:,}: {per_node[n] * 1e6:.2f}" for n in sizes) +
               "; 10th pass / 2nd pass: " + ", ".join(
                   f"{n:,}: {tenth_to_second[n]:.2f}" for n in sizes) +
               "; bytes per node after ten passes: " + ", ".join(
                   f"{n:,}: {memory[n]:.0f}" for n in sizes))


# --- 4. notebook suite ------------------------------------------------------------------------

NOTEBOOK_GOAL = 60.0  # seconds


def bench_notebooks(quick: bool) -> Row:
    name = "notebook suite (pytest --nbval notebooks)"
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not notebooks:
        print(f"  {name}: skipped: no notebooks yet")
        return Row(name, "no notebooks yet", goal="≤ 60 s", result="skipped")
    command = [sys.executable, "-m", "pytest", "--nbval", "notebooks", "-q"]
    # The Jupyter kernel is started as `python` from PATH: make that this environment's.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PATH": path})
    wall = time.perf_counter() - start
    summary = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    print(f"  {name}: {fmt_time(wall)}, exit {done.returncode}: {summary}")
    result = "met" if wall <= NOTEBOOK_GOAL else "missed"
    if done.returncode != 0:
        result += f" (but pytest exited {done.returncode})"
    return Row(name, fmt_time(wall), goal="≤ 60 s", result=result,
               note=f"{len(notebooks)} notebooks: {summary}")


# --- report -------------------------------------------------------------------------------------

def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    facts = {"CPU": cpu, "cores": f"{os.cpu_count()} ({usable} usable)",
             "OS": platform.platform(), "Python": platform.python_version(),
             "numpy": np.__version__, "compgraph": cg.__version__}
    for module in ("torch", "micrograd"):
        try:
            from importlib.metadata import version
            facts[module] = version(module)
        except Exception:
            facts[module] = "not installed"
    facts["threads"] = "torch.set_num_threads(1); OPENBLAS/OMP/MKL_NUM_THREADS=" + \
        os.environ["OPENBLAS_NUM_THREADS"]
    if hasattr(os, "getloadavg"):
        facts["load average"] = "{:.2f} {:.2f} {:.2f} (1, 5, 15 min, at the start)".format(
            *os.getloadavg())
    if os.environ.get("OPENBLAS_CORETYPE"):
        facts["OPENBLAS_CORETYPE"] = os.environ["OPENBLAS_CORETYPE"]
    return facts


HEADER = ("benchmark", "compgraph", "peer", "ratio", "numpy by hand", "ratio to numpy", "goal",
          "result")


def table_lines(rows: list[Row], markdown: bool) -> list[str]:
    cells = [HEADER] + [(r.name, r.ours, r.peer, r.ratio, r.numpy, r.numpy_ratio, r.goal, r.result)
                        for r in rows]
    if markdown:
        lines = ["| " + " | ".join(c) + " |" for c in cells]
        lines.insert(1, "|" + "|".join("---" for _ in HEADER) + "|")
        return lines
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def write_results(rows: list[Row], facts: dict[str, str], when: str) -> None:
    text = ["# Benchmark results", "",
            f"Written by `python3 run.py bench` (benchmarks/run.py) on {when}.", "",
            *table_lines(rows, markdown=True), "",
            "Times are per training step (forward, backward, parameter update) on the same data "
            "and initial weights, step-0 losses asserted equal. Peers run in one process, "
            "interleaved round by round; a time is the median over rounds, a ratio the median "
            "of per-round ratios (compgraph / peer; below 1 means compgraph is faster).", "",
            "Workloads (benchmarks/workloads.py): *moons* is micrograd's demo, 100 two-moons "
            "points, MLP 2-16-16-1 (ReLU hidden), mean hinge loss relu(1 − y·score) + 1e-4·Σp² "
            "over all parameters, full-batch SGD; micrograd rebuilds its graph every step, "
            "compgraph builds one graph (scalar: every weight a Param and every multiply and add "
            "a node, for all 100 points; arrays: matmul(h, W) + b) and re-runs it. *XOR* is "
            "compgraph.nn.sigmoid_net (2-2-1, sigmoid, bias appended) with cross-entropy and "
            "full-batch gradient descent. PyTorch runs eagerly in float64 on one thread. "
            "*numpy by hand* is the same math written directly in numpy (forward, the "
            "backward pass derived on paper, the update; workloads.NumpyMoons, NumpyXor): "
            "the floor that the engine's own overhead is measured against.", "",
            "## Notes", "",
            *[f"- **{r.name}**: {r.note}" for r in rows if r.note], "",
            "## Machine", "",
            *[f"- {k}: {v}" for k, v in facts.items()], ""]
    RESULTS.write_text("\n".join(text))


def update_results(rows: list[Row], facts: dict[str, str], when: str, only: str) -> None:
    """A run of some sections (--only) replaces their rows and notes in RESULTS.md, keeps the
    others, and says which rows were measured when (with the load at the time)."""
    lines = RESULTS.read_text().splitlines()
    table = dict(zip((r.name for r in rows), table_lines(rows, markdown=True)[2:]))
    for k, line in enumerate(lines):
        for r in rows:
            if line.startswith(f"| {r.name} |"):
                lines[k] = table[r.name]
            elif line.startswith(f"- **{r.name}**:"):
                lines[k] = (f"- **{r.name}**: {r.note} (measured {when} with `--only {only}`; "
                            f"load average {facts.get('load average', '?')})")
    RESULTS.write_text("\n".join(lines) + "\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="few rounds, for a look while working; does not write RESULTS.md")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections to run (of {', '.join(SECTIONS)}); "
                             f"a run of some sections updates only their rows of RESULTS.md")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    if unknown := set(chosen) - set(SECTIONS):
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        if {"tensor", "xor"} & set(chosen):
            sys.exit("torch is missing: run `python3 run.py bench` from the repository root")

    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    facts = machine()
    print("compgraph benchmarks, " + when)
    print("; ".join(f"{k} {v}" for k, v in facts.items()), flush=True)
    benches = {"scalar": bench_scalar, "tensor": bench_tensor, "xor": bench_xor,
               "retrain": bench_retrain, "scale": bench_scale,
               "notebooks": bench_notebooks}
    rows = [benches[s](args.quick) for s in SECTIONS if s in chosen]
    print()
    print("\n".join(table_lines(rows, markdown=False)))
    for r in rows:
        if r.note:
            print(f"  {r.name}: {r.note}")
    if args.quick:
        print("\n(--quick: RESULTS.md not written)")
    elif set(chosen) != set(SECTIONS) and RESULTS.exists():
        update_results(rows, facts, when, args.only)
        print(f"\nupdated the rows of {', '.join(chosen)} in {RESULTS.relative_to(ROOT)}")
    else:
        write_results(rows, facts, when)
        print(f"\nwrote {RESULTS.relative_to(ROOT)}")
        subprocess.call([sys.executable, str(HERE / "browser.py")])  # adds the browser rows
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
