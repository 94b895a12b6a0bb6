"""Widgets that step through a trace in the browser. The kernel computes the trace and hands the
browser one scene (compgraph.scene); the browser applies every step itself, so stepping needs no
kernel round trip and keeps working when the kernel is gone.

Stepper          forward and backward pass, step by step (or forward mode with mode="forward")
PathExplorer     the paths from the output to one leaf and the sum over them
TrainingExplorer XOR training: loss curve, decision boundary and the graph at any epoch

All share one front end (compgraph/static: plain ES modules, no build step) through anywidget.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import numbers
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from . import limits
from .errors import CompgraphError
from .graph import Graph
from .nodes import Node
from .render import Picture, img_html, static_text
from .scene import (
    Drawing,
    StateBuilder,
    legend_items,
    state_at,
    trace_scene,
)
from .trace import Trace, forward_mode_trace, trace
from .training import TrainingExplorer  # it lives with the data it shows

# The front end, in the order the files are joined: no module imports another; the entry comes
# last and is the only one that exports.
MODULES = ("viz_loader.js", "graph_view.js", "controls.js", "explanation.js", "legend.js",
           "app.js")
PLAY_MS = 900


@cache
def front_end_js(entry: str = "entry_anywidget.js") -> str:
    return "\n".join(static_text(name) for name in (*MODULES, entry))


@cache
def front_end_css() -> str:
    return static_text("widget.css") + "\n" + static_text("graph.css")


@cache
def viz_bytes() -> bytes:
    """The vendored WebAssembly graphviz (an ES module), sent to the browser only on request."""
    return resources.files("compgraph").joinpath("static", "vendor", "viz.js").read_bytes()


class FrontEnd(anywidget.AnyWidget):
    """The shared widget: one scene in, steps applied in the browser. Subclasses fill `scene`."""

    _esm = front_end_js()
    _css = front_end_css()
    scene = traitlets.Dict().tag(sync=True)
    step = traitlets.Int(0).tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    drawn_svg = traitlets.Dict().tag(sync=True)   # the browser's drawing, where dot is missing
    inputs = traitlets.Dict().tag(sync=True)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.on_msg(self._on_message)

    def _on_message(self, _: Any, content: dict, buffers: list) -> None:
        if isinstance(content, dict) and content.get("type") == "viz":
            self.send({"type": "viz"}, buffers=[viz_bytes()])

    # --- what is shown, in the kernel --------------------------------------------------------

    def _drawing(self) -> Drawing:
        raise NotImplementedError

    def go(self, index: int) -> None:
        """Show step `index` (clamped to the steps there are)."""
        self.step = max(0, min(int(index), len(self.scene["steps"]) - 1))

    @property
    def svg(self) -> str:
        """The SVG of the step shown now (drawn by the kernel's `dot`)."""
        return self.picture.svg

    @property
    def picture(self) -> Picture:
        """The step shown now as a static picture: `display(widget.picture)` shows it (also in
        untrusted notebooks); `.svg` (or `.value`) is its SVG."""
        return self.picture_at(self.step)

    def picture_at(self, index: int) -> Picture:
        step = self.scene["steps"][index]
        return Picture(self._drawing(), state_at(self.scene, index), step["description"])

    @property
    def explanation_text(self) -> str:
        return self.scene["steps"][self.step]["explanation"]

    @property
    def position_text(self) -> str:
        return self.scene["steps"][self.step]["position"]

    def __repr__(self) -> str:  # short and stable: the text a plain view shows
        return f"<compgraph.{type(self).__name__}: {self._count()}>"

    def _count(self) -> str:
        """'69 steps', '4 paths': what the widget steps through (a PathExplorer's first choice,
        all paths at once, is not a path of its own)."""
        count = self.scene.get("count", len(self.scene.get("steps", [])))
        return f"{count} {self.scene.get('noun', 'step')}{'' if count == 1 else 's'}"

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict]:
        data, meta = super()._repr_mimebundle_(**kwargs)
        data["text/plain"] = repr(self)
        # Where widgets cannot run (an untrusted notebook, a static page, a preview): the last
        # step's picture, where everything is known, with a line saying how to step through it
        # (text/html: an <img> of the SVG), and the same picture as a PNG for views that show
        # no HTML (a PDF, a Markdown export). One output: a view that runs the widget shows the
        # widget instead, never both.
        steps = self.scene.get("steps", [])
        if steps and self.scene.get("svg"):
            last = self.picture_at(len(steps) - 1)
            caption = (f"{type(self).__name__}: {self._count()}, shown at the last one. "
                       f"Run the notebook to step through them.")
            data["text/html"] = (f"{img_html(last.svg, last.description)}"
                                 f'<div style="font-size: 12px; font-style: italic">'
                                 f"{html.escape(caption)}</div>")
            try:
                data["image/png"] = base64.b64encode(last.png()).decode("ascii")
            except CompgraphError:  # dot failed to draw a PNG: the HTML picture stands
                pass
        return data, meta

    def export_html(self, path: str | Path) -> Path:
        """Write a single HTML file that steps exactly like this widget, with no kernel and no
        network (the WebAssembly graphviz goes in only when the kernel made no SVG)."""
        return export_html(self, path)


def _scene_key(dot: str) -> str:
    return hashlib.sha256(dot.encode()).hexdigest()[:16]


def _base_scene(kind: str, drawing: Drawing, title: str) -> dict[str, Any]:
    # the DOT goes along only when the browser has to lay it out (no SVG from the kernel)
    return {"kind": kind, "title": title, "dot": "" if drawing.svg else drawing.dot,
            "svg": drawing.svg or "",
            "key": _scene_key(drawing.dot), "legend": legend_items(kind), "play_ms": PLAY_MS}


class Stepper(FrontEnd):
    """Step through the forward and backward passes of `graph` at the given input values.

    Stepper(g, x=0.5)                          forward, then backward, one step per click
    Stepper(g, mode="forward", wrt="b", a=2, b=1)   forward mode: d node / d b for every node
    Stepper(g, sliders=True, x=0.5)            plus a slider per scalar input (or a dict
                                               {name: (min, max, step)})
    """

    def __init__(self, graph: Graph, *, mode: str = "reverse", wrt: Node | str | None = None,
                 rankdir: str = "LR", sliders: bool | dict | None = None, **inputs: Any):
        if mode not in ("reverse", "forward"):
            raise CompgraphError(f"Stepper mode is 'reverse' or 'forward', got {mode!r}")
        if mode == "forward" and wrt is None:
            raise CompgraphError("Stepper(mode='forward') needs wrt=<the input to differentiate "
                                 "by>")
        self.graph, self.mode, self.inputs_given = graph, mode, dict(inputs)
        self.wrt = graph.node(wrt) if wrt is not None else None
        self.trace = self._make_trace()
        self.drawing = Drawing(graph, rankdir, wrt=self.wrt)
        specs = self._slider_specs(sliders)
        super().__init__()
        self.scene = self._scene(specs)
        self.inputs = {s["name"]: s["value"] for s in specs}
        self.observe(self._on_inputs, names="inputs")

    def _drawing(self) -> Drawing:
        return self.drawing

    def _make_trace(self) -> Trace:
        if self.mode == "forward":
            return forward_mode_trace(self.graph, self.wrt, **self.inputs_given)
        return trace(self.graph, **self.inputs_given)

    def _scene(self, specs: list[dict]) -> dict[str, Any]:
        kind = "forward mode" if self.mode == "forward" else "forward and backward"
        return {**_base_scene("stepper", self.drawing,
                              f"Stepper: {kind} pass of {self.graph.output.name}"),
                **trace_scene(self.drawing, self.trace), "inputs": specs, "noun": "step"}

    # --- input sliders ----------------------------------------------------------------------

    def _slider_specs(self, spec: bool | dict | None) -> list[dict[str, Any]]:
        if not spec:
            return []
        if spec is True:
            ranges = {name: (value - 2.0, value + 2.0, 0.01)
                      for name, value in self.inputs_given.items()
                      if isinstance(value, numbers.Real) and not isinstance(value, bool)}
        elif isinstance(spec, dict):
            ranges = spec
        else:
            raise CompgraphError(f"sliders= takes True or a dict {{name: (min, max, step)}}, got "
                                 f"{spec!r:.60}")
        result = []
        for name, bounds in ranges.items():
            if name not in self.inputs_given:
                known = ", ".join(sorted(self.inputs_given)) or "none"
                raise CompgraphError(f"sliders: no input {name!r} was given to this Stepper "
                                     f"(inputs given: {known})")
            try:
                low, high, step = (float(b) for b in bounds)
            except (TypeError, ValueError):
                raise CompgraphError(f"sliders[{name!r}]: expected (min, max, step) numbers, got "
                                     f"{bounds!r:.60}") from None
            value = self.inputs_given[name]
            if not (isinstance(value, numbers.Real) and not isinstance(value, bool)):
                raise CompgraphError(f"sliders[{name!r}]: input {name!r} is not a number "
                                     f"({type(value).__name__}); sliders move scalar inputs")
            if not all(map(math.isfinite, (low, high, step))) or low > high or step <= 0:
                raise CompgraphError(f"sliders[{name!r}]: need finite min ≤ max and step > 0, "
                                     f"got min={low:g}, max={high:g}, step={step:g}")
            if not low <= value <= high:
                raise CompgraphError(f"sliders[{name!r}]: the input's value {value:g} is outside "
                                     f"the slider's range [{low:g}, {high:g}]")
            result.append({"name": name, "min": low, "max": high, "step": step,
                           "value": float(value)})
        return result

    def _on_inputs(self, change: dict) -> None:
        for name, value in change["new"].items():
            if self.inputs_given.get(name) != value:
                self.set_input(name, value)

    def set_input(self, name: str, value: float) -> None:
        """Recompute the trace with a new input value and stay on the same step."""
        if name not in self.inputs_given:
            raise CompgraphError(f"set_input: no input {name!r} was given to this Stepper")
        previous = self.inputs_given[name]
        self.inputs_given[name] = value
        try:
            self.trace = self._make_trace()
        except CompgraphError as e:  # e.g. log of a negative number: explain, keep the old trace
            self.inputs_given[name] = previous
            self.status = f"⚠ {name} = {value:g}: {e}\nShowing {name} = {previous:g}."
            return
        specs = [{**s, "value": float(self.inputs_given[s["name"]])}
                 for s in self.scene.get("inputs", [])]
        self.status = ""
        self.scene = self._scene(specs)
        if self.inputs.get(name) != value:
            self.inputs = {**self.inputs, name: value}


class PathExplorer(FrontEnd):
    """Choose one path from the output down to `wrt` (or all of them): the path is highlighted,
    its edge derivatives multiplied out, and the paths' products summed to the gradient."""

    def __init__(self, graph: Graph, wrt: Node | str, *, rankdir: str = "LR", **inputs: Any):
        graph.forward(**inputs)
        self.graph, self.leaf = graph, graph.node(wrt)
        count = count_paths(graph, self.leaf)
        limits.check_size(f"PathExplorer from {graph.output.name!r} down to {self.leaf.name!r}",
                          count, limits.MAX_EXPLORER_PATHS,
                          "explore a smaller graph (e.g. cg.Graph(<an inner node>)), or a leaf "
                          "nearer the output", unit="paths")
        self.drawing = Drawing(graph, rankdir)
        self.gradient = graph.backward()[self.leaf]
        self.paths = graph.paths(self.leaf)
        super().__init__()
        self.scene = self._scene()
        self.chooser = _Chooser(self)

    def _drawing(self) -> Drawing:
        return self.drawing

    def _scene(self) -> dict[str, Any]:
        build = StateBuilder(self.drawing, self.graph.values)
        for node, grad in (self.graph.grads or {}).items():
            build.set_grad(node, grad)
        labels = [f"all {len(self.paths)} paths"] + [
            f"path {i + 1}: " + " → ".join(n.name for n in p.nodes)
            for i, p in enumerate(self.paths)]
        base = build.state()
        previous, steps = base, []
        for choice in range(-1, len(self.paths)):
            chosen = self.paths if choice == -1 else [self.paths[choice]]
            marked = {(a, slot) for p in chosen for a, slot in zip(p.nodes, p.slots)}
            build.highlight(path_edges=marked, phase="paths")
            state = build.state()
            text = self._explanation(choice)
            position = (f"all {len(self.paths)} paths" if choice == -1 else
                        f"path {choice + 1} of {len(self.paths)}")
            steps.append({**previous.delta(state), "explanation": text, "position": position,
                          "description": f"{position}: {text.splitlines()[-1]}"})
            previous = state
        return {**_base_scene("paths", self.drawing,
                              f"PathExplorer: paths from {self.graph.output.name} to "
                              f"{self.leaf.name}"),
                "base": {"text": base.texts, "cls": base.classes}, "steps": steps,
                "labels": labels, "noun": "path", "count": len(self.paths)}

    def _explanation(self, choice: int) -> str:
        out, leaf = self.graph.output.name, self.leaf.name
        lines = []
        for i, path in enumerate(self.paths):
            if choice not in (-1, i):
                continue
            symbols = " · ".join(f"∂{a.name}/∂{b.name}" for a, b in
                                 zip(path.nodes, path.nodes[1:]))
            numbers_ = " × ".join(f"{f:.4g}" for f in path.factors)
            lines.append(f"{' → '.join(n.name for n in path.nodes)}:  {symbols} = {numbers_}"
                         f" = {path.product:.4g}")
        if choice == -1:
            total = " + ".join(f"{p.product:.4g}" for p in self.paths)
            lines.append(f"sum over {len(self.paths)} paths: ∂{out}/∂{leaf} = {total} = "
                         f"{self.gradient:.4g}  (backward gives {self.gradient:.4g})")
        return "\n".join(lines)


class _Chooser:
    """PathExplorer.chooser: `.value` is -1 for all paths, else the path's index."""

    def __init__(self, explorer: PathExplorer):
        self.explorer = explorer

    @property
    def value(self) -> int:
        return self.explorer.step - 1

    @value.setter
    def value(self, choice: int) -> None:
        if not -1 <= choice < len(self.explorer.paths):
            raise CompgraphError(f"chooser.value: -1 (all paths) or 0 to "
                                 f"{len(self.explorer.paths) - 1}, got {choice!r}")
        self.explorer.go(choice + 1)

    @property
    def options(self) -> list[tuple[str, int]]:
        return list(zip(self.explorer.scene["labels"], range(-1, len(self.explorer.paths))))


def count_paths(graph: Graph, leaf: Node) -> int:
    """How many paths lead from the output down to `leaf` (counted, not listed)."""
    ways = dict.fromkeys(graph.nodes, 0)
    ways[graph.output] = 1
    for node in reversed(graph.nodes):
        for child in node.children:
            ways[child] += ways[node]
    return ways[leaf]


class PictureWidget(FrontEnd):
    """A static picture laid out in the browser, for kernels without `dot`."""

    def __init__(self, picture: Picture):
        super().__init__()
        self.show(picture)

    def show(self, picture: Picture) -> None:
        """Show another state of the same drawing (the browser keeps its layout)."""
        drawing, state = picture.drawing, picture.state
        self.drawing = drawing
        self.scene = {**_base_scene("picture", drawing, picture.description),
                      "base": {"text": state.texts, "cls": state.classes},
                      "steps": [{"text": {}, "cls": {}, "explanation": "", "position": "",
                                 "description": picture.description}], "legend": []}

    def _drawing(self) -> Drawing:
        return self.drawing


# --- standalone export -----------------------------------------------------------------------

def export_html(widget: FrontEnd, path: str | Path) -> Path:
    """Write `widget` as one self-contained HTML file: the same front end and scene, stepping in
    the page, no kernel, no network."""
    if isinstance(widget, TrainingExplorer):  # its own front end and data
        return widget.export_html(path)
    if not isinstance(widget, FrontEnd):
        raise CompgraphError(f"export_html takes a Stepper, PathExplorer or TrainingExplorer, got "
                             f"{type(widget).__name__}")
    scene = dict(widget.scene)
    scene.pop("inputs", None)  # no kernel to recompute with
    data = {"scene": scene, "step": widget.step}
    viz = "" if scene.get("svg") else (
        '<script type="text/plain" id="cg-viz-source">'
        + viz_bytes().decode("utf-8").replace("</script", "<\\/script") + "</script>\n")
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{html.escape(scene.get('title', 'compgraph'))}</title>\n"
        "<style>\nbody { margin: 16px; font-family: system-ui, sans-serif; }\n"
        "@media (prefers-color-scheme: dark) { body { background: #111111; color: #e6e6e6; } }\n"
        f"{front_end_css()}</style>\n</head>\n<body>\n"
        '<div data-cg-scene="cg-data-0"></div>\n'
        '<script type="application/json" id="cg-data-0">'
        + json.dumps(data, ensure_ascii=False).replace("</", "<\\/") + "</script>\n"
        + viz
        + '<script type="module">\n' + front_end_js("entry_export.js") + "\n</script>\n"
        "</body>\n</html>\n")
    target = Path(path)
    target.write_text(page, encoding="utf-8")
    return target
