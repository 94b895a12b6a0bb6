"""A trace: the forward and backward passes written down as data, one step at a time.

Widgets and notebooks only show a trace; every number in it comes from the Graph's own passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .graph import CONST, Graph, Node
from .ops import Value


def fmt(value: Value | None) -> str:
    """4 significant digits; arrays of at most 6 elements in full, larger ones by shape."""
    if value is None:
        return "?"
    if type(value) is float or np.ndim(value) == 0:
        return f"{float(value) + 0.0:.4g}"  # + 0.0 turns −0.0 into 0.0: no "-0" on screen
    if value.size <= 6:
        text = np.array2string(value, separator=", ",
                               formatter={"float_kind": lambda v: f"{v + 0.0:.4g}"})
        return " ".join(text.split())
    return "×".join(map(str, value.shape)) + " array"


def formula(node: Node, names: list[str] | None = None) -> str:
    """The node's op written with its inputs, e.g. 'sin(h)'; `names` substitutes other text."""
    names = names if names is not None else [c.name for c in node.children]
    attrs = {k: f"{v:g}" for k, v in node.attrs.items()}
    return node.op.formula.format(*names, **attrs)


def deriv_label(node: Node, index: int) -> str:
    """The symbolic local derivative of `node` with respect to its input `index`, e.g. 'cos(h)'."""
    attrs = {k: f"{v:g}" for k, v in node.attrs.items()}
    return node.op.deriv[index].format(*(c.name for c in node.children), out=node.name, **attrs)


def local_derivative(graph: Graph, node: Node, index: int) -> Value:
    """The connection derivative ∂node/∂input[index] at the values of graph's last pass."""
    xs = tuple(graph.value(c) for c in node.children)
    return node.op.local(graph.value(node), *xs, **node.attrs)[index]


def partial(top: Node, bottom: Node) -> str:
    return f"∂{top.name}/∂{bottom.name}"


def _snapshot(value: Value | None) -> Value | None:
    return value.copy() if isinstance(value, np.ndarray) else value


@dataclass(frozen=True)
class ForwardStep:
    """A node's value computed (or, for a leaf, given)."""

    index: int
    node: Node
    inputs: tuple[tuple[str, Value], ...]
    value: Value
    text: str
    kind: str = "forward"


@dataclass(frozen=True)
class BackwardStep:
    """One edge of the backward pass: the gradient at `parent` (upstream) times the connection
    derivative ∂parent/∂child (local) gives this edge's share of ∂output/∂child, added to the
    shares that arrived earlier (terms) to give the running total. The seed step, ∂out/∂out = 1,
    has parent None."""

    index: int
    parent: Node | None
    child: Node
    upstream: Value
    local: Value
    local_label: str
    product: Value
    total: Value
    terms: tuple[Value, ...]
    text: str
    slot: int = 0  # which of the parent's inputs the child is (a + a has two edges)
    kind: str = "backward"

    @property
    def edge(self) -> tuple[Node, Node] | None:
        return None if self.parent is None else (self.parent, self.child)


class Trace(list):
    """The list of steps: every forward step, then every backward step."""

    def __init__(self, graph: Graph, steps: list):
        super().__init__(steps)
        self.graph = graph

    @property
    def forward_steps(self) -> list[ForwardStep]:
        return [s for s in self if s.kind == "forward"]

    @property
    def backward_steps(self) -> list[BackwardStep]:
        return [s for s in self if s.kind == "backward"]


def trace(graph: Graph, **inputs: Any) -> Trace:
    """Run forward and backward on `graph` and record each step. Constants are shown from the
    start, so they get no step of their own and no edge into them is traversed."""
    graph.forward(**inputs)
    steps: list = []
    for node in graph.nodes:
        if node.role != CONST:
            steps.append(_forward_step(graph, len(steps), node))

    out = graph.output
    terms: dict[Node, list[Value]] = {out: [1.0]}
    steps.append(BackwardStep(len(steps), None, out, 1.0, 1.0, "1", 1.0, 1.0, (1.0,),
                              f"{partial(out, out)} = 1"))

    def record(parent: Node, i: int, child: Node, upstream: Value, share: Value,
               total: Value) -> None:
        if child.role == CONST:
            return
        shares = terms.setdefault(child, [])
        shares.append(_snapshot(share))
        local = local_derivative(graph, parent, i)
        step_text = _backward_text(out, parent, child, i, upstream, local, share, total, shares)
        steps.append(BackwardStep(len(steps), parent, child, _snapshot(upstream),
                                  _snapshot(local), deriv_label(parent, i), _snapshot(share),
                                  _snapshot(total), tuple(shares), step_text, i))

    graph.backward(record=record)
    return Trace(graph, steps)


def _forward_step(graph: Graph, index: int, node: Node) -> ForwardStep:
    value = _snapshot(graph.value(node))
    if node.op is None:
        text = f"{node.name} = {fmt(value)}"
        return ForwardStep(index, node, (), value, text)
    xs = [graph.value(c) for c in node.children]
    inputs = tuple((c.name, _snapshot(x)) for c, x in zip(node.children, xs))
    text = f"{node.name} = {formula(node)}"
    if all(type(x) is float for x in xs):
        text += f" = {formula(node, [fmt(x) for x in xs])}"
    text += f" = {fmt(value)}"
    return ForwardStep(index, node, inputs, value, text)


def _backward_text(out: Node, parent: Node, child: Node, i: int, upstream: Value, local: Value,
                   share: Value, total: Value, shares: list[Value]) -> str:
    chain = f"{partial(out, parent)} · {partial(parent, child)}"
    first = len(shares) == 1
    head = f"{partial(out, child)} {'=' if first else '+='} {chain}"
    scalar = type(upstream) is float and type(local) is float
    arithmetic = f"{fmt(upstream)} × {fmt(local)} = {fmt(share)}" if scalar else fmt(share)
    label, number = deriv_label(parent, i), fmt(local)
    lines = [f"{head} = {arithmetic}",
             f"{partial(parent, child)} = {label}" + ("" if label == number else f" = {number}")]
    if not first:
        lines.append(f"so {partial(out, child)} = " + " + ".join(fmt(s) for s in shares)
                     + f" = {fmt(total)}")
    return "\n".join(lines)


@dataclass(frozen=True)
class TangentStep:
    """Forward mode: a node's value and its derivative with respect to one chosen leaf, the sum
    over its inputs of (connection derivative × the input's derivative)."""

    index: int
    node: Node
    wrt: Node
    value: Value
    tangent: Value
    text: str
    kind: str = "tangent"


def forward_mode_trace(graph: Graph, wrt: Node | str, index: Any = None,
                       **inputs: Any) -> Trace:
    """The forward-mode pass as steps: one per node, carrying d node / d wrt alongside the value.
    One such pass gives the derivative of every node by one input."""
    tangents = graph.forward_mode(wrt, index=index, **inputs)
    leaf = graph.node(wrt)
    steps = []
    for node in graph.nodes:
        if node.role == CONST:
            continue
        d = f"∂{node.name}/∂{leaf.name}"
        value = graph.value(node)
        if node.op is None:
            text = f"{node.name} = {fmt(value)};  {d} = {fmt(tangents[node])}"
        else:
            terms = [(i, c) for i, c in enumerate(node.children) if c.role != CONST]
            chain = " + ".join(f"{partial(node, c)} · ∂{c.name}/∂{leaf.name}" for _, c in terms)
            text = f"{node.name} = {formula(node)} = {fmt(value)}\n{d} = {chain}"
            if all(type(graph.value(c)) is float for c in node.children) \
                    and type(value) is float:
                text += " = " + " + ".join(
                    f"{fmt(local_derivative(graph, node, i))} × {fmt(tangents[c])}"
                    for i, c in terms)
            text += f" = {fmt(tangents[node])}"
        steps.append(TangentStep(len(steps), node, leaf, _snapshot(value),
                                 _snapshot(tangents[node]), text))
    return Trace(graph, steps)
