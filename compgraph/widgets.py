"""ipywidgets that step through a trace on a rendered graph. They only show what the trace holds.

Stepper          forward and backward pass, step by step (or forward mode with mode="forward")
PathExplorer     the paths from the output to one leaf and the sum over them
TrainingExplorer XOR training: loss curve, decision boundary and the graph at any epoch
"""

from __future__ import annotations

import html
import time
from typing import Any

import ipywidgets as widgets

from .errors import CompgraphError
from .graph import Graph, Node
from .render import Frame, Renderer, final_frame, frames, legend_html
from .trace import Trace, forward_mode_trace, trace
from .training import TrainingExplorer  # noqa: F401  (re-exported; it lives with its data)

KIND_NAMES = {"forward": "forward", "backward": "backward", "tangent": "forward mode"}


def _explain(lines: str, colour: str = "#222222") -> str:
    body = "<br>".join(html.escape(line) for line in lines.splitlines())
    return (f'<div style="font-family: monospace; font-size: 14px; color: {colour}; '
            f'padding: 4px 8px; min-height: 3.6em">{body}</div>')


def fit_width(svg: str) -> str:
    """Let a drawing shrink to the width of the notebook column instead of scrolling sideways
    (graphviz sets a fixed size in points; its viewBox keeps the proportions)."""
    return svg.replace("<svg ", '<svg style="max-width: 100%; height: auto" ', 1)


def _error(message: str) -> str:
    return _explain(f"⚠ {message}", colour="#B00020")


class Stepper(widgets.VBox):
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
        self.graph, self.mode, self.wrt, self.inputs = graph, mode, wrt, dict(inputs)
        self.trace = self._make_trace()
        self.renderer = Renderer(graph, rankdir)
        self.frames: list[Frame] = frames(self.trace)
        self._svgs: dict[int, str] = {}

        def button(icon: str, tooltip: str, target: Any) -> widgets.Button:
            # Font Awesome icons ship with JupyterLab; media characters such as ⏮ are missing
            # from many system fonts and would show as empty boxes.
            b = widgets.Button(icon=icon, tooltip=tooltip, layout=widgets.Layout(width="44px"))
            b.on_click(lambda _: self.go(target()))
            return b

        last = len(self.frames) - 1
        self.first_button = button("fast-backward", "First step", lambda: 0)
        self.previous_button = button("step-backward", "Previous step", lambda: self.step - 1)
        self.next_button = button("step-forward", "Next step", lambda: self.step + 1)
        self.last_button = button("fast-forward", "Last step", lambda: len(self.frames) - 1)
        self.slider = widgets.IntSlider(value=0, min=0, max=last, readout=False,
                                        description="step", layout=widgets.Layout(width="260px"))
        start = time.perf_counter()
        first_svg = self._svg(0)
        render_ms = 1000 * (time.perf_counter() - start)
        # Play must not outrun the drawing: at least 4 renders per interval, never under 0.7 s.
        self.play = widgets.Play(value=0, min=0, max=last, interval=int(max(700, 4 * render_ms)),
                                 tooltip="Play", description="Play", show_repeat=False)
        widgets.jslink((self.play, "value"), (self.slider, "value"))
        self.position = widgets.Label()
        self.picture = widgets.HTML(first_svg)
        self.explanation = widgets.HTML()
        self.input_sliders = self._make_input_sliders(sliders)
        self.slider.observe(lambda _: self._show(), names="value")

        controls = widgets.HBox([self.first_button, self.previous_button, self.play,
                                 self.next_button, self.last_button, self.slider, self.position])
        # CSS classes name the parts for the browser test (and for anyone styling them)
        self.picture.add_class("cg-picture")
        self.explanation.add_class("cg-explanation")
        parts = [controls, self.picture, widgets.HTML(legend_html()), self.explanation]
        if self.input_sliders:
            parts.append(widgets.HBox(list(self.input_sliders.values())))
        super().__init__(parts)
        self._show()

    # --- what is shown ---------------------------------------------------------------------

    @property
    def step(self) -> int:
        return self.slider.value

    @property
    def svg(self) -> str:
        return self.picture.value

    @property
    def explanation_text(self) -> str:
        return self.trace[self.step].text

    def go(self, index: int) -> None:
        """Show step `index` (clamped to the trace)."""
        self.slider.value = max(0, min(index, len(self.frames) - 1))

    def _make_trace(self) -> Trace:
        if self.mode == "forward":
            return forward_mode_trace(self.graph, self.wrt, **self.inputs)
        return trace(self.graph, **self.inputs)

    def _svg(self, index: int) -> str:
        if index not in self._svgs:
            self._svgs[index] = fit_width(self.renderer.picture(self.frames[index]).svg)
        return self._svgs[index]

    def _show(self) -> None:
        index = self.step
        step = self.trace[index]
        same_kind = [s for s in self.trace if s.kind == step.kind]
        self.position.value = (f"{KIND_NAMES[step.kind]} {same_kind.index(step) + 1}"
                               f"/{len(same_kind)}")
        try:
            self.picture.value = self._svg(index)
            self.explanation.value = _explain(step.text)
        except CompgraphError as e:  # e.g. graphviz missing: say so, keep the controls alive
            self.explanation.value = _error(str(e))

    # --- input sliders -----------------------------------------------------------------------

    def _make_input_sliders(self, spec: bool | dict | None) -> dict[str, widgets.FloatSlider]:
        if not spec:
            return {}
        ranges = spec if isinstance(spec, dict) else {
            name: (value - 2.0, value + 2.0, 0.01) for name, value in self.inputs.items()
            if isinstance(value, (int, float))}
        result = {}
        for name, (low, high, step) in ranges.items():
            s = widgets.FloatSlider(value=float(self.inputs[name]), min=low, max=high, step=step,
                                    description=name, continuous_update=False)
            s.observe(lambda change, name=name: self.set_input(name, change["new"]),
                      names="value")
            result[name] = s
        return result

    def set_input(self, name: str, value: float) -> None:
        """Recompute the trace with a new input value and stay on the same step."""
        previous = self.inputs.get(name)
        self.inputs[name] = value
        try:
            self.trace = self._make_trace()
        except CompgraphError as e:  # e.g. log of a negative number: explain, keep the old trace
            self.inputs[name] = previous
            self.explanation.value = _error(str(e))
            return
        self.frames = frames(self.trace)
        self._svgs.clear()
        self._show()


class PathExplorer(widgets.VBox):
    """Choose one path from the output down to `wrt` (or all of them): the path is highlighted,
    its edge derivatives multiplied out, and the paths' products summed to the gradient."""

    def __init__(self, graph: Graph, wrt: Node | str, *, rankdir: str = "LR", **inputs: Any):
        graph.forward(**inputs)
        self.graph, self.leaf = graph, graph.node(wrt)
        self.gradient = graph.backward()[self.leaf]
        self.paths = graph.paths(self.leaf)
        self.renderer = Renderer(graph, rankdir)
        self.base = final_frame(graph)
        options = [("all paths", -1)] + [(" → ".join(n.name for n in p.nodes), i)
                                         for i, p in enumerate(self.paths)]
        self.chooser = widgets.Dropdown(options=options, value=-1, description="path")
        self.picture = widgets.HTML()
        self.explanation = widgets.HTML()
        self.chooser.observe(lambda _: self._show(), names="value")
        super().__init__([self.chooser, self.picture, self.explanation])
        self._show()

    def _show(self) -> None:
        choice = self.chooser.value
        chosen = self.paths if choice == -1 else [self.paths[choice]]
        marked = {edge for path in chosen for edge in path.edges}
        frame = Frame(self.base.values, self.base.grads, marked_edges=marked)
        self.picture.value = fit_width(self.renderer.picture(frame).svg)
        self.explanation.value = _explain(self.explanation_text)

    @property
    def explanation_text(self) -> str:
        out, leaf = self.graph.output.name, self.leaf.name
        lines = []
        for i, path in enumerate(self.paths):
            if self.chooser.value not in (-1, i):
                continue
            symbols = " · ".join(f"∂{a.name}/∂{b.name}" for a, b in
                                 zip(path.nodes, path.nodes[1:]))
            numbers = " × ".join(f"{f:.4g}" for f in path.factors)
            lines.append(f"{' → '.join(n.name for n in path.nodes)}:  {symbols} = {numbers}"
                         f" = {path.product:.4g}")
        if self.chooser.value == -1:
            total = " + ".join(f"{p.product:.4g}" for p in self.paths)
            lines.append(f"sum over {len(self.paths)} paths: ∂{out}/∂{leaf} = {total} = "
                         f"{self.gradient:.4g}  (backward gives {self.gradient:.4g})")
        return "\n".join(lines)
