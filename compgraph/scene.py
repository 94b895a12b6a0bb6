"""What the browser front end shows: one drawing of a graph, plus what each step changes.

A drawing is laid out once, with every changing text at its widest (a placeholder number), so no
later text can push anything around. Its parts carry stable ids: node `n3` with its value line
`n3-v` and gradient line `n3-g`, edge `e5` with its label `e5-l`. A step is then a small delta:
new texts for some ids, new CSS classes for some ids (current, done, pending, path), and the
words for the explanation, the position and screen readers. Memory grows with what changes, not
with the graph times the number of steps.

The same data serves the kernel's static pictures (`apply_state` writes a step into the SVG) and
the browser (compgraph/static/*.js applies steps itself, without the kernel).
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import limits
from .errors import CompgraphError
from .graph import Graph
from .nodes import CONST, INPUT, OP, PARAM, Node
from .ops import Value
from .trace import BackwardStep, TangentStep, Trace, edge_text, fmt, formula

# Okabe–Ito hues as pale fills with full-strength borders; node text is dark on every fill, so the
# drawing reads the same on a light or a dark page.
ROLE_STYLE = {  # role: (fill, border, legend text)
    INPUT: ("#D4EBF8", "#56B4E9", "input"),
    PARAM: ("#FBE3B4", "#E69F00", "parameter"),
    CONST: ("#EBEBEB", "#999999", "constant"),
    OP: ("#FFFFFF", "#555555", "operation"),
    "output": ("#C9EDE0", "#009E73", "output / loss"),
}
TEXT_COLOUR = "#1A1A1A"
EDGE_COLOUR = "#8C8C8C"        # visible on white (3.4:1) and on near-black (5.6:1)
LABEL_BACKGROUND = "#FFFFFF"   # edge labels sit on their own pale chip
WIDE_NUMBER = -1.234e-05       # placeholder as wide as any 4-significant-digit number
DIRECTIONS = ("LR", "BT", "TB", "RL")
KIND_NAMES = {"forward": "forward", "backward": "backward", "tangent": "forward mode"}

LAYOUT_RUNS = 0  # how many times graphviz has laid out a graph in this process (tests count it)


class GraphvizMissing(CompgraphError, RuntimeError):
    """graphviz's `dot` executable could not be found (only for kernel-side SVG; the browser front
    end lays graphs out itself)."""


INSTALL_DOT = ("graphviz's `dot` program is not installed, so the kernel cannot make the SVG.\n"
               "The widgets and pictures still draw in the browser; for `.svg`, `.pipe()` and "
               "files, install it and restart the kernel:\n"
               "  Debian/Ubuntu:  sudo apt-get install graphviz\n"
               "  macOS:          brew install graphviz\n"
               "  conda:          conda install -c conda-forge graphviz")


def have_dot() -> bool:
    return shutil.which("dot") is not None


def run_dot(source: str, fmt_: str = "svg") -> str:
    """Lay out and draw DOT with the kernel machine's graphviz."""
    return run_dot_bytes(source, fmt_).decode()


def run_dot_bytes(source: str, fmt_: str) -> bytes:
    """The same, for any output format (png is binary)."""
    try:
        done = subprocess.run(["dot", f"-T{fmt_}"], input=source.encode(), capture_output=True,
                              check=False)
    except FileNotFoundError:
        raise GraphvizMissing(INSTALL_DOT) from None
    if done.returncode != 0:
        raise CompgraphError(f"graphviz failed: {done.stderr.decode(errors='replace')[:500]}")
    return done.stdout


# --- texts -------------------------------------------------------------------------------------

def value_text(value: Value | None) -> str:
    """A value as a node shows it: a number, a small array in full, a large one by its shape."""
    if value is None:
        return "?"
    if type(value) is float:
        return fmt(value)
    shape = "×".join(map(str, value.shape)) or "scalar"
    return f"{shape}: {fmt(value)}" if value.size <= 6 else f"{shape} array"


def _wide(value: Value | None) -> Value:
    """A stand-in at least as wide as any value of this shape, for the one-off layout."""
    if value is None or type(value) is float:
        return WIDE_NUMBER
    return np.full(value.shape, WIDE_NUMBER)


def _role(graph: Graph, node: Node) -> str:
    return "output" if node is graph.output else node.role


def check_drawable(graph: Graph) -> None:
    # beyond the limit a drawing is unreadable and slow to lay out (limits.py)
    limits.check_size("this graph is too big to draw", len(graph.nodes), limits.MAX_DRAW_NODES,
                      "draw a part of it, e.g. cg.Graph(<an inner node>), or use a smaller "
                      "network; forward(), backward() and training have no such limit")


@dataclass
class Drawing:
    """One graph laid out once: DOT with stable ids and every changing text at its widest, and
    the SVG that `dot` makes of it where the kernel's machine has `dot` (else None: the browser
    lays the same DOT out with its WebAssembly graphviz)."""

    graph: Graph
    rankdir: str = "LR"
    wrt: Node | None = None          # forward mode: gradient lines read ∂node/∂wrt
    dot: str = ""
    svg: str | None = None
    edges: list[tuple[Node, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        global LAYOUT_RUNS
        if self.rankdir not in DIRECTIONS:
            raise CompgraphError(f"rankdir must be one of {DIRECTIONS}, got {self.rankdir!r}")
        check_drawable(self.graph)
        self.index = self.graph.position
        self.edges = [(node, slot) for node in self.graph.nodes
                      for slot in range(len(node.children))]
        self.edge_id = {edge: f"e{k}" for k, edge in enumerate(self.edges)}
        self.edge_rows: dict[str, int] = {}  # label lines per edge, fixed by the layout
        self.dot = self.source(self.wide_texts())
        if have_dot():
            LAYOUT_RUNS += 1
            self.svg = tag_svg(run_dot(self.dot))

    # ids
    def node_id(self, node: Node) -> str:
        return f"n{self.index[node]}"

    def grad_name(self, node: Node) -> str:
        if self.wrt is not None:
            return f"∂{node.name}/∂{self.wrt.name}"
        return f"∂{self.graph.output.name}/∂{node.name}"

    def grad_text(self, node: Node, grad: Value | None) -> str:
        if grad is None:
            return ""
        return " ".join(f"{self.grad_name(node)} = {value_text(grad)}".splitlines())

    def edge_lines(self, parent: Node, slot: int, values: dict[Node, Value]) -> dict[str, str]:
        """The edge's label as trace.edge_text writes it (from `values`, a step's: the graph may
        hold a later pass by now), one text per label line the layout made room for."""
        e = self.edge_id[parent, slot]
        lines = edge_text(parent, slot, values).split("\n")
        rows = self.edge_rows.get(e, 1)
        lines = lines[:rows - 1] + [" · ".join(lines[rows - 1:])] if len(lines) > rows else lines
        lines += [""] * (rows - len(lines))
        return {f"{e}-l{'' if k == 0 else k + 1}": line for k, line in enumerate(lines)}

    def wide_texts(self) -> dict[str, str]:
        shapes = self.graph.values or {n: n.value for n in self.graph.nodes}
        texts = {}
        for node in self.graph.nodes:
            i = self.node_id(node)
            wide = _wide(shapes.get(node))
            texts[f"{i}-v"] = value_text(wide)
            if node.role != CONST:
                texts[f"{i}-g"] = self.grad_text(node, wide)
        wide = fmt(WIDE_NUMBER)
        for (parent, slot), e in self.edge_id.items():
            known = {n: _wide(shapes.get(n)) for n in (parent, *parent.children)
                     if n in shapes and shapes[n] is not None}
            lines = edge_text(parent, slot, known, placeholder=wide).split("\n")
            self.edge_rows[e] = len(lines)
            for k, line in enumerate(lines):
                texts[f"{e}-l{'' if k == 0 else k + 1}"] = line
        return texts

    def source(self, texts: dict[str, str], classes: dict[str, str] | None = None) -> str:
        """DOT for the drawing; `texts` gives every changing line. `classes` (optional) bakes a
        state's highlights into plain graphviz colours, for formats that carry no CSS (PNG)."""
        classes = classes or {}
        lines = ["digraph compgraph {",
                 f'  graph [rankdir={self.rankdir}, nodesep=0.35, ranksep=0.5, '
                 f'bgcolor="transparent", fontname="Helvetica", pad=0.1];',
                 f'  node [fontname="Helvetica", fontsize=11, fontcolor="{TEXT_COLOUR}", '
                 f'style="filled,rounded", shape=box, penwidth=1.2];',
                 f'  edge [fontname="Helvetica", fontsize=10, fontcolor="{TEXT_COLOUR}", '
                 f'color="{EDGE_COLOUR}", arrowsize=0.7];']
        for node in self.graph.nodes:
            i = self.node_id(node)
            fill, border, _ = ROLE_STYLE[_role(self.graph, node)]
            head = node.name if node.op is None else f"{node.name} = {formula(node)}"
            rows = [head, texts[f"{i}-v"]]
            if node.role != CONST:
                rows.append(texts[f"{i}-g"])
            # one row, one line: a name holding a newline must not shift the rows' ids
            label = "\n".join(" ".join(row.splitlines()) for row in rows)
            attrs = {"id": i, "label": label, "fillcolor": fill, "color": border}
            if node.op is None:
                attrs["style"] = "filled"
                attrs["shape"] = "box" if node.role == PARAM else "ellipse"
            if "cg-current" in classes.get(i, ""):
                attrs["penwidth"] = "3"
            lines.append(f"  {i} [{_attrs(attrs)}];")
        for (parent, slot), e in self.edge_id.items():
            child = parent.children[slot]
            rows = [texts.get(f"{e}-l{'' if k == 0 else k + 1}", "")
                    for k in range(self.edge_rows.get(e, 1))]
            cells = "".join(f"<TR><TD>{html.escape(' '.join(row.splitlines()))}</TD></TR>"
                            for row in rows)
            attrs = {"id": e, "label": HtmlLabel(
                f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1" '
                f'BGCOLOR="{LABEL_BACKGROUND}">{cells}</TABLE>')}
            if parent.op is not None and parent.op.name == "copy":
                # a copy is drawn beside its consumer: the edge from the shared value may stretch
                attrs["weight"] = "0"
            state = classes.get(e, "")
            if "cg-current" in state or "cg-path" in state:
                attrs.update(penwidth="3", style="dashed" if "cg-current" in state else "solid")
            elif "cg-done" in state:
                attrs.update(penwidth="2")
            lines.append(f"  {self.node_id(child)} -> {self.node_id(parent)} [{_attrs(attrs)}];")
        lines.append("}")
        return "\n".join(lines)


class HtmlLabel(str):
    """A graphviz HTML-like label: written between < >, never quoted."""


def _attrs(attrs: dict[str, Any]) -> str:
    return ", ".join(f"{k}=<{v}>" if isinstance(v, HtmlLabel) else f'{k}="{quote(str(v))}"'
                     for k, v in attrs.items())


def quote(text: str) -> str:
    """Text for a DOT double-quoted string: backslashes would start graphviz escapes (\\N, \\l),
    quotes would end the string, newlines become graphviz's centred line breaks, and graphviz
    reads HTML entities (&amp;) even here."""
    return text.replace("&", "&amp;").replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


# --- the SVG: ids on the changing texts, states applied ---------------------------------------

_GROUP = re.compile(r'<g id="([ne]\d+)" class="(node|edge)[^"]*">(.*?)</g>', re.S)
_TEXT = re.compile(r"<text\b([^>]*)>(.*?)</text>", re.S)
ROLES = {"node": ["head", "value", "grad"], "edge": ["label"]}
SUFFIX = {"value": "-v", "grad": "-g", "label": "-l"}


def tag_svg(svg: str) -> str:
    """Give the changing texts of graphviz's SVG their ids and classes (graphviz keeps ids on
    nodes and edges, not on the lines of a label): a node's lines are head, value, gradient; an
    edge's label is its last text, on a white chip. Drops graphviz's <title> tooltips (they would
    read "n3"). static/graph_view.js does the same to an SVG drawn in the browser."""
    svg = re.sub(r"<title>.*?</title>\n?", "", svg[svg.index("<svg"):], flags=re.S)

    def one(group: re.Match) -> str:
        gid, kind, body = group.groups()
        texts = list(_TEXT.finditer(body))
        roles = ROLES["node"] if kind == "node" else ["label"] * len(texts)
        out, at = [], 0
        for k, (match, role) in enumerate(zip(texts, roles)):
            out.append(body[at:match.start()])
            attrs = match.group(1)
            if role is not None:
                suffix = SUFFIX.get(role, "")
                if kind == "edge" and k:
                    suffix += str(k + 1)  # the label's second line: e5-l2
                name = f' id="{gid}{suffix}"' if suffix else ""
                attrs = f'{name} class="cg-{role}"' + attrs
            out.append(f"<text{attrs}>{match.group(2)}</text>")
            at = match.end()
        out.append(body[at:])
        body = "".join(out)
        if kind == "edge":
            body = re.sub(r'<polygon fill="#ffffff"', '<polygon class="cg-chip" fill="#ffffff"',
                          body, flags=re.I)
            body = _centre_label(body)
        return f'<g id="{gid}" class="{kind}">{body}</g>'

    svg = _GROUP.sub(one, svg)
    return svg.replace("<svg ", '<svg class="cg-graph" ', 1)


def _centre_label(body: str) -> str:
    """Centre the label on its chip, so a shorter number than the placeholder stays centred."""
    chip = re.search(r'class="cg-chip"[^>]*points="([^"]+)"', body)
    if chip is None:
        return body
    xs = [float(p.split(",")[0]) for p in chip.group(1).split()]
    centre = f"{(min(xs) + max(xs)) / 2:.2f}"

    def centred(match: re.Match) -> str:
        attrs = re.sub(r'text-anchor="\w+"', 'text-anchor="middle"', match.group(1))
        attrs = re.sub(r' x="[^"]*"', f' x="{centre}"', attrs)
        return f"<text{attrs}>"
    return re.sub(r'<text( id="[^"]*-l\d*"[^>]*)>', centred, body)


def apply_state(svg: str, texts: dict[str, str], classes: dict[str, str]) -> str:
    """The tagged SVG with one state written in: texts by id, extra classes by id ('@' is the
    whole drawing)."""
    def text(match: re.Match) -> str:
        attrs, old = match.groups()
        found = re.search(r'id="([^"]+)"', attrs)
        if found and found.group(1) in texts:
            new = texts[found.group(1)]
            return f"<text{attrs}>{html.escape(new, quote=False)}</text>"
        return match.group(0)

    def group(match: re.Match) -> str:
        gid, kind = match.groups()
        extra = classes.get(gid, "")
        return f'<g id="{gid}" class="{kind}{" " + extra if extra else ""}"'

    svg = _TEXT.sub(text, svg)
    svg = re.sub(r'<g id="([ne]\d+)" class="(node|edge)"', group, svg)
    root = classes.get("@", "")
    if root:
        svg = svg.replace('<svg class="cg-graph"', f'<svg class="cg-graph {root}"', 1)
    return svg


# --- states and steps --------------------------------------------------------------------------

@dataclass
class State:
    """Everything a picture shows that can change: texts and classes by id."""

    texts: dict[str, str] = field(default_factory=dict)
    classes: dict[str, str] = field(default_factory=dict)

    def delta(self, new: State) -> dict[str, dict[str, str]]:
        return {"text": {k: v for k, v in new.texts.items() if self.texts.get(k) != v},
                "cls": {k: v for k, v in new.classes.items() if self.classes.get(k, "") != v}}

    def apply(self, delta: dict[str, dict[str, str]]) -> State:
        return State({**self.texts, **delta["text"]}, {**self.classes, **delta["cls"]})


class StateBuilder:
    """Keeps the state of a drawing as values, gradients and highlights arrive, and says what
    changed since it was last asked (`delta`): work and memory per step grow with what the step
    changes, not with the size of the graph."""

    def __init__(self, drawing: Drawing, values: dict[Node, Value] | None = None):
        self.d = drawing
        self.dirty_texts: set[str] = set()
        self.dirty: set = set()  # nodes and edges whose class may have changed
        self.values: dict[Node, Value] = {}
        self.texts: dict[str, str] = {}
        self.classes: dict[str, str] = {"@": ""}
        self.feeds: dict[Node, list] = {node: [] for node in drawing.graph.nodes}  # edges in
        self.uses: dict[Node, list] = {node: [] for node in drawing.graph.nodes}   # edges out
        for edge in drawing.edges:
            self.feeds[edge[0]].append(edge)
            self.uses[edge[0].children[edge[1]]].append(edge)
        self.current_node: Node | None = None
        self.current_edge: tuple[Node, int] | None = None
        self.feeding: list = []
        self.done: set = set()
        self.path: set = set()
        self.on_path: set = set()
        self.phase = ""
        for node in drawing.graph.nodes:
            i = drawing.node_id(node)
            self.texts[f"{i}-v"] = value_text(None)
            if node.role != CONST:
                self.texts[f"{i}-g"] = ""
        for parent, slot in drawing.edges:
            self.texts.update(drawing.edge_lines(parent, slot, {}))
        for node, value in (values or {}).items():
            self.set_value(node, value)
        for node in drawing.graph.nodes:
            self.classes[drawing.node_id(node)] = self._node_class(node)
        for edge, e in drawing.edge_id.items():
            self.classes[e] = self._edge_class(edge)
        self.dirty_texts, self.dirty = set(), set()

    # what is known
    def set_value(self, node: Node, value: Value) -> None:
        self.values[node] = value
        self._text(f"{self.d.node_id(node)}-v", value_text(value))
        for parent, slot in self.feeds[node] + self.uses[node]:  # labels read both ends
            for key, text in self.d.edge_lines(parent, slot, self.values).items():
                self._text(key, text)
        self._touch(node)

    def set_grad(self, node: Node, grad: Value) -> None:
        self._text(f"{self.d.node_id(node)}-g", self.d.grad_text(node, grad))

    # what is highlighted
    def highlight(self, *, current_node: Node | None = None,
                  current_edge: tuple[Node, int] | None = None, feeding: bool = False,
                  path_edges: set | frozenset = frozenset(), phase: str = "") -> None:
        self._touch(self.current_node, self.current_edge, *self.feeding)
        self.current_node, self.current_edge = current_node, current_edge
        self.feeding = self.feeds[current_node] if feeding and current_node is not None else []
        self._touch(current_node, current_edge, *self.feeding)
        if set(path_edges) != self.path:
            self._touch(*self.path, *self.on_path)
            self.path = set(path_edges)
            self.on_path = {n for parent, slot in self.path
                            for n in (parent, parent.children[slot])}
            self._touch(*self.path, *self.on_path)
        self.phase = phase

    def finish_edge(self, edge: tuple[Node, int]) -> None:
        """The edge has been traversed (backward): drawn as done from the next step on."""
        self.done.add(edge)
        self._touch(edge)

    # reading it out
    def delta(self) -> dict[str, dict[str, str]]:
        """What changed since the last call (or since the builder was made)."""
        # sorted: the same scene every run (it is stored in notebooks' widget state)
        texts = {i: self.texts[i] for i in sorted(self.dirty_texts)}
        classes = {}
        for item in self.dirty:
            if item is None:
                continue
            if isinstance(item, Node):
                key, cls = self.d.node_id(item), self._node_class(item)
            else:
                key, cls = self.d.edge_id[item], self._edge_class(item)
            if self.classes[key] != cls:
                self.classes[key] = classes[key] = cls
        root = f"cg-phase-{self.phase}" if self.phase else ""
        if self.classes["@"] != root:
            self.classes["@"] = classes["@"] = root
        self.dirty_texts, self.dirty = set(), set()
        return {"text": texts, "cls": dict(sorted(classes.items()))}

    def state(self) -> State:
        """Everything, as it stands now (the changes so far are taken as read)."""
        self.delta()
        return State(dict(self.texts), dict(self.classes))

    def _text(self, key: str, text: str) -> None:
        if self.texts.get(key) != text:
            self.texts[key] = text
            self.dirty_texts.add(key)

    def _touch(self, *items: Any) -> None:
        self.dirty.update(items)

    def _node_class(self, node: Node) -> str:
        cls = "cg-known" if node in self.values else "cg-pending"
        if node is self.current_node:
            cls += " cg-current"
        if node in self.on_path:
            cls += " cg-on-path"
        return cls

    def _edge_class(self, edge: tuple[Node, int]) -> str:
        cls = []
        if edge in self.path:
            cls.append("cg-path")
        if edge == self.current_edge:
            cls.append("cg-current")
        elif edge in self.feeding:
            cls.append("cg-feeding")
        if edge in self.done:
            cls.append("cg-done")
        return " ".join(cls)


def _position(step: Any, index: int, total: int, counts: dict[str, int],
              seen: dict[str, int]) -> str:
    return (f"step {index + 1} of {total} · {KIND_NAMES[step.kind]} "
            f"{seen[step.kind]}/{counts[step.kind]}")


def trace_scene(drawing: Drawing, trace: Trace) -> dict[str, Any]:
    """The scene of a Stepper: the start state and, for every step of the trace, what changes."""
    limits.check_size("this trace is too long to step through", len(trace), limits.MAX_STEPS,
                      "step through a smaller graph (cg.Graph(<an inner node>))", unit="steps")
    graph = drawing.graph
    consts = {n: graph.value(n) for n in graph.nodes if n.role == CONST} \
        if graph.forwarded else {}
    build = StateBuilder(drawing, consts)
    counts = {k: sum(s.kind == k for s in trace) for k in KIND_NAMES}
    seen = dict.fromkeys(KIND_NAMES, 0)
    base = build.state()
    steps = []
    finished = None  # the edge traversed at the step before: done from this step on
    # Each step keeps only what it changes: memory and work grow with the trace, not with
    # the trace times the graph.
    for index, step in enumerate(trace):
        seen[step.kind] += 1
        if finished is not None:
            build.finish_edge(finished)
            finished = None
        if isinstance(step, TangentStep):
            build.set_value(step.node, step.value)
            build.set_grad(step.node, step.tangent)
            build.highlight(current_node=step.node, feeding=True, phase="tangent")
        elif isinstance(step, BackwardStep):
            build.set_grad(step.input, step.total)
            edge = None if step.consumer is None else (step.consumer, step.slot)
            build.highlight(current_node=step.input if edge is None else None,
                            current_edge=edge, phase="backward")
            finished = edge
        else:
            build.set_value(step.node, step.value)
            build.highlight(current_node=step.node, feeding=True, phase="forward")
        position = _position(step, index, len(trace), counts, seen)
        steps.append({**build.delta(), "explanation": step.text, "position": position,
                      "description": f"{position}: {step.text.splitlines()[0]}"})
    return {"base": {"text": base.texts, "cls": base.classes}, "steps": steps}


def state_at(scene: dict[str, Any], index: int) -> State:
    """The full state at step `index`: the start state with every delta up to it applied."""
    state = State(dict(scene["base"]["text"]), dict(scene["base"]["cls"]))
    for delta in scene["steps"][:index + 1]:
        state = state.apply(delta)
    return state


def legend_items(kind: str) -> list[dict[str, str]]:
    """The key under every widget: roles' fills, then the highlights this kind of widget uses."""
    items = [{"swatch": "node", "fill": fill, "border": border, "text": text}
             for fill, border, text in ROLE_STYLE.values()]
    if kind == "paths":
        items.append({"swatch": "path", "text": "the chosen path(s)"})
    else:
        items += [{"swatch": "current-forward", "text": "computing now (forward)"},
                  {"swatch": "current-backward", "text": "edge being traversed (dashed)"},
                  {"swatch": "done", "text": "edges done (backward)"}]
    return items
