"""What the TrainingExplorer shows, computed once in the kernel and sent to the browser as data.

The kernel trains the XOR network (nn.train_xor), then, for a set of snapshot epochs, asks the
engine for everything the explorer can show: the cost, the four predictions, the network's output
over a grid of the plane (the decision boundary), and for every sample the graph's values and
gradients from the engine's forward and backward pass (the numbers a trace of that pass records).
The browser only looks these up while the slider moves; it never evaluates the network itself.
docs/TRAINING_EXPLORER.md describes the payload and the front end.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import numbers
import zlib
from importlib import resources
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

from . import nn
from .errors import CompgraphError, InputError, InputTypeError, ShapeError
from .graph import Graph
from .scene import run_dot
from .trace import deriv_label, fmt, formula, shape_text

MAX_SNAPSHOTS = 201          # evenly spaced epochs the slider stops at (plus the last epoch)
MAX_EPOCHS = 20_000          # retraining beyond this keeps a learner waiting for minutes
GRID_SIZE = 41               # decision boundary: GRID_SIZE × GRID_SIZE points of the plane
GRID_LOW, GRID_HIGH = -0.5, 1.5


# --- checking what a learner types ---------------------------------------------------------------

def check_knobs(seed: Any, lr: Any, epochs: Any) -> tuple[int, float, int]:
    """seed (a whole number ≥ 0), learning rate η (a positive finite number) and epochs (a whole
    number from 1 to MAX_EPOCHS), or a CompgraphError that says which one is wrong and why."""
    def whole(name: str, value: Any, low: int, high: int | None) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            if isinstance(value, numbers.Real) and not isinstance(value, bool) \
                    and float(value).is_integer():
                hint = f" (write {int(value)})"
            else:
                hint = ""
            raise InputTypeError(f"TrainingExplorer: {name} must be a whole number, got "
                                 f"{type(value).__name__} {value!r:.40}{hint}")
        if value < low or (high is not None and value > high):
            limit = f"from {low} to {high:,}" if high is not None else f"at least {low}"
            raise InputError(f"TrainingExplorer: {name} must be {limit}, got {value}")
        return int(value)

    seed = whole("seed", seed, 0, None)
    epochs = whole("epochs", epochs, 1, MAX_EPOCHS)
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
        raise InputTypeError(f"TrainingExplorer: the learning rate lr must be a number, got "
                             f"{type(lr).__name__} {lr!r:.40}")
    if not math.isfinite(lr) or lr <= 0:
        raise InputError(f"TrainingExplorer: the learning rate lr must be a positive finite "
                         f"number, got {lr!r}")
    return seed, float(lr), epochs


def parse_knobs(seed: str, lr: str, epochs: str) -> tuple[int, float, int]:
    """The three knobs as typed into the explorer's form (text), checked like check_knobs."""
    def number(name: str, text: str, kind: type) -> Any:
        text = str(text).strip().replace("_", "")
        try:
            return kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise InputTypeError(f"{name} must be {what}, got {text!r:.40}") from None
    return check_knobs(number("seed", seed, int), number("learning rate η", lr, float),
                       number("epochs", epochs, int))


def check_history(history: Any) -> nn.History:
    """A History from nn.train_xor with at least one epoch and shapes that fit the 2-2-1 net."""
    if not isinstance(history, nn.History):
        raise InputTypeError(f"TrainingExplorer: expected an nn.History (what cg.nn.train_xor "
                             f"returns), got {type(history).__name__}")
    lengths = {len(history.losses), len(history.theta1), len(history.theta2)}
    if len(history.losses) < 2 or len(lengths) != 1:
        raise InputError(
            "TrainingExplorer: the History must hold the start and at least one epoch, with as "
            f"many costs as parameter sets; got {len(history.losses)} costs, "
            f"{len(history.theta1)} θ1 and {len(history.theta2)} θ2. Make one with "
            "cg.nn.train_xor(seed, lr, epochs), or call TrainingExplorer(seed=..., lr=..., "
            "epochs=...)")
    for name, thetas, shape in (("θ1", history.theta1, (3, 2)), ("θ2", history.theta2, (3, 1))):
        for epoch, theta in enumerate(thetas):
            if np.shape(theta) != shape:
                raise ShapeError(f"TrainingExplorer: {name} at epoch {epoch} has shape "
                                 f"{np.shape(theta)}; the 2-2-1 network needs {shape}")
    return history


# --- the drawing of the network's graph ----------------------------------------------------------

WIDE = "-1.234e-05"  # as wide as any number fmt writes: node boxes fit every epoch's values


def _rows(value: Any) -> int:
    """Lines a value takes in the drawing: one per row of a matrix, one for anything else."""
    return value.shape[0] if np.ndim(value) == 2 and value.shape[0] > 1 else 1


def _placeholder_lines(value: Any, prefix: str) -> list[str]:
    if np.ndim(value) == 0:
        return [prefix + WIDE]
    rows, cols = value.shape
    row = "[" + ", ".join([WIDE] * cols) + "]"
    return [prefix + "[" + row + ("]" if rows == 1 else ",")] + \
        [row + ("]" if r == rows - 1 else ",") for r in range(1, rows)]


LAYOUT_FILE = "training_layout.json"


def graph_layout() -> dict[str, Any]:
    """The drawing's layout, shipped with the package: the explorer always shows the same 2-2-1
    network, so it needs neither `dot` nor the browser's graphviz, and looks the same everywhere.
    compute_graph_layout() makes it; write_graph_layout() writes the file anew."""
    return json.loads(_static(LAYOUT_FILE))


def write_graph_layout() -> str:
    """Run dot on the network and store the result as the shipped layout; returns the path."""
    target = str(resources.files("compgraph").joinpath("static", LAYOUT_FILE))
    with open(target, "w", encoding="utf-8") as out:
        out.write(json.dumps(compute_graph_layout(), ensure_ascii=False, indent=1) + "\n")
    return target


def compute_graph_layout() -> dict[str, Any]:
    """Where dot puts the network's nodes, edges and edge labels, every value line drawn at its
    widest (so any epoch's numbers fit)."""
    graph = nn.sigmoid_net().graph
    graph.forward(X=nn.XOR_X[:1], y=nn.XOR_Y[:1])
    index = {node: i for i, node in enumerate(graph.nodes)}
    lines = ["digraph training {",
             '  graph [rankdir=BT, nodesep=0.3, ranksep=0.2, fontname="Helvetica", pad=0.1];',
             '  node [fontname="Helvetica", fontsize=11, shape=box];',
             '  edge [fontname="Helvetica", fontsize=10, arrowsize=0.7];']
    nodes = []
    for node in graph.nodes:
        value = graph.value(node)
        head = node.name if node.op is None else f"{node.name} = {formula(node)}"
        # the head and the value share a line, the gradient has the next: a shorter drawing
        text = [*_placeholder_lines(value, head + " = "),
                *_placeholder_lines(value, f"∂{graph.output.name}/∂{node.name} = ")]
        cells = "".join(f"<TR><TD>{html.escape(t)}</TD></TR>" for t in text)
        label = f'<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="1">{cells}</TABLE>>'
        lines.append(f'  n{index[node]} [label={label}];')
        role = "output" if node is graph.output else node.role
        nodes.append({"name": node.name, "role": role, "head": head, "rows": _rows(value)})
    edges = []
    for node in graph.nodes:
        for slot, child in enumerate(node.children):
            # one line: the local derivative and the shape of what the edge carries (a second
            # line, as trace.edge_text writes it for the other widgets, would cost a rank's
            # height); each graph shows one sample, so an averaging loss's m is 1
            label = f"{deriv_label(node, slot)}  ({shape_text(graph.value(child))})"
            k = len(edges)
            text = label.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            lines.append(f'  n{index[child]} -> n{index[node]} [id="e{k}", label="{text}"];')
            edges.append({"from": child.name, "to": node.name, "label": label})
    lines.append("}")
    laid = json.loads(run_dot("\n".join(lines), "json"))
    for obj in laid["objects"]:
        x, y = map(float, obj["pos"].split(","))
        nodes[int(obj["name"][1:])].update(x=x, y=y, w=72 * float(obj["width"]),
                                          h=72 * float(obj["height"]))
    for obj in laid["edges"]:
        edge = edges[int(obj["id"][1:])]
        points = obj["pos"].split()
        edge["end"] = [float(v) for v in points[0][2:].split(",")]  # "e,x,y": the arrow's tip
        edge["points"] = [[float(v) for v in p.split(",")] for p in points[1:]]
        edge["labelAt"] = [float(v) for v in obj["lp"].split(",")]
    bbox = [float(v) for v in laid["bb"].split(",")]
    return {"width": bbox[2], "height": bbox[3], "nodes": nodes, "edges": edges,
            "output": graph.output.name}


# --- the data the front end receives -------------------------------------------------------------

def snapshot_epochs(epochs: int, most: int = MAX_SNAPSHOTS) -> list[int]:
    """Evenly spaced epochs 0, k, 2k, … (at most `most` of them) and always the last one."""
    step = max(1, math.ceil(epochs / (most - 1)))
    chosen = list(range(0, epochs + 1, step))
    if chosen[-1] != epochs:
        chosen.append(epochs)
    return chosen


def grid_points(size: int = GRID_SIZE) -> np.ndarray:
    """The points (x1, x2) of the grid, row by row from the bottom (x2 = GRID_LOW) up."""
    axis = np.linspace(GRID_LOW, GRID_HIGH, size)
    x1, x2 = np.meshgrid(axis, axis)
    return np.column_stack([x1.ravel(), x2.ravel()])


def number_text(value: Any) -> str:
    """Exactly what trace.fmt writes, made quicker for the small 2-D arrays of this network
    (fmt goes through numpy's general array printer; the explorer writes ~20,000 texts)."""
    if isinstance(value, np.ndarray) and value.ndim == 2 and value.size <= 6:
        return "[" + ", ".join("[" + ", ".join(f"{v + 0.0:.4g}" for v in row.tolist()) + "]"
                               for row in value) + "]"
    return fmt(value)


def graph_texts(graph: Graph, names: list[str]) -> list[str]:
    """Value then gradient of every node named (in that order), as the engine's last forward()
    and backward() left them: the numbers a trace of that pass records (trace() runs the same
    two passes and writes each step down)."""
    return [text for name in names
            for text in (number_text(graph.value(name)), number_text(graph.grad(name)))]


class Strings:
    """A table of distinct strings: repeated texts are sent once and referred to by index."""

    def __init__(self) -> None:
        self.table: list[str] = []
        self._index: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        if text not in self._index:
            self._index[text] = len(self.table)
            self.table.append(text)
        return self._index[text]


def explorer_data(history: nn.History, knobs: dict[str, Any] | None = None,
                  layout: dict[str, Any] | None = None) -> tuple[dict[str, Any], np.ndarray]:
    """Everything the explorer shows: JSON-ready data, and the decision-boundary grids (one row
    of GRID_SIZE² outputs, quantized to 0–255, per snapshot epoch)."""
    history = check_history(history)
    epochs = len(history.losses) - 1
    chosen = snapshot_epochs(epochs)
    net = nn.sigmoid_net(history.theta1[0], history.theta2[0])
    output = Graph(net.L3)  # the network without the cost: its prediction for any X
    layout = layout or graph_layout()
    names = [node["name"] for node in layout["nodes"]]
    grid = grid_points()
    strings = Strings()
    cells = np.empty((len(chosen), GRID_SIZE * GRID_SIZE), dtype=np.uint8)
    predictions, correct, texts = [], [], []
    for k, epoch in enumerate(chosen):
        net.theta1.value = history.theta1[epoch]
        net.theta2.value = history.theta2[epoch]
        surface = np.asarray(output.forward(X=grid)).ravel()
        cells[k] = np.clip(np.rint(surface * 255), 0, 255).astype(np.uint8)
        four = np.asarray(output.forward(X=nn.XOR_X)).ravel()
        predictions.append([fmt(float(p)) for p in four])
        correct.append(int(np.sum((four > 0.5) == (nn.XOR_Y.ravel() > 0.5))))
        for i in range(len(nn.XOR_X)):
            net.graph.forward(X=nn.XOR_X[i:i + 1], y=nn.XOR_Y[i:i + 1])
            net.graph.backward()
            texts.extend(strings(t) for t in graph_texts(net.graph, names))
    data = {
        "epochs": epochs,
        "knobs": knobs or {"seed": None, "lr": None, "epochs": epochs},
        "layout": layout,
        "snapshots": chosen,
        # the whole curve, 4 significant digits are plenty for a picture
        "losses": [float(f"{c:.4g}") for c in history.losses],
        "lossTexts": [fmt(float(history.losses[e])) for e in chosen],
        "predictions": predictions,
        "correct": correct,
        "samples": [{"x": [float(a), float(b)], "y": float(t),
                     "label": f"x = ({a:g}, {b:g}), y = {t:g}"}
                    for (a, b), t in zip(nn.XOR_X, nn.XOR_Y.ravel())],
        "grid": {"size": GRID_SIZE, "low": GRID_LOW, "high": GRID_HIGH},
        "nodes": names,
        "strings": strings.table,
        # texts[((snapshot * 4) + sample) * 2 * len(nodes) + 2 * node + (0 value | 1 gradient)]
        "texts": texts,
    }
    return data, cells


def pack(data: dict[str, Any], cells: np.ndarray) -> bytes:
    """One zlib-compressed blob: JSON length (4 bytes, little-endian), the JSON, then each
    snapshot's grid as its difference from the previous one (mod 256), which compresses well
    because the boundary moves little between snapshots. training.js undoes all of it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    deltas = np.diff(cells.astype(np.int16), axis=0, prepend=0).astype(np.uint8)
    return zlib.compress(len(text).to_bytes(4, "little") + text + deltas.tobytes(), 6)


def unpack(blob: bytes) -> tuple[dict[str, Any], np.ndarray]:
    """What pack packed (for tests and tools; the browser does the same in training.js)."""
    raw = zlib.decompress(blob)
    length = int.from_bytes(raw[:4], "little")
    data = json.loads(raw[4:4 + length].decode("utf-8"))
    deltas = np.frombuffer(raw[4 + length:], dtype=np.uint8).reshape(len(data["snapshots"]), -1)
    return data, np.cumsum(deltas, axis=0, dtype=np.uint64).astype(np.uint8)


# --- the widget ----------------------------------------------------------------------------------

def _static(name: str) -> str:
    return resources.files("compgraph").joinpath("static", name).read_text(encoding="utf-8")


# controls.js is the shared widgets' (buttons, icons, zoom); plots.js and training.js are the
# explorer's own; joined in this order into one module, no build step
MODULES = ("controls.js", "plots.js", "training.js")


def front_end_source() -> str:
    """The explorer's ES module: the files of MODULES joined (one module, no build step)."""
    return "\n".join(_static(name) for name in MODULES)


def front_end_css() -> str:
    """The look every widget shares (frame, controls, explanation, legend, status)."""
    return _static("widget.css")


class TrainingExplorer(anywidget.AnyWidget):
    """XOR training in the browser: drag the epoch slider and the loss curve's marker, the
    decision boundary and the graph's values and gradients (for the chosen sample) follow at
    once, from data computed here in the kernel once per training run.

    TrainingExplorer(history)                        a run of cg.nn.train_xor
    TrainingExplorer(seed=0, lr=1.0, epochs=2000)    train first, then explore
    explorer.retrain(seed=3, lr=0.5, epochs=3000)    what the widget's "train again" form does
    explorer.epoch = 500; explorer.sample = 2        move it from Python (the slider snaps to
                                                     the nearest snapshot epoch)
    """

    _esm = front_end_source()
    _css = front_end_css()
    payload = traitlets.Bytes(b"").tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    epoch = traitlets.Int(0).tag(sync=True)
    sample = traitlets.Int(0).tag(sync=True)

    def __init__(self, history: nn.History | None = None, *, seed: Any = None, lr: Any = None,
                 epochs: Any = None, **kwargs: Any):
        if history is not None and (seed, lr, epochs) != (None, None, None):
            raise InputError("TrainingExplorer: give either a History or the knobs seed, lr, "
                             "epochs (to train a new one), not both")
        if history is None:
            knobs = check_knobs(0 if seed is None else seed, 1.0 if lr is None else lr,
                                2000 if epochs is None else epochs)
            history = nn.train_xor(*knobs)
            self.knobs: dict[str, Any] = dict(zip(("seed", "lr", "epochs"), knobs))
        else:
            check_history(history)
            self.knobs = {"seed": None, "lr": None, "epochs": len(history.losses) - 1}
        self.history = history
        self._layout = graph_layout()
        super().__init__(**kwargs)
        self._show(history)
        self.on_msg(self._on_message)

    def _show(self, history: nn.History) -> None:
        data, cells = explorer_data(history, self.knobs, self._layout)
        self.data = data
        epochs = len(history.losses) - 1
        with self.hold_sync():
            self.payload = pack(data, cells)
            self.epoch = epochs
            self.sample = min(self.sample, len(nn.XOR_X) - 1)

    def retrain(self, seed: Any = 0, lr: Any = 1.0, epochs: Any = 2000) -> nn.History:
        """Train again with new knobs (checked first: a bad one raises CompgraphError and the
        explorer keeps showing the run it has) and show the new run."""
        knobs = check_knobs(seed, lr, epochs)
        history = nn.train_xor(*knobs)
        self.knobs = dict(zip(("seed", "lr", "epochs"), knobs))
        self.history = history
        self._show(history)
        self.status = (f"trained: seed {knobs[0]}, η = {knobs[1]:g}, {knobs[2]} epochs; "
                       f"{self.data['correct'][-1]}/4 correct at the end")
        return history

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("kind") != "retrain":
            return
        self.status = ""  # the same answer twice must still reach the browser as a change
        try:
            knobs = parse_knobs(content.get("seed", ""), content.get("lr", ""),
                                content.get("epochs", ""))
            self.retrain(*knobs)
        except CompgraphError as error:  # say what is wrong; the widget keeps its run
            self.status = f"⚠ {error}"

    def __repr__(self) -> str:  # short and stable: what a plain-text view shows
        knobs = self.knobs
        run = (f"seed {knobs['seed']}, η = {knobs['lr']:g}, " if knobs["seed"] is not None
               else "a given History, ")
        return (f"<compgraph.TrainingExplorer: {run}{len(self.history.losses) - 1} epochs, "
                f"{len(self.data['snapshots'])} snapshots>")

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict]:
        data, meta = super()._repr_mimebundle_(**kwargs)
        data["text/plain"] = repr(self)
        # where widgets cannot run (an untrusted notebook, a static page, a preview): the plots
        # at the last epoch as a PNG, in text/html with a line of text, and on its own for views
        # that show no HTML
        png = fallback_png(self.history)
        data["text/html"] = fallback_html(self.history, self.data, png)
        data["image/png"] = base64.b64encode(png).decode("ascii")
        return data, meta

    def export_html(self, path: str | Path) -> Path:
        """Write the explorer as one self-contained HTML file (no kernel, no network)."""
        target = Path(path)
        target.write_text(self.html(), encoding="utf-8")
        return target

    def html(self, title: str = "Training XOR") -> str:
        """A self-contained page (no network, no kernel) that explores this run like the widget;
        training again needs the kernel, so the page says so instead."""
        return standalone_html(self.payload, title)


def fallback_png(history: nn.History) -> bytes:
    """The loss curve and the decision boundary at the last epoch, as a PNG."""
    from matplotlib.figure import Figure  # a Figure of its own: no pyplot state, no display

    from . import plots
    last = len(history.losses) - 1
    figure = Figure(figsize=(8, 3.2), dpi=72)
    left, right = figure.subplots(1, 2)
    plots.loss_curve(left, history.losses, last)
    plots.decision_boundary(right, history.theta1[last], history.theta2[last], resolution=60)
    right.set_title(f"decision boundary at epoch {last}")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def fallback_html(history: nn.History, data: dict[str, Any], png: bytes | None = None) -> str:
    """The loss curve and the decision boundary at the last epoch as a PNG <img>, with a line of
    text: the explorer's picture for views that cannot run widgets."""
    last = len(history.losses) - 1
    image = base64.b64encode(png or fallback_png(history)).decode("ascii")
    words = (f"TrainingExplorer: epoch {last}, cost C = {data['lossTexts'][-1]}, "
             f"{data['correct'][-1]}/4 correct. Run the cell to explore the epochs.")
    return (f'<div><p>{html.escape(words)}</p><img src="data:image/png;base64,{image}" '
            f'alt="{html.escape(words)}" style="max-width: 100%; height: auto"></div>')


def standalone_html(payload: bytes, title: str = "Training XOR") -> str:
    """One HTML file holding the front end and the data (base64)."""
    data = base64.b64encode(payload).decode("ascii")
    source = front_end_source().replace("</script", "<\\/script")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ margin: 16px; font-family: system-ui, sans-serif; }}
@media (prefers-color-scheme: dark) {{ body {{ background: #111111; color: #e6e6e6; }} }}
{front_end_css()}</style></head>
<body>
<div id="explorer"></div>
<script type="module">
{source}
const payload = "{data}";
const view = mountTraining(document.getElementById("explorer"));
window.cgTraining = view;
view.load(fromBase64(payload));
</script>
</body></html>
"""


__all__ = ["TrainingExplorer", "check_history", "check_knobs", "explorer_data", "graph_layout",
           "pack", "parse_knobs", "snapshot_epochs", "standalone_html", "unpack"]

