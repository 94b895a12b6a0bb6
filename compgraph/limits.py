"""Size limits of the entry points whose cost grows faster than the graph: drawing, stepping,
listing paths. Forward, backward and training have none (a 100,000-op chain runs).

Each limit is a module constant, read when the entry point is called, so a notebook may raise
one (`compgraph.limits.MAX_DRAW_NODES = 2000`) at its own risk of a slow cell.
"""

from __future__ import annotations

from .errors import SizeError

#: Nodes that render() and the widgets draw: graphviz's layout of 10,000 nodes takes minutes and
#: gives a picture nobody can read; a few hundred is already large on screen. (The same number as
#: scene.py's check_drawable checks it.)
MAX_DRAW_NODES = 300
#: Steps a stepping widget (Stepper, render(graph, trace)) holds: one frame per step.
MAX_STEPS = 5_000
#: Steps trace() records. Memory is linear in the number of steps (a step stores its own
#: contribution), about 1 KB each, so this bounds a trace to a few hundred MB.
MAX_TRACE_STEPS = 200_000
#: Paths graph.paths() lists by default: their number doubles with every diamond in a row
#: (13 diamonds give 8,192; 22 give 4,194,304, which took a minute and 5.7 GB to list).
MAX_PATHS = 10_000
#: Paths PathExplorer offers in its menu: each is a line of explanation and a highlighted route,
#: and more than a screenful teaches nothing. They are counted, not listed, before refusing.
MAX_EXPLORER_PATHS = 50


def check_size(what: str, count: int, limit: int, advice: str, unit: str = "nodes") -> None:
    """Raise SizeError if `count` exceeds `limit`, with both numbers and what to do instead."""
    if count > limit:
        raise SizeError(f"{what}: {count:,} {unit}, more than the limit of {limit:,}; {advice}")
