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
from .graph import Graph
from .nodes import Input

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


# --- notebook 3 ---
# A learner's own engine (notebook 3) is checked against compgraph on random expressions. The
# expressions are written with + and * only (and one-input functions passed by name), so one
# expression builds from floats, from the learner's values or from compgraph nodes alike.


class RandomExpression:
    """A random expression over n inputs x1 … xn, as a list of steps such as `v3 = v1 * x2`.
    Later steps re-use earlier values, so some values feed several consumers; every value is used
    (what no later step takes is added into the output at the end). `point` holds input values.

    Calling it builds the expression from the leaves given: expr(*point) is its value,
    expr(*(Value(v) for v in point)) builds it from a learner's values, and one-input
    functions are passed by name, expr(*leaves, tanh=my_tanh)."""

    def __init__(self, seed: int, n_inputs: int = 3, n_ops: int = 6,
                 unary: Sequence[str] = ()):
        rng = np.random.default_rng(seed)
        self.seed, self.n_inputs, self.unary = seed, n_inputs, tuple(unary)
        self.steps: list[tuple] = []
        count, used = n_inputs, set()
        for _ in range(n_ops):
            # the first operand is often the newest value, so that expressions grow deep
            # and the second one often a value nothing uses yet, so that few are left over
            first = count - 1 if rng.random() < 0.5 else int(rng.integers(count))
            if self.unary and rng.random() < 0.3:
                step: tuple = (str(rng.choice(self.unary)), first)
            else:
                unused = [k for k in range(count) if k not in used and k != first]
                second = (int(rng.choice(unused)) if unused and rng.random() < 0.5
                          else int(rng.integers(count)))
                step = (str(rng.choice(["+", "*"])), first, second)
            self.steps.append(step)
            used.update(step[1:])
            count += 1
        for k in range(count - 1):   # values nothing uses yet go into the output
            if k not in used:
                self.steps.append(("+", count - 1, k))
                count += 1
        self.point = tuple(round(float(v), 3) for v in rng.uniform(-1.5, 1.5, n_inputs))

    def _name(self, k: int) -> str:
        if k < self.n_inputs:
            return f"x{k + 1}"
        return "out" if k == self.n_inputs + len(self.steps) - 1 else f"v{k - self.n_inputs + 1}"

    def __call__(self, *leaves: Any, **unary: Callable[[Any], Any]) -> Any:
        if len(leaves) != self.n_inputs:
            raise TypeError(f"this expression has {self.n_inputs} inputs, got {len(leaves)}")
        values = list(leaves)
        for op, *args in self.steps:
            if op == "+":
                values.append(values[args[0]] + values[args[1]])
            elif op == "*":
                values.append(values[args[0]] * values[args[1]])
            elif op in unary:
                values.append(unary[op](values[args[0]]))
            else:
                raise TypeError(f"this expression uses {op}: pass {op}=<a function>")
        return values[-1]

    def __str__(self) -> str:
        lines = []
        for k, (op, *args) in enumerate(self.steps, start=self.n_inputs):
            if op in "+*":
                right = f"{self._name(args[0])} {op} {self._name(args[1])}"
            else:
                right = f"{op}({self._name(args[0])})"
            lines.append(f"{self._name(k)} = {right}")
        inputs = ", ".join(f"x{i + 1} = {v:g}" for i, v in enumerate(self.point))
        return "\n".join(lines) + f"\nat {inputs}"

    def __repr__(self) -> str:
        return f"RandomExpression(seed={self.seed}: {len(self.steps)} steps)"


def random_expression(seed: int, n_inputs: int = 3, n_ops: int = 6,
                      unary: Sequence[str] = ()) -> RandomExpression:
    """The random expression number `seed` (the same one every run); see RandomExpression."""
    return RandomExpression(seed, n_inputs, n_ops, unary)


def compgraph_gradients(expr: RandomExpression) -> list[float]:
    """∂out/∂x_i for each input of `expr` at expr.point, by compgraph's forward and backward."""
    from . import functions
    xs = [Input(f"x{i + 1}") for i in range(expr.n_inputs)]
    graph = Graph(expr(*xs, **{name: getattr(functions, name) for name in expr.unary}))
    graph.forward(**{x.name: v for x, v in zip(xs, expr.point)})
    graph.backward()
    return [float(graph.grad(x)) for x in xs]


def check_engine(make_leaf: Callable[[float], Any], backward: Callable[[Any], Any], *,
                 count: int = 24, unary: dict[str, Callable] | None = None) -> bool:
    """An exercise check for a learner's engine: build `count` random expressions from
    make_leaf(number) leaves (and the one-input functions in `unary`, by name), call
    backward(output), and compare each leaf's .grad with compgraph's gradient. Expression k has
    2 + k // 4 operations, so a failure shows on the smallest expression that has it. Prints one
    line: ✓, or the first expression where they differ, written out."""
    unary = unary or {}
    for seed in range(count):   # small expressions first: a failure is easier to read
        expr = random_expression(seed, n_ops=2 + seed // 4, unary=tuple(unary))
        try:
            leaves = [make_leaf(v) for v in expr.point]
            backward(expr(*leaves, **unary))
            yours = [float(leaf.grad) for leaf in leaves]
        except Exception as error:   # the learner's code: say what it raised, not a traceback
            print(f"✗ random expression {seed} raised {type(error).__name__}: {error}")
            return False
        theirs = compgraph_gradients(expr)
        for i, (mine, right) in enumerate(zip(yours, theirs)):
            if relative_error(mine, right) > AGREES:
                print(f"✗ not right yet, on random expression {seed}:\n"
                      f"  your ∂out/∂x{i + 1} is {mine:.6g}, compgraph's is {right:.6g}\n"
                      f"The expression:\n{expr}")
                return False
    print(f"✓ on all {count} random expressions your gradients match compgraph's")
    return True


def check_new_op(make_leaf: Callable[[float], Any], op: Callable[..., Any], name: str,
                 points: Sequence[Sequence[float]]) -> bool:
    """An exercise check for an op added to a learner's engine: at each point, op(*leaves) must
    hold the value of compgraph's op `name` and one local derivative per input (in .local) equal
    to the op table's, which are also compared with central differences of op's value."""
    from .ops import OPS
    table = OPS[name]
    for point in points:
        point = tuple(float(v) for v in point)
        where = ", ".join(f"{v:g}" for v in point)
        try:
            out = op(*(make_leaf(v) for v in point))
            if any(d is None for d in out.local):
                print(f"✗ {name}: no local derivatives yet (replace the None)")
                return False
            local = tuple(float(d) for d in out.local)
        except Exception as error:   # a typo, a wrong attribute, a wrong type
            print(f"✗ {name} at ({where}) raised {type(error).__name__}: {error}")
            return False
        want = table.forward(*point)
        if not np.isclose(out.data, want, rtol=1e-12):
            print(f"✗ the value of {name} at ({where}) is {out.data:.6g}; it should be {want:.6g}")
            return False
        if len(local) != len(point):
            print(f"✗ {name} has {len(point)} inputs: give one local derivative per input")
            return False
        for i, (mine, right) in enumerate(zip(local, table.local(want, *point))):
            eps = 1e-6
            up, down = list(point), list(point)
            up[i] += eps
            down[i] -= eps
            slope = (op(*map(make_leaf, up)).data - op(*map(make_leaf, down)).data) / (2 * eps)
            if not (np.isclose(mine, right, rtol=1e-9) and np.isclose(mine, slope, rtol=1e-6)):
                print(f"✗ not right yet, at ({where}):\n"
                      f"  your local derivative toward input {i + 1} is {mine:.6g};\n"
                      f"  it should be {right:.6g} (central difference {slope:.6g})")
                return False
    print(f"✓ {name}: the value and both local derivatives are right at all {len(points)} points"
          if len(points[0]) == 2 else
          f"✓ {name}: the value and the local derivative are right at all {len(points)} points")
    return True


# --- notebooks 4 and 5 ---

def backward_step_into(steps: Sequence[Any], name: str) -> Any:
    """The first backward step of a trace that brings a contribution down into the node called
    `name` (the step that crosses the edge from its consumer into it)."""
    for step in steps:
        if step.kind == "backward" and step.consumer is not None and step.input.name == name:
            return step
    raise KeyError(f"no backward step into a node called {name!r}")


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
