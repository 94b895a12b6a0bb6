"""A trace: the forward and backward passes written down as data, one step at a time.

Widgets and notebooks only show a trace; every number in it comes from the Graph's own passes.

Notation of the step text (the lessons' table of symbols uses the same):
  ∂f/∂h          the ACCUMULATED derivative of the output f with respect to node h, the number the
                 backward pass stores at h ("(so far)" while more paths are still to arrive);
  local cos(h)   the LOCAL derivative of one edge, written by its formula: how the
                 upper node of the edge moves when only this input moves.
The two never share a symbol on one line: "∂f/∂h = ∂f/∂g × local cos(h) = 1.817 × 0.8021".
Matrix steps write the product the backward pass really computes, transposes included
("∂C/∂θ2 = L2ᵀ · ∂C/∂z3"); a loss that averages shows its 1/m and the m it divides by.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import limits
from .graph import Graph
from .nodes import CONST, Node
from .ops import Value, shape_of


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
    """The local derivative ∂node/∂input[index] at the values of graph's last pass."""
    return graph.local_derivatives(node)[index]


def partial(top: Node, bottom: Node) -> str:
    """The accumulated derivative ∂top/∂bottom, e.g. '∂f/∂h'."""
    return f"∂{top.name}/∂{bottom.name}"


#: Ops whose value is a mean: their local derivatives carry a 1/m, m the number of entries.
AVERAGING_OPS = frozenset({"bce", "mean"})


def shape_text(value: Value) -> str:
    """'3×2' for an array, 'scalar' for a number."""
    shape = shape_of(value)
    return "×".join(map(str, shape)) if shape else "scalar"


def averaged_over(node: Node, values: Mapping[Node, Value]) -> int | None:
    """For a node that averages (a mean, the cross-entropy), the m it divides by; else None."""
    if node.op is None or node.op.name not in AVERAGING_OPS:
        return None
    sizes = [1 if type(v) is float else int(v.size)
             for v in (values.get(c) for c in node.children) if v is not None]
    return max(sizes) if sizes else None


def local_text(consumer: Node, slot: int, values: Mapping[Node, Value] | None = None) -> str:
    """The edge's local derivative as the step text writes it: its symbolic label, plus the m of
    an averaging loss when the values are known ('(L3−y)/(m·L3(1−L3)) (m = 4)')."""
    label = deriv_label(consumer, slot)
    m = averaged_over(consumer, values) if values else None
    return label if m is None else f"{label} (m = {m})"


def edge_text(consumer: Node, slot: int, values: Mapping[Node, Value],
              placeholder: str | None = None) -> str:
    """The label of the edge from `consumer.children[slot]` up to `consumer`.

    Scalars: the local derivative and its number, 'cos(h) = 0.8021' (just 'cos(h)' before the
    values are known, and '1', not '1 = 1'). Arrays: the local derivative, then on a second line
    what the edge carries, 'θ1 is 3×2' (the lower node's value, whose shape the gradient arriving
    there has too). `values` maps nodes to the values of one pass (a trace frame's, or
    graph.values); `placeholder` stands in for every number (for sizing a layout)."""
    input_ = consumer.children[slot]
    label = deriv_label(consumer, slot)
    below, above = values.get(input_), values.get(consumer)
    if below is None:
        return label
    m = averaged_over(consumer, values)
    note = "" if m is None else f" (m = {m})"
    if type(below) is float:
        if type(above) is not float:    # the upper node is not computed yet (or is an array)
            return label + note
        if placeholder is not None:
            return f"{label} = {placeholder}{note}"
        local = _local_number(consumer, slot, above, [values[c] for c in consumer.children])
        if not np.isfinite(local):
            return f"{label}: not finite here{note}"
        number = fmt(local)
        same = number.replace("-", "−") == label  # "−1" already says it
        return (label if same else f"{label} = {number}") + note
    return f"{label}{note}\n{input_.name} is {shape_text(below)}"


def _local_number(node: Node, slot: int, out: float, xs: list) -> float:
    """The local derivative for an edge label: inf or nan where it has no finite value (a
    picture shows that honestly; backward() raises there, naming the edge)."""
    with np.errstate(all="ignore"):
        try:
            return float(node.op.local(np.float64(out), *map(np.float64, xs), **node.attrs)[slot])
        except (ArithmeticError, ValueError, TypeError):
            return float("nan")


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
    """One edge of the backward pass, from a `consumer` node down to one of its inputs, `input`:
    the consumer's gradient (upstream) times the local derivative ∂consumer/∂input (local) is
    this edge's contribution to the input's gradient, added to the contributions that arrived
    earlier (terms) to give the running total. The seed step, ∂out/∂out = 1, has consumer None.
    (`parent`, `child`, `product` and `shares` are older names of the same fields.)"""

    index: int
    consumer: Node | None
    input: Node
    upstream: Value
    local: Value
    local_label: str
    contribution: Value
    total: Value
    # The contributions into `input` so far: the first term_count entries of a list that every
    # step into the same input shares (a node feeding n others would otherwise store n²/2).
    contributions: list[Value] = field(repr=False, compare=False)
    term_count: int
    text: str
    slot: int = 0  # which of the consumer's inputs this is (a + a has two edges)
    kind: str = "backward"

    @property
    def terms(self) -> tuple[Value, ...]:
        """The contributions that have reached `input` up to this step, this step's last."""
        return tuple(self.contributions[:self.term_count])

    @property
    def edge(self) -> tuple[Node, Node] | None:
        return None if self.consumer is None else (self.consumer, self.input)

    # the older names, which read the graph upside down (a "parent" is the node above)
    parent = property(lambda self: self.consumer)
    child = property(lambda self: self.input)
    product = property(lambda self: self.contribution)
    shares = property(lambda self: self.contributions)


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


def trace(graph: Graph, /, **inputs: Any) -> Trace:
    """Run forward and backward on `graph` and record each step. Constants are shown from the
    start, so they get no step of their own and no edge into them is traversed. Raises SizeError
    beyond compgraph.limits.MAX_TRACE_STEPS steps."""
    steps_needed = 1 + sum(1 for n in graph.nodes if n.role != CONST) + sum(
        1 for n in graph.ops for c in n.children if c.role != CONST)
    limits.check_size(f"trace() of {graph.output.name!r}", steps_needed, limits.MAX_TRACE_STEPS,
                      "trace a smaller graph (build one from the node you want to follow), or "
                      "set compgraph.limits.MAX_TRACE_STEPS higher", unit="steps")
    graph.forward(**inputs)
    steps: list = []
    for node in graph.nodes:
        if node.role != CONST:
            steps.append(_forward_step(graph, len(steps), node))

    out = graph.output
    values = graph.values
    # how many edges bring a contribution to each node: the step text says "(so far)" until the last
    fan_in = Counter(c for n in graph.nodes for c in n.children if c.role != CONST)
    terms: dict[Node, list[Value]] = {out: [1.0]}
    steps.append(BackwardStep(len(steps), None, out, 1.0, 1.0, "1", 1.0, 1.0, [1.0], 1,
                              f"{partial(out, out)} = 1"))

    def record(consumer: Node, i: int, input_: Node, upstream: Value, contribution: Value,
               total: Value) -> None:
        if input_.role == CONST:
            return
        arrived = terms.setdefault(input_, [])
        arrived.append(_snapshot(contribution))
        local = local_derivative(graph, consumer, i)
        step_text = _backward_text(out, consumer, input_, i, values, upstream, local,
                                   contribution, total, arrived, fan_in[input_])
        steps.append(BackwardStep(len(steps), consumer, input_, _snapshot(upstream),
                                  _snapshot(local), deriv_label(consumer, i), arrived[-1],
                                  _snapshot(total), arrived, len(arrived), step_text, i))

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


def _product_text(out: Node, consumer: Node, input_: Node, i: int, values: Mapping[Node, Value],
                  upstream: Value, local: Value, contribution: Value) -> list[str]:
    """The right-hand side of a backward step: the product the backward pass computes, with its
    numbers, and (for matrix products) a line on the shapes."""
    up = partial(out, consumer)
    if consumer.op.name == "matmul":
        a, b = (values[c] for c in consumer.children)
        A, B = (c.name for c in consumer.children)
        if np.ndim(a) == 1 and np.ndim(b) == 1:          # a dot product: times the other vector
            return [f"{up} × {B if i == 0 else A} = {fmt(contribution)}"]
        if i == 0:
            expr, left, right = f"{up} · {B}ᵀ", shape_text(upstream), shape_text(np.transpose(b))
        else:
            expr, left, right = f"{A}ᵀ · {up}", shape_text(np.transpose(a)), shape_text(upstream)
        if np.ndim(a if i == 1 else b) == 1:             # a vector times a vector: outer product
            expr += " (outer product)"
            column, row = (upstream, b) if i == 0 else (a, upstream)
            left, right = f"{np.size(column)}×1", f"1×{np.size(row)}"
        return [f"{expr} = {fmt(contribution)}",
                f"shapes: ({left})·({right}) → {shape_text(contribution)}, "
                f"the shape of {input_.name}"]
    if consumer.op.name == "append_one":
        part = "column" if np.ndim(upstream) == 2 else "entry"
        return [f"{up} without its last {part} = {fmt(contribution)}",
                f"({consumer.name} = [{input_.name}, 1]: its last {part} is the constant 1, which "
                f"depends on nothing below, so that {part}'s gradient goes no further)"]
    label = deriv_label(consumer, i)
    m = averaged_over(consumer, values)
    mean_note = [] if m is None else [f"(m = {m}: {consumer.name} is a mean over {m} "
                                      f"entr{'y' if m == 1 else 'ies'})"]
    scalar = type(upstream) is float and type(local) is float and type(contribution) is float
    times = "×" if type(upstream) is float or type(local) is float else "⊙"
    head = f"{up} {times} local {label}"
    if scalar:
        return [f"{head} = {fmt(upstream)} × {fmt(local)} = {fmt(contribution)}", *mean_note]
    raw = np.multiply(upstream, local)
    arithmetic = f"{fmt(upstream)} {times} {fmt(local)}"
    if np.size(raw) > 6 or np.size(contribution) > 6:
        arithmetic = ""
    lines = [f"{head} = " + (f"{arithmetic} = " if arithmetic else "") + fmt(contribution)]
    if np.shape(raw) != np.shape(contribution):
        if np.size(raw) < np.size(contribution):
            lines.append(f"(the same number for every entry of {input_.name}, "
                         f"{shape_text(contribution)})")
        else:
            lines.append(f"(summed over the entries {input_.name} was broadcast to: "
                         f"{shape_text(raw)} → {shape_text(contribution)})")
    return lines + mean_note


def _backward_text(out: Node, consumer: Node, input_: Node, i: int, values: Mapping[Node, Value],
                   upstream: Value, local: Value, contribution: Value, total: Value,
                   arrived: list[Value], fan_in: int) -> str:
    grad = partial(out, input_)
    if fan_in <= 1:
        head = f"{grad} ="
    elif len(arrived) == 1:
        head = f"{grad} (so far) ="
    else:
        head = f"{grad} +="
    first, *rest = _product_text(out, consumer, input_, i, values, upstream, local, contribution)
    lines = [f"{head} {first}", *rest]
    if len(arrived) > 1:
        done = len(arrived) == fan_in
        lines.append(f"{grad}{'' if done else ' (so far)'} = "
                     + _sum_text(arrived) + f" = {fmt(total)}"
                     + (f"  (all {fan_in} paths in)" if done else ""))
    return "\n".join(lines)


#: The running sum in a step's text lists at most this many arrived (a node feeding 10,000 others
#: would otherwise write 10,000 terms in each of its 10,000 steps).
SHOWN_TERMS = 4


def _sum_text(arrived: list[Value]) -> str:
    if len(arrived) <= SHOWN_TERMS + 1:
        return " + ".join(fmt(s) for s in arrived)
    return " + ".join(fmt(s) for s in arrived[:SHOWN_TERMS]) + \
        f" + … + {len(arrived) - SHOWN_TERMS:,} more"


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


def forward_mode_trace(graph: Graph, /, wrt: Node | str, index: Any = None,
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
            text = f"{node.name} = {formula(node)} = {fmt(value)}\n{d} = " \
                + _tangent_sum(graph, node, leaf, terms)
            if all(type(graph.value(c)) is float for c in node.children) \
                    and type(value) is float:
                text += " = " + " + ".join(
                    f"{fmt(local_derivative(graph, node, i))} × {fmt(tangents[c])}"
                    for i, c in terms)
            text += f" = {fmt(tangents[node])}"
        steps.append(TangentStep(len(steps), node, leaf, _snapshot(value),
                                 _snapshot(tangents[node]), text))
    return Trace(graph, steps)


def _tangent_sum(graph: Graph, node: Node, leaf: Node, terms: list[tuple[int, Node]]) -> str:
    """Forward mode's sum over a node's inputs: local derivative × the input's accumulated
    derivative by the chosen leaf ('local d × ∂c/∂b + local c × ∂d/∂b')."""
    def tangent(c: Node) -> str:
        return f"∂{c.name}/∂{leaf.name}"
    if node.op.name == "matmul":
        a, b = node.children
        parts = [f"{tangent(a)} @ {b.name}" if c is a else f"{a.name} @ {tangent(b)}"
                 for _, c in terms]
        return " + ".join(parts)
    if node.op.name == "append_one":
        return f"[{tangent(node.children[0])}, 0]"
    values = graph.values
    return " + ".join(f"local {local_text(node, i, values)} × {tangent(c)}" for i, c in terms)
