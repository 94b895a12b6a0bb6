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


# --- notebooks 6 and 7 ---

def check_twin_units(right: Any, gap: Any, seed: int = 0, lr: float = 1.0,
                     epochs: int = 2000) -> bool:
    """Notebook 6: predictions for twin hidden units. Both hidden units start with the weights of
    the first one of seed `seed` (θ1's first column, twice; θ2's first row, twice); after `epochs`
    steps of gradient descent, how many of the four XOR samples are right (`right`), and how far
    apart are the two columns of θ1, as the largest difference of an entry (`gap`)?"""
    from .check import check_answer
    from .nn import XOR_X, XOR_Y, init_sigmoid_params, sigmoid_net

    if right is None and gap is None:
        print("✗ no predictions yet (replace both Nones with your numbers)")
        return False
    theta1, theta2 = init_sigmoid_params(seed)
    net = sigmoid_net(np.repeat(theta1[:, :1], 2, axis=1),
                      np.array([theta2[0], theta2[0], theta2[2]]))
    for _ in range(epochs):
        net.graph.forward(X=XOR_X, y=XOR_Y)
        net.graph.backward()
        net.graph.descend(lr)
    net.graph.forward(X=XOR_X, y=XOR_Y)
    correct = int(np.sum((net.L3.value > 0.5) == (XOR_Y > 0.5)))
    apart = float(np.max(np.abs(net.theta1.value[:, 0] - net.theta1.value[:, 1])))
    first = check_answer(right, correct, what=f"samples right after {epochs} epochs")
    second = check_answer(gap, apart, what="largest difference between the two columns of θ1",
                          rtol=1e-6)   # (an absolute 1e-9 too: rounding may leave a trace)
    return first and second


def check_rescue(eta: Any, seed: int = 6, epochs: int = 2000) -> bool:
    """Notebook 6: does seed `seed` learn XOR (4/4 after `epochs` epochs) with learning rate
    `eta`? Trains it with cg.nn.train_xor and says how it ended."""
    from .nn import train_xor

    if eta is None:
        print("✗ no learning rate yet (replace None with a positive number)")
        return False
    run = train_xor(seed, eta, epochs)
    if run.correct() == 4:
        print(f"✓ with η = {eta:g} seed {seed} learns XOR (4/4 from epoch "
              f"{run.first_correct_epoch()})")
        return True
    print(f"✗ with η = {eta:g} seed {seed} ends at {run.correct()}/4 after {epochs} epochs; try "
          f"another η")
    return False


def check_bptt_w(bptt_w: Callable[..., Any]) -> bool:
    """Notebook 7: a hand-written backprop through time, bptt_w(xs, hs, w, y) → ∂E/∂w for the
    tanh RNN with E = ½(h_T − y)², against the engine on two sequences: the notebook's example
    (T = 4, h0 = 0) and one with T = 5 and a state h0 ≠ 0 to start from."""
    from .nn import rnn, rnn_states

    cases = [(np.round(np.random.default_rng(0).normal(size=4), 2), 0.8, 1.0, 0.1, 0.5, 0.0),
             (np.round(np.random.default_rng(1).normal(size=5), 2), -1.3, 0.7, -0.2, 0.3, 0.4)]
    for k, (xs, w, u, b, y, h0) in enumerate(cases, 1):
        net = rnn(len(xs), w, u, b)
        net.graph.forward(**net.feed(xs, y, h0))
        expected = float(net.graph.backward()[net.w])
        given = bptt_w(xs, rnn_states(xs, w, u, b, h0), w, y)
        if given is None or not np.isclose(float(given), expected, rtol=1e-9, atol=1e-12):
            print(f"✗ bptt_w is not right yet: on sequence {k} (T = {len(xs)}, h0 = {h0:g}) it "
                  f"gives {given}, the engine {expected:.6g}")
            return False
    print("✓ bptt_w gives the engine's ∂E/∂w on both sequences")
    return True
