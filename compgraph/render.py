"""Drawing a graph with graphviz, one frame per step of a trace, on a layout that never moves.

The layout is computed once per graph (dot, with every number replaced by a wide placeholder, so
nodes are big enough for any value); each frame then pins every node and edge where that layout
put them and is drawn by `neato -n2`, which places nothing itself. Values change, positions don't.
"""

from __future__ import annotations

import html
import json
import subprocess
from dataclasses import dataclass, field
from typing import Any

import graphviz
import numpy as np

from .errors import CompgraphError
from .graph import CONST, INPUT, OP, PARAM, Graph, Node
from .ops import Value
from .trace import BackwardStep, TangentStep, Trace, edge_text, fmt, formula

# Okabe–Ito colours (safe for colour-blind readers): pale fills, full-strength borders.
ROLE_STYLE = {  # role: (fill, border, legend text)
    INPUT: ("#D4EBF8", "#56B4E9", "input"),
    PARAM: ("#FBE3B4", "#E69F00", "parameter"),
    CONST: ("#EBEBEB", "#999999", "constant"),
    OP: ("#FFFFFF", "#555555", "operation"),
    "output": ("#C9EDE0", "#009E73", "output / loss"),
}
FORWARD_COLOUR = "#0072B2"   # the node being computed
BACKWARD_COLOUR = "#D55E00"  # the edge being traversed, and gradients
PENDING_COLOUR = "#9A9A9A"   # values not computed yet
PATH_COLOUR = "#CC79A7"      # a path from the output to a leaf
DIRECTIONS = ("LR", "BT", "TB", "RL")
WIDE_NUMBER = -1.234e-05     # placeholder as wide as any 4-significant-digit number

INSTALL_DOT = ("graphviz's `dot` program is not installed, so graphs cannot be drawn.\n"
               "Install it, then restart the kernel:\n"
               "  Debian/Ubuntu:  sudo apt-get install graphviz\n"
               "  macOS:          brew install graphviz\n"
               "  conda:          conda install -c conda-forge graphviz\n"
               "(`python3 run.py lab` installs it for you where it can.)")


class GraphvizMissing(CompgraphError, RuntimeError):
    """graphviz's `dot` executable could not be found."""


@dataclass
class Frame:
    """What one picture shows: known values and gradients, and what is highlighted."""

    values: dict[Node, Value] = field(default_factory=dict)
    grads: dict[Node, Value] = field(default_factory=dict)
    current_node: Node | None = None       # forward: the node just computed
    current_edge: tuple[Node, int] | None = None  # backward: (parent, input slot)
    done_edges: set[tuple[Node, int]] = field(default_factory=set)
    backward: bool = False
    wrt: Node | None = None    # forward mode: grads hold d node / d wrt
    marked_edges: set[tuple[Node, int]] = field(default_factory=set)  # a path being explored


def frames(trace: Trace) -> list[Frame]:
    """One Frame per step, read off the trace (no math of its own)."""
    result, values, grads, done = [], {}, {}, set()
    graph = trace.graph
    consts = {n: graph.value(n) for n in graph.nodes if n.role == CONST}
    for step in trace:
        if isinstance(step, TangentStep):
            values = {**values, step.node: step.value}
            grads = {**grads, step.node: step.tangent}
            result.append(Frame({**consts, **values}, grads, step.node, wrt=step.wrt))
        elif isinstance(step, BackwardStep):
            grads = {**grads, step.child: step.total}
            edge = None if step.parent is None else (step.parent, step.slot)
            result.append(Frame({**consts, **values}, grads, step.child if edge is None else None,
                                edge, set(done), backward=True))
            if edge is not None:
                done = done | {edge}
        else:
            values = {**values, step.node: step.value}
            result.append(Frame({**consts, **values}, dict(grads), step.node))
    return result


def final_frame(graph: Graph) -> Frame:
    """Whatever the graph holds now: values after forward(), gradients after backward()."""
    # before forward() only the leaves' values mean anything (ops may hold a failed pass's, or
    # another graph's)
    values = graph.values or {n: n.value for n in graph.nodes
                              if n.value is not None and n.op is None}
    return Frame(values, dict(graph.grads or {}))


# --- labels ------------------------------------------------------------------------------------

def _text(value: Value | None) -> str:
    if value is None:
        return "?"
    if type(value) is float:
        return fmt(value)
    shape = "×".join(map(str, value.shape)) or "scalar"
    return f"{shape}: {fmt(value)}" if value.size <= 6 else f"{shape} array"


def _wide(value: Value | None) -> Value | None:
    """A stand-in at least as wide as any value of this shape, for the one-off layout."""
    if value is None or type(value) is float:
        return WIDE_NUMBER
    return np.full(value.shape, WIDE_NUMBER)


def _role(graph: Graph, node: Node) -> str:
    return "output" if node is graph.output else node.role


def node_label(graph: Graph, node: Node, value: Value | None, grad: Value | None,
               known: bool, wrt: Node | None = None) -> str:
    name = html.escape(node.name)
    head = f"<B>{name}</B>"
    if node.op is not None:
        head += " = " + html.escape(formula(node))
    colour = "#000000" if known else PENDING_COLOUR
    rows = [head, f'<FONT COLOR="{colour}">{html.escape(_text(value if known else None))}</FONT>']
    if grad is not None:
        d = (f"∂{name}/∂{html.escape(wrt.name)}" if wrt is not None
             else f"∂{html.escape(graph.output.name)}/∂{name}")
        colour = FORWARD_COLOUR if wrt is not None else BACKWARD_COLOUR
        rows.append(f'<FONT COLOR="{colour}">{d} = {html.escape(_text(grad))}</FONT>')
    cells = "".join(f"<TR><TD>{row}</TD></TR>" for row in rows)
    return f'<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="1">{cells}</TABLE>>'


def edge_label(parent: Node, slot: int, values_known: bool, values: dict[Node, Value]) -> str:
    """The edge's label, as trace.edge_text writes it, from `values` (a frame's: the graph may
    hold a later or a failed pass by now)."""
    return edge_text(parent, slot, values if values_known else {})


# --- layout and drawing ------------------------------------------------------------------------

def _dot_source(graph: Graph, frame: Frame, rankdir: str, layout: Layout | None,
                wide: bool = False) -> str:
    index = graph.position
    shapes_from = graph.values or {n: n.value for n in graph.nodes}
    lines = ["digraph compgraph {",
             f'  graph [rankdir={rankdir}, nodesep=0.35, ranksep=0.55, bgcolor="white", '
             f'fontname="Helvetica", pad=0.15];',
             '  node [fontname="Helvetica", fontsize=11, style="filled,rounded", shape=box];',
             '  edge [fontname="Helvetica", fontsize=10, color="#666666", arrowsize=0.7];']
    for node in graph.nodes:
        i = index[node]
        fill, border, _ = ROLE_STYLE[_role(graph, node)]
        known = node in frame.values
        if wide:
            value = _wide(shapes_from.get(node))
            label = node_label(graph, node, value, value, True)
        else:
            label = node_label(graph, node, frame.values.get(node), frame.grads.get(node), known,
                               frame.wrt)
        attrs = {"label": label, "fillcolor": fill, "color": border, "penwidth": "1.2"}
        if node.op is None:
            attrs["style"] = "filled"
            attrs["shape"] = "ellipse" if node.role != PARAM else "box"
        if node is frame.current_node:
            attrs["color"] = BACKWARD_COLOUR if frame.backward else FORWARD_COLOUR
            attrs["penwidth"] = "3.5"
        if layout is not None:
            x, y, w, h = layout.nodes[i]
            attrs.update(pos=f"{x},{y}!", width=str(w), height=str(h), fixedsize="true")
        lines.append(f"  n{i} [{_attrs(attrs)}];")
    edge_number = 0
    for node in graph.nodes:
        for slot, child in enumerate(node.children):
            key = (node, slot)
            label = edge_label(node, slot, not wide and node in frame.values, frame.values)
            if wide:
                wide_values = {n: _wide(shapes_from.get(n)) for n in (node, *node.children)}
                label = edge_text(node, slot, wide_values, placeholder=fmt(WIDE_NUMBER))
            attrs = {"label": _escape(label), "id": f"e{edge_number}"}
            if key in frame.marked_edges:
                attrs.update(color=PATH_COLOUR, fontcolor=PATH_COLOUR, penwidth="3.5")
            elif key == frame.current_edge:
                attrs.update(color=BACKWARD_COLOUR, fontcolor=BACKWARD_COLOUR, penwidth="3.5")
            elif frame.wrt is not None and node is frame.current_node:
                attrs.update(color=FORWARD_COLOUR, fontcolor=FORWARD_COLOUR, penwidth="2.5")
            elif key in frame.done_edges:
                attrs.update(color=BACKWARD_COLOUR, penwidth="1.6")
            if layout is not None:
                spline, label_pos = layout.edges[edge_number]
                attrs.update(pos=spline, lp=label_pos)
            lines.append(f"  n{index[child]} -> n{index[node]} [{_attrs(attrs)}];")
            edge_number += 1
    if layout is not None:
        lines.append(f'  graph [bb="{layout.bbox}"];')
    lines.append("}")
    return "\n".join(lines)


def _attrs(attrs: dict[str, str]) -> str:
    """DOT attribute list: HTML labels (<...>) go in as they are, everything else quoted."""
    return ", ".join(f"{k}={v}" if v.startswith("<") else f'{k}="{v}"'
                     for k, v in attrs.items())


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass(frozen=True)
class Layout:
    """Node centres and sizes, edge splines and label positions, from one run of dot."""

    nodes: list[tuple[float, float, float, float]]
    edges: list[tuple[str, str]]
    bbox: str


def _run_graphviz(args: list[str], source: str) -> str:
    try:
        done = subprocess.run(args, input=source.encode(), capture_output=True, check=False)
    except FileNotFoundError:
        raise GraphvizMissing(INSTALL_DOT) from None
    if done.returncode != 0:
        raise CompgraphError(f"graphviz failed: {done.stderr.decode(errors='replace')[:500]}")
    return done.stdout.decode()


LAYOUT_RUNS = 0  # how many times dot has laid out a graph in this process


def compute_layout(graph: Graph, rankdir: str = "LR") -> Layout:
    """Run dot once on placeholder labels and keep where it put everything."""
    global LAYOUT_RUNS
    LAYOUT_RUNS += 1
    laid = json.loads(_run_graphviz(["dot", "-Tjson"], _dot_source(graph, Frame(), rankdir,
                                                                  None, wide=True)))
    nodes = {}
    for obj in laid.get("objects", []):
        x, y = obj["pos"].split(",")
        nodes[int(obj["name"][1:])] = (float(x), float(y), float(obj["width"]),
                                       float(obj["height"]))
    # dot numbers edges by their tail node; our own ids give them back in our order
    by_id = {e["id"]: (e["pos"], e.get("lp", "0,0")) for e in laid.get("edges", [])}
    edges = [by_id[f"e{k}"] for k in range(len(by_id))]
    return Layout([nodes[i] for i in range(len(graph.nodes))], edges, laid["bb"])


class Picture(graphviz.Source):
    """A graphviz object whose node positions are pinned: it is drawn by `neato -n2`, which keeps
    every position given to it. Displays as SVG in Jupyter; `.svg` holds the drawing."""

    def __init__(self, source: str):
        super().__init__(source, engine="neato", format="svg")
        self._svg: str | None = None

    def pipe(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("neato_no_op", 2)
        kwargs.setdefault("quiet", True)  # graphviz's size warnings would land in cell outputs
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound:
            raise GraphvizMissing(INSTALL_DOT) from None

    @property
    def svg(self) -> str:
        if self._svg is None:
            self._svg = self.pipe(format="svg", encoding="utf-8")
        return self._svg

    def _repr_image_svg_xml(self) -> str:
        return self.svg

    def __repr__(self) -> str:  # stable text, unlike the default's memory address
        return f"<compgraph.Picture: {self.source.count(' -> ')} edges>"


class Renderer:
    """Draws frames of one graph on one layout, each frame's SVG computed once and cached."""

    def __init__(self, graph: Graph, rankdir: str = "LR"):
        if rankdir not in DIRECTIONS:
            raise CompgraphError(f"rankdir must be one of {DIRECTIONS}, got {rankdir!r}")
        self.graph = graph
        self.rankdir = rankdir
        self._runs_before = LAYOUT_RUNS
        self.layout = compute_layout(graph, rankdir)

    @property
    def layouts_computed(self) -> int:
        """Layouts run since this renderer was made, its own included: drawing frames adds none
        (the tests and benchmarks check this stays 1 while stepping)."""
        return LAYOUT_RUNS - self._runs_before

    def picture(self, frame: Frame) -> Picture:
        return Picture(_dot_source(self.graph, frame, self.rankdir, self.layout))


def render(graph: Graph, trace: Trace | None = None, step: int | None = None,
           rankdir: str = "LR") -> Picture:
    """The graph as a picture: with a trace and a step, that step highlighted; otherwise the
    values and gradients the graph holds now. rankdir "LR" (default) or "BT" (bottom to top)."""
    renderer = Renderer(graph, rankdir)
    if trace is None:
        return renderer.picture(final_frame(graph))
    all_frames = frames(trace)
    return renderer.picture(all_frames[-1 if step is None else step])


def _key() -> list[tuple[str, str, str]]:
    """(fill, border, meaning) for every colour the pictures use."""
    return [*ROLE_STYLE.values(), ("#FFFFFF", FORWARD_COLOUR, "computing (forward)"),
            (BACKWARD_COLOUR, BACKWARD_COLOUR, "gradient flowing (backward)")]


def legend() -> Picture:
    """A small key to the colours, as a picture."""
    rows = "".join(f'<TR><TD BGCOLOR="{fill}" BORDER="2" COLOR="{border}" WIDTH="18"></TD>'
                   f'<TD ALIGN="LEFT">{text}</TD></TR>' for fill, border, text in _key())
    source = ('digraph legend { node [shape=plaintext, fontname="Helvetica", fontsize=10]; '
              f'key [pos="0,0!", label=<<TABLE BORDER="0" CELLSPACING="3">{rows}</TABLE>>]; }}')
    return Picture(source)


def legend_html() -> str:
    """The same key as one line of HTML, for widgets."""
    swatch = ('<span style="display:inline-block; width:12px; height:12px; margin:0 4px 0 12px; '
              'vertical-align:middle; background:{}; border:2px solid {}"></span>{}')
    items = "".join(swatch.format(fill, border, text) for fill, border, text in _key())
    return f'<div style="font-size: 12px; color: #444">{items}</div>'
