"""Small helpers the lesson notebooks call, so that their cells show the idea and not the plumbing.

    from compgraph import lessons
    lessons.check_local_derivatives("softplus", forward, local, deriv=("σ({0})",), x=points)
    lessons.check_gradients(my_backprop(X, y, θ1, θ2), net.graph, ["θ1", "θ2"], X=X, y=y)
    lessons.with_snapshot(widgets.VBox([slider, panel]), panel.value, "x = 0.8: the factors")
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .check import gradcheck, numeric_grad, relative_error
from .functions import new_op
from .functions import sum as total
from .graph import Graph, Input

#: Below this relative error a gradient counts as agreeing with central differences.
AGREES = 1e-6


def check_local_derivatives(name: str, forward: Callable[..., Any], local: Callable[..., Any], *,
                            deriv: tuple[str, ...], **points: Any) -> bool:
    """An exercise check for a new op: register `forward` with the learner's `local`
    derivatives, build Σ op(inputs) on the given input arrays, and compare backward() with central
    differences (gradcheck). Prints one line saying whether the derivatives are right."""
    given = local(None, *points.values())
    if given is None:
        print(f"✗ the local derivatives of {name} are not right yet (they return None)")
        return False
    if not isinstance(given, tuple) or len(given) != len(points):
        print(f"✗ {name} has {len(points)} input(s): return a tuple of {len(points)} local "
              f"derivatives, one per input (got {given!r})")
        return False
    op = new_op(name, forward, local, deriv=deriv)
    graph = Graph(total(op(*(Input(p) for p in points), name=name)))
    error = gradcheck(graph, **points)
    right = error < AGREES
    print(f"✓ the local derivatives of {name} are right (gradcheck: {error:.1g})" if right else
          f"✗ the local derivatives of {name} are not right yet "
          f"(gradcheck: relative error {error:.2g})")
    return right


def check_gradients(gradients: Sequence[Any], graph: Graph, params: Sequence[str],
                    **inputs: Any) -> bool:
    """Compare hand-computed gradients, one per Param named in `params`, with central differences
    of `graph` at `inputs`. Prints one line per parameter, so a wrong factor shows where it is."""
    right = True
    for name, grad in zip(params, gradients):
        numeric = numeric_grad(graph, name, **inputs)
        if np.shape(grad) != np.shape(numeric):
            print(f"✗ ∂/∂{name}: shape {np.shape(grad)}, but {name} is "
                  f"{'×'.join(map(str, np.shape(numeric)))}")
            right = False
            continue
        error = relative_error(grad, numeric)
        ok = error < AGREES
        right = right and ok
        print(f"{'✓' if ok else '✗'} ∂/∂{name}: relative error {error:.2g} against central "
              f"differences" + ("" if ok else "  ← a factor on the way to here is wrong"))
    return right


class WithSnapshot:
    """An ipywidgets widget shown together with a still copy of what it shows now.

    A running notebook shows the widget. A view that cannot run widgets (a notebook opened before
    it was run, hence untrusted, or a static preview) shows the `text/html` copy instead of the
    widget's bare repr; plain-text views show the short `text`."""

    def __init__(self, widget: Any, snapshot_html: str, text: str):
        self.widget, self.snapshot_html, self.text = widget, snapshot_html, text

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude)
        data, meta = bundle if isinstance(bundle, tuple) else (bundle, {})
        note = "A still copy: run the notebook to use the controls."
        still = (f'<div class="cg-static">{self.snapshot_html}'
                 f'<div style="font-size: 12px; font-style: italic">{html.escape(note)}</div>'
                 f"</div>")
        return {**(data or {}), "text/html": still, "text/plain": self.text}, meta or {}

    def __repr__(self) -> str:
        return self.text


def with_snapshot(widget: Any, snapshot_html: str, text: str) -> WithSnapshot:
    """`widget` (e.g. an ipywidgets VBox of a slider and an HTML panel) to display, with
    `snapshot_html` (what its panel shows now) for views that cannot run widgets and `text` for
    plain-text views: display(lessons.with_snapshot(box, panel.value, "x = 0.8: the factors"))."""
    return WithSnapshot(widget, snapshot_html, text)


# --- notebooks 1 and 2 ---

def _input_names(function: Callable[..., Any]) -> list[str]:
    import inspect
    return list(inspect.signature(function).parameters)


def _named(point: Any, names: Sequence[str]) -> dict[str, Any]:
    """A point as {input name: value}: a dict as it is, a bare number for a one-input function."""
    return dict(point) if isinstance(point, dict) else {names[0]: point}


def _where(values: dict[str, Any]) -> str:
    return ", ".join(f"{name} = {float(v):g}" for name, v in values.items())


def check_graph(graph: Any, function: Callable[..., Any], points: Sequence[Any], *,
                what: str = "your graph") -> bool:
    """An exercise check for a graph built by hand: at every point its output must equal
    `function` (plain Python, one argument per input, named as the graph's inputs). A point is a
    number for a one-input function, else a dict such as {"x": 1.0, "y": -2.0}. One line."""
    names = _input_names(function)
    if graph is None:
        print(f"✗ {what}: no graph yet (replace None with cg.Graph(<your output node>))")
        return False
    if not isinstance(graph, Graph):
        print(f"✗ {what}: expected a cg.Graph, got {type(graph).__name__} "
              f"(wrap your output node: cg.Graph(node))")
        return False
    if sorted(graph.inputs) != sorted(names):
        print(f"✗ {what}: its inputs are named {', '.join(sorted(graph.inputs)) or 'nothing'}; "
              f"they should be {', '.join(sorted(names))}")
        return False
    for point in points:
        values = _named(point, names)
        got, want = graph.forward(**values), function(*values.values())
        if not np.allclose(got, want, rtol=1e-9, atol=1e-12):
            print(f"✗ {what} is not right yet: at {_where(values)} it gives {float(got):.6g}, "
                  f"but the function is {float(want):.6g}")
            return False
    print(f"✓ {what} computes the function right at all {len(points)} points")
    return True


def check_derivative(derivative: Callable[..., Any], function: Callable[..., Any],
                     points: Sequence[Any], *, what: str = "your derivative",
                     eps: float = 1e-6) -> bool:
    """An exercise check for a derivative written by hand (a slope, or a staged backward pass):
    at every point, derivative(*inputs) — one number, or a tuple with one number per input of
    `function` — is compared with central differences of `function`, as gradcheck does.
    Points as for check_graph. Prints one line: the first disagreement, or ✓."""
    names = _input_names(function)
    for point in points:
        values = _named(point, names)
        args = list(values.values())
        given = derivative(*args)
        if given is None or (isinstance(given, tuple) and any(g is None for g in given)):
            print(f"✗ {what}: not written yet (it returns None)")
            return False
        given = given if isinstance(given, tuple) else (given,)
        if len(given) != len(names):
            print(f"✗ {what}: return {len(names)} number(s), one per input "
                  f"({', '.join(names)}); got {len(given)}")
            return False
        out = float(function(*args))
        floor = max(1e-6, 1e-9 * max(1.0, abs(out)) / eps)   # as gradcheck: rounding noise
        for i, (name, g) in enumerate(zip(names, given)):
            up, down = list(args), list(args)
            up[i], down[i] = args[i] + eps, args[i] - eps
            numeric = (function(*up) - function(*down)) / (2 * eps)
            if relative_error(g, numeric, floor) >= AGREES:
                print(f"✗ {what} is not right yet: at {_where(values)}, ∂/∂{name} is "
                      f"{float(g):.6g} but central differences give {float(numeric):.6g}")
                return False
    print(f"✓ {what} matches central differences at all {len(points)} points")
    return True
