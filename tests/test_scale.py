"""Cost in proportion to the graph: memory per node, and a tenth pass that costs what the second
does, on a 100,000-op scalar chain and a 10,000-op chain of small arrays.

Memory is measured with tracemalloc (what Python allocates: the nodes, the graph, a pass's values
and gradients), from before the graph is built. The steady state after 1 and after 10 passes of
forward + backward must stay within BYTES_PER_NODE per node, and the 10th pass must allocate no
more than the 2nd (nothing piles up from pass to pass). Time is checked loosely, since the
machine may be shared: the 10th pass within 3× the 2nd, and a generous cap per pass. Speed itself
is measured side by side in benchmarks/, not asserted here.

The passes run in a child process (this file, run as a script), which reports each pass as it
ends; the test checks each report as it arrives and stops the child at the first bound exceeded,
or when a pass overruns its time or the child's memory grows past RSS_LIMIT. An engine whose cost
runs away therefore fails in seconds instead of filling the machine; and the measurement sees
only this graph, not what earlier tests left behind.
"""

from __future__ import annotations

import json
import math
import os
import queue
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

SCALAR_OPS = 100_000
ARRAY_OPS = 10_000
BYTES_PER_NODE = 2048
PASSES = 10
#: A pass (forward + backward) of either chain must finish within this, on any machine.
SECONDS_PER_PASS = 10.0
#: Under tracemalloc, which slows every allocation, a pass gets this many times longer.
TRACED_SLOWER = 6.0
#: Building the chain (and for memory, importing and starting tracemalloc) may take this long.
SECONDS_TO_BUILD = 120.0
#: The 10th pass may take at most this many times the 2nd (noise on a shared machine included).
SLOWDOWN = 3.0
#: The child process is stopped if its resident memory grows past this.
RSS_LIMIT = 2 << 30


# --- the chains -----------------------------------------------------------------------------------

def scalar_chain() -> tuple:
    """x → tanh(x·w) → tanh(·w) → … : 100,000 ops, one shared Param."""
    import compgraph as cg
    x, w = cg.Input("x"), cg.Param("w", 0.9)
    h = x
    for _ in range(SCALAR_OPS // 2):
        h = cg.tanh(h * w)
    graph = cg.Graph(h)
    assert len(graph.ops) == SCALAR_OPS

    def check() -> None:  # the value, against the same chain in plain Python
        v = 0.5
        for _ in range(SCALAR_OPS // 2):
            v = math.tanh(v * 0.9)
        assert abs(graph.value(h) - v) <= 1e-12 * abs(v), (graph.value(h), v)
        assert math.isfinite(graph.grad(w)) and graph.grad(x) > 0.0
    return graph, {"x": 0.5}, check


def array_chain() -> tuple:
    """h ← tanh(h @ W + b) on vectors of 4, layer after layer: 10,000 ops, then their sum."""
    import compgraph as cg
    rng = np.random.default_rng(0)
    W = cg.Param("W", np.eye(4) + 0.1 * rng.standard_normal((4, 4)))
    b = cg.Param("b", 0.1 * rng.standard_normal(4))
    x = cg.Input("x")
    h = x
    layers = (ARRAY_OPS - 1) // 3
    for _ in range(layers):
        h = cg.tanh(h @ W + b)
    out = cg.sum(h)
    graph = cg.Graph(out)
    assert len(graph.ops) == 3 * layers + 1
    x_value = np.array([0.5, -0.25, 0.125, 1.0])

    def check() -> None:
        v = x_value
        for _ in range(layers):
            v = np.tanh(v @ W.value + b.value)
        assert abs(graph.value(out) - float(np.sum(v))) <= 1e-9 * abs(float(np.sum(v)))
        assert np.all(np.isfinite(graph.grad(W))) and graph.grad(W).shape == (4, 4)
    return graph, {"x": x_value}, check


CHAINS: dict[str, Callable[[], tuple]] = {"scalar": scalar_chain, "array": array_chain}


# --- the child: build a chain, run the passes, report each ----------------------------------------

def child(chain: str, mode: str) -> None:
    def report(**record) -> None:
        print(json.dumps(record), flush=True)

    traced = mode == "memory"
    if traced:
        tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0] if traced else 0
    graph, inputs, check = CHAINS[chain]()
    nodes = len(graph.nodes)
    report(built=True, nodes=nodes,
           held=tracemalloc.get_traced_memory()[0] - start if traced else None)
    for k in range(1, PASSES + 1):
        before = tracemalloc.get_traced_memory()[0] if traced else 0
        if traced:
            tracemalloc.reset_peak()
        t0 = time.perf_counter()
        graph.forward(**inputs)
        graph.backward()  # the returned mapping is dropped, as a training loop drops it
        seconds = time.perf_counter() - t0
        if traced:
            current, peak = tracemalloc.get_traced_memory()
            report(passes=k, seconds=seconds, held=current - start, allocated=peak - before)
        else:
            report(passes=k, seconds=seconds)
    check()
    report(checked=True)


# --- the parent: watch the child's reports --------------------------------------------------------

def _rss(pid: int) -> int | None:
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None  # not Linux: no memory guard, the time limits still hold
    return pages * os.sysconf("SC_PAGE_SIZE")


def run_child(chain: str, mode: str, check_record: Callable[[dict], None]) -> list[dict]:
    """Run the child, hand each report to check_record as it arrives, and stop the child at the
    first failed check, an overrun or too much memory. Returns the reports."""
    per_pass = SECONDS_PER_PASS * (TRACED_SLOWER if mode == "memory" else 1.0) + 5.0
    proc = subprocess.Popen([sys.executable, __file__, chain, mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)
    threading.Thread(target=read, daemon=True).start()
    records: list[dict] = []
    deadline = time.monotonic() + SECONDS_TO_BUILD
    try:
        while True:
            try:
                line = lines.get(timeout=0.25)
            except queue.Empty:
                line = ""
            if line == "":  # nothing new: is the child within its limits?
                rss = _rss(proc.pid)
                doing = f"pass {len(records)}" if records else "building the chain"
                assert rss is None or rss <= RSS_LIMIT, \
                    f"{chain} chain: the process holds {rss / 2**30:.1f} GB during {doing} " \
                    f"(reports so far: {records})"
                limit = per_pass if records else SECONDS_TO_BUILD
                assert time.monotonic() <= deadline, \
                    f"{chain} chain: {doing} did not end within {limit:.0f} s " \
                    f"(reports so far: {records})"
                continue
            if line is None:
                break
            record = json.loads(line)
            records.append(record)
            check_record(record)
            deadline = time.monotonic() + per_pass
        proc.wait(timeout=30)
        assert proc.returncode == 0, f"{chain} chain, {mode}: {proc.stderr.read()[-3000:]}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert records and records[-1].get("checked"), records
    return records


@pytest.mark.parametrize("chain", list(CHAINS))
def test_memory_per_node_stays_bounded_over_ten_passes(chain):
    nodes = 0

    def check(record: dict) -> None:
        nonlocal nodes
        if record.get("built"):
            nodes = record["nodes"]
        elif "passes" in record:
            per_node = record["held"] / nodes
            assert per_node <= BYTES_PER_NODE, \
                f"{chain} chain: {per_node:,.0f} bytes per node after pass {record['passes']}"

    records = run_child(chain, "memory", check)
    passes = [r for r in records if "passes" in r]
    assert len(passes) == PASSES
    second, tenth = passes[1], passes[-1]
    slack = 64 * nodes  # the allocator's and fixed-size caches' noise
    assert tenth["allocated"] <= 1.1 * second["allocated"] + slack, \
        f"{chain} chain: pass 10 allocated {tenth['allocated']:,} bytes, pass 2 " \
        f"{second['allocated']:,}"
    assert tenth["held"] <= second["held"] + slack, \
        f"{chain} chain: {second['held']:,} bytes held after pass 2, {tenth['held']:,} after 10"


@pytest.mark.parametrize("chain", list(CHAINS))
def test_the_tenth_pass_takes_about_what_the_second_does(chain):
    def check(record: dict) -> None:
        if "passes" in record:
            assert record["seconds"] <= SECONDS_PER_PASS, \
                f"{chain} chain: pass {record['passes']} took {record['seconds']:.1f} s"

    seconds = [r["seconds"] for r in run_child(chain, "time", check) if "passes" in r]
    # one noisy pass may be slow: the faster of the last two against the slower of passes 2, 3
    late, early = min(seconds[-2:]), max(seconds[1:3])
    assert late <= SLOWDOWN * early + 0.05, \
        f"{chain} chain: late passes take {late:.3f} s, early ones {early:.3f} s " \
        f"(every pass: {[round(s, 3) for s in seconds]})"


if __name__ == "__main__":  # the child process: python tests/test_scale.py CHAIN MODE
    child(sys.argv[1], sys.argv[2])
