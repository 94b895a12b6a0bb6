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


# --- notebooks 4 and 5 ---

def backward_step_into(steps: Sequence[Any], name: str) -> Any:
    """The first backward step of a trace that brings a contribution down into the node called
    `name` (the step that crosses the edge from its consumer into it)."""
    for step in steps:
        if step.kind == "backward" and getattr(step, "parent", None) is not None \
                and step.child.name == name:
            return step
    raise KeyError(f"no backward step into a node called {name!r}")
