"""The Graph: every node an output depends on, in topological order, and the passes over it.

Define, then run: build the graph once from leaves and ops, then call forward() and backward() as
often as needed. Both passes are plain loops over the nodes and the op table (ops.py): forward
calls each op's function in order; backward walks the order in reverse and adds, into each input's
gradient, the upstream gradient times the op's local derivative. docs/ENGINE.md walks through them.

What a pass promises:
- forward() computes a new pass from the inputs given and each Param's value at that moment, and
  keeps its own read-only copies: an array changed in place later does not change the pass.
- backward() differentiates that pass. Every node's gradient is an array of its own; grad() and
  the mapping backward() returns hand out copies, so a number read once never changes.
- A pass that fails raises a CompgraphError and leaves nothing behind: value(), backward() and
  grad() then ask for a new forward().
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from . import limits
from .errors import (
    OP_ERRORS,
    RAISE,
    CompgraphError,
    DomainError,
    InputError,
    InputTypeError,
    NotFinite,
    OrderError,
    ShapeError,
    describe_inputs,
    edge_failed,
    finite,
    forward_failed,
    what_happened,
)
from .nodes import INPUT, OP, PARAM, Node, name_nodes, short, to_value
from .ops import Value, fit, jvp, shape_of, vjp

__all__ = ["Graph", "Gradients", "Path", "topological_order"]


def topological_order(output: Node) -> list[Node]:
    """Inputs before their consumers, in a fixed order (depth first, inputs left to right).
    Iterative, so a 100,000-deep chain needs no recursion."""
    order: list[Node] = []
    seen: set[int] = {id(output)}
    stack: list[tuple[Node, Iterator[Node]]] = [(output, iter(output.children))]
    while stack:
        node, children = stack[-1]
        for child in children:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append((child, iter(child.children)))
                break
        else:  # every input of `node` is placed: place the node itself
            stack.pop()
            order.append(node)
    return order


def _read_only(value: Value) -> Value:
    if type(value) is np.ndarray:
        value.flags.writeable = False
    return value


def _copy(value: Value) -> Value:
    return value.copy() if type(value) is np.ndarray else value


def run_op(node: Node, xs: list[Value]) -> Value:
    """One forward step: the op's function on its inputs' values, the result checked (a finite
    float, or a read-only float64 array) or turned into an error naming the node."""
    op = node.op
    if op.shapes is not None:
        problem = op.shapes(*xs)
        if problem:
            raise ShapeError(f"{op.name} node {node.name!r}: {problem} "
                             f"(inputs {describe_inputs(node, xs)})")
    try:
        value = op.forward(*xs, **node.attrs)
        if type(value) is float:
            if not math.isfinite(value):
                raise NotFinite(value)
            return value
        if type(value) is not np.ndarray or value.ndim == 0:  # a numpy scalar, a 0-d array
            value = float(value)
            return value if math.isfinite(value) else _raise(NotFinite(value))
    except OP_ERRORS as error:
        raise forward_failed(node, xs, error) from None
    return _read_only(value)


def _raise(error: Exception) -> Any:
    raise error


class _Missing:
    """The default of an argument a learner may forget: a clear error instead of Python's."""

    def __repr__(self) -> str:
        return "nothing"


MISSING: Any = _Missing()


class Graph:
    """Everything `output` depends on, in topological order, with forward and backward passes."""

    def __init__(self, output: Node, *more: Any):
        if more:
            raise InputTypeError(f"Graph takes one output node, got {1 + len(more)}; for one "
                                 f"graph of several outputs, add them: cg.Graph(a + b)")
        if not isinstance(output, Node):
            raise InputTypeError(f"Graph needs a node, got {type(output).__name__} "
                                 f"{short(output)}")
        self.output = output
        self.nodes = topological_order(output)  # the output comes last
        name_nodes(self.nodes)
        self.position = {node: i for i, node in enumerate(self.nodes)}
        # for each node, where its inputs stand in the order
        self.inputs_at = [tuple(self.position[c] for c in n.children) for n in self.nodes]
        self.ops = [n for n in self.nodes if n.op is not None]
        self.leaves = [n for n in self.nodes if n.op is None]
        self.inputs = {n.name: n for n in self.leaves if n.role == INPUT}
        self.params = [n for n in self.leaves if n.role == PARAM]
        self._values: list[Value] | None = None  # the last forward pass, by position
        self._grads: list[Value] | None = None   # the last backward pass, by position
        self.grads: Gradients | None = None

    # --- looking things up -------------------------------------------------------------------

    def node(self, which: Node | str = MISSING, call: str = "node(which)") -> Node:
        """The node itself, or the node with that name."""
        if which is MISSING:
            raise InputTypeError(f"{call}: say which node, by the node or by its name, e.g. "
                                 f"{call.split('(')[0]}(x) or {call.split('(')[0]}('x')")
        if isinstance(which, Node) and which in self.position:
            return which
        if isinstance(which, str):
            for node in self.nodes:
                if node.name == which:
                    return node
        names = ", ".join(n.name for n in self.nodes[:8])
        more = f", … ({len(self.nodes):,} nodes in all; graph.nodes lists them)" \
            if len(self.nodes) > 8 else ""
        raise CompgraphError(f"no node {getattr(which, 'name', which)!r} in this graph "
                             f"(nodes: {names}{more})")

    @property
    def forwarded(self) -> bool:
        """Whether the last forward() succeeded."""
        return self._values is not None

    def _pass(self, caller: str) -> list[Value]:
        if self._values is None:
            raise OrderError(f"{caller} of {self.output.name!r}: call forward(...) first (a "
                             f"forward pass that failed leaves none)")
        return self._values

    def value(self, which: Node | str = MISSING) -> Value:
        """The node's value in this graph's last forward() (an array of your own)."""
        node = self.node(which, "value(node)")
        return _copy(self._pass(f"value({node.name!r})")[self.position[node]])

    @property
    def values(self) -> dict[Node, Value]:
        """Every node's value in the last forward() (empty before the first)."""
        if self._values is None:
            return {}
        return {node: _copy(v) for node, v in zip(self.nodes, self._values)}

    def grad(self, which: Node | str = MISSING) -> Value:
        """∂output/∂node from the last backward() (an array of your own)."""
        node = self.node(which, "grad(node)")
        if self._grads is None:
            raise OrderError(f"grad({node.name!r}): call backward() after forward(...) first")
        return _copy(self._grads[self.position[node]])

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return f"<Graph of {self.output.name!r}: {len(self.nodes)} nodes>"

    # --- forward -----------------------------------------------------------------------------

    def check_inputs(self, /, **given: Any) -> dict[str, Value]:
        """The inputs as a pass holds them (read-only copies), or a clear error for an unknown,
        missing or bad one."""
        for name in given:
            if name not in self.inputs:
                hint = ("; it is a Param: assign its .value instead"
                        if any(p.name == name for p in self.params) else "")
                raise InputError(f"unknown input {name!r}{hint} "
                                 f"(inputs: {', '.join(self.inputs) or 'none'})")
        for name in self.inputs:
            if name not in given:
                raise InputError(f"missing input {name!r}: call forward({name}=...)")
        return {name: _read_only(to_value(given[name], f"input {name!r}")) for name in given}

    def forward(self, /, *positional: Any, **inputs: Any) -> Value:
        """Compute every node's value in topological order from the inputs (given by name) and
        each Param's current value; return the output's value."""
        if positional:
            raise InputError(f"forward() takes the inputs by name, as in "
                             f"forward({', '.join(f'{n}=...' for n in self.inputs) or ''}); "
                             f"got {short(positional[0])} without a name")
        given = self.check_inputs(**inputs)
        self._values = self._grads = self.grads = None  # a pass that fails leaves nothing
        leaves = {node: given[node.name] if node.role == INPUT else _read_only(_copy(node.value))
                  for node in self.leaves}
        values = self.evaluate(leaves)
        self._values = values
        for node, value in zip(self.nodes, values):
            if node.role in (INPUT, OP):
                node.value = value  # what a learner reading `L3.value` sees: the latest pass
        return _copy(values[-1])

    def evaluate(self, leaves: Mapping[Node, Value]) -> list[Value]:
        """The forward pass itself: every node's value, in order, from the leaves' values. The
        graph keeps nothing (numeric_grad calls this with one leaf nudged)."""
        values: list[Value] = []
        with np.errstate(**RAISE):
            for node, inputs_at in zip(self.nodes, self.inputs_at):
                if node.op is None:
                    values.append(leaves[node])
                else:
                    values.append(run_op(node, [values[j] for j in inputs_at]))
        return values

    # --- backward ----------------------------------------------------------------------------

    def backward(self, /, *given: Any, record: Callable[..., None] | None = None,
                 **inputs: Any) -> Gradients:
        """∂output/∂node for every node of the last forward pass, by the chain rule in reverse
        topological order: each op passes each input the upstream gradient times its local
        derivative (the op's vector-Jacobian product), and an input used by several consumers
        adds up what they pass. Returns {node: gradient}. `record(consumer, slot, input,
        upstream, contribution, total)`, if given, sees every edge as it is used."""
        if given or inputs:
            raise InputError("backward() takes no inputs: it differentiates the last forward "
                             "pass; call forward(x=...) first, then backward()")
        values = self._pass("backward()")
        if type(values[-1]) is not float:
            raise ShapeError(f"backward() needs a scalar output, but node {self.output.name!r} "
                             f"has shape {shape_of(values[-1])}; reduce it with sum or mean")
        self._grads = self.grads = None               # a backward that fails leaves nothing
        grads: list[Value] = [0.0] * len(values)       # every gradient starts at 0 ...
        grads[-1] = 1.0                                # ... but the output's: ∂out/∂out = 1
        with np.errstate(**RAISE):
            for i in reversed(range(len(values))):     # every consumer before its inputs
                node = self.nodes[i]
                if node.op is None:
                    continue                           # a leaf has nothing to pass on
                upstream, inputs_at = grads[i], self.inputs_at[i]
                xs = [values[j] for j in inputs_at]
                j = None
                try:
                    contributions = vjp(node.op, upstream, values[i], xs, node.attrs)
                    for slot, (j, contribution) in enumerate(zip(inputs_at, contributions)):
                        grads[j] += contribution       # += : every consumer adds its part
                        if type(grads[j]) is float and not math.isfinite(grads[j]):
                            raise NotFinite(grads[j])
                        if record is not None:
                            record(node, slot, self.nodes[j], upstream, contribution, grads[j])
                except OP_ERRORS as error:
                    into = None if j is None else self.nodes[j]
                    raise edge_failed(node, xs, values[i], upstream, error, into) from None
        self._grads = grads
        self.grads = Gradients(self.position, grads)
        return self.grads

    def local_derivatives(self, node: Node | str = MISSING) -> tuple:
        """∂node/∂input for each input of `node`, at the last forward's values (finite, or a
        DomainError naming the edge)."""
        node = self.node(node, "local_derivatives(node)")
        values = self._pass("local_derivatives()")
        i = self.position[node]
        xs = [values[j] for j in self.inputs_at[i]]
        try:
            with np.errstate(**RAISE):
                local = node.op.local(values[i], *xs, **node.attrs)
                for d in local:
                    if not finite(d):
                        raise NotFinite(d)
        except OP_ERRORS as error:
            raise edge_failed(node, xs, values[i], 1.0, error, doing="at") from None
        return local

    def descend(self, lr: float = MISSING) -> None:
        """θ ← θ − lr·∂output/∂θ for every Param, from the last backward(): one step of gradient
        descent. A step that overflows raises DomainError and leaves every Param as it was."""
        if self._grads is None:
            raise OrderError("a gradient descent step needs gradients: call backward() first")
        if not isinstance(lr, numbers.Real) or isinstance(lr, bool) or not math.isfinite(lr):
            raise InputError(f"descend(lr): the learning rate lr must be a finite number, e.g. "
                             f"graph.descend(0.1); got {short(lr)}")
        new = []
        with np.errstate(**RAISE):  # an array that overflows raises; a float is checked
            for p in self.params:
                try:
                    step = p.value - float(lr) * self._grads[self.position[p]]
                    if type(step) is float and not math.isfinite(step):
                        raise NotFinite(step)
                except ArithmeticError as e:
                    raise DomainError(f"gradient descent step of Param {p.name!r} (lr = {lr:g}):"
                                      f" the new value is not finite ({what_happened(e)})"
                                      ) from None
                new.append(step)
        for p, step in zip(self.params, new):
            object.__setattr__(p, "value", step)  # new, finite, the Param's shape: no checks

    # --- forward mode and paths --------------------------------------------------------------

    def forward_mode(self, wrt: Node | str = MISSING, index: Any = None,
                     **inputs: Any) -> dict[Node, Value]:
        """d node / d wrt for every node (its tangent), in one forward pass per chosen input.
        For an array leaf, `index` picks the element to differentiate by."""
        leaf = self.node(wrt, "forward_mode(wrt, ...)")
        if leaf.role not in (INPUT, PARAM):
            raise CompgraphError(f"forward_mode: {leaf.name!r} is not an Input or a Param")
        self.forward(**inputs)
        values = self._pass("forward_mode()")
        tangents: list[Value] = [fit(0.0, v) for v in values]
        tangents[self.position[leaf]] = _seed(leaf, values[self.position[leaf]], index)
        with np.errstate(**RAISE):
            for i, node in enumerate(self.nodes):
                if node.op is None:
                    continue
                xs = [values[j] for j in self.inputs_at[i]]
                ts = [tangents[j] for j in self.inputs_at[i]]
                try:
                    tangent = jvp(node.op, values[i], xs, ts, node.attrs)
                    if not finite(tangent):
                        raise NotFinite(tangent)
                except OP_ERRORS as e:
                    raise DomainError(f"forward_mode: d{node.name}/d{leaf.name} at "
                                      f"{node.op.name} node {node.name!r} is not a finite number "
                                      f"({what_happened(e)}; inputs "
                                      f"{describe_inputs(node, xs)})") from None
                tangents[i] = tangent
        return dict(zip(self.nodes, tangents))

    def count_paths(self, wrt: Node | str = MISSING) -> int:
        """How many paths lead from the output down to `wrt` (exact, without listing them: it can
        be 2^n for n diamonds in a row)."""
        target = self.position[self.node(wrt, "count_paths(wrt)")]
        counts = [0] * len(self.nodes)
        counts[target] = 1
        for i in range(target + 1, len(self.nodes)):  # (nothing below `wrt` counts)
            counts[i] = sum(counts[j] for j in self.inputs_at[i])
        return counts[-1]

    def paths(self, wrt: Node | str = MISSING, max_paths: int | None = None) -> list[Path]:
        """Every path from the output down to `wrt`, with the local derivative of each edge, for
        scalar graphs at the last forward's values. The paths' products sum to ∂output/∂wrt.
        Raises SizeError beyond `max_paths` (default compgraph.limits.MAX_PATHS)."""
        leaf = self.node(wrt, "paths(wrt)")
        values = self._pass("paths()")
        count = self.count_paths(leaf)
        limits.check_size(f"paths() from {self.output.name!r} to {leaf.name!r}", count,
                          limits.MAX_PATHS if max_paths is None else max_paths,
                          "pass max_paths=... to list them all, or use backward(), which sums "
                          "them without listing them", unit="paths")
        for node, value in zip(self.nodes, values):
            if type(value) is not float:
                raise ShapeError(f"paths(): node {node.name!r} holds an array; path products "
                                 f"are defined for scalar graphs")
        target = self.position[leaf]
        reaches = [i == target for i in range(len(self.nodes))]  # a path leads down to `wrt`
        for i in range(target + 1, len(self.nodes)):
            reaches[i] = any(reaches[j] for j in self.inputs_at[i])
        found: list[Path] = []
        # depth first; a route is a linked list (route so far, node, slot, local derivative), so
        # a long chain shares its prefixes instead of copying them
        stack: list[tuple[Node, tuple | None]] = [(self.output, None)]
        while stack:
            node, route = stack.pop()
            if node is leaf:
                path = _unwind(self.output, route)
                if not math.isfinite(path.product):
                    raise DomainError(f"paths(): the product along {path.text()} is not a "
                                      f"finite number")
                found.append(path)
            elif node.op is not None:
                local = self.local_derivatives(node)
                for slot in reversed(range(len(node.children))):
                    child = node.children[slot]
                    if reaches[self.position[child]]:
                        stack.append((child, (route, child, slot, float(local[slot]))))
        return found


def _seed(leaf: Node, value: Value, index: Any) -> Value:
    """The tangent of the chosen leaf: 1, or 1 at the chosen element of an array."""
    if type(value) is float:
        if index is not None and index != () and index != 0:
            raise ShapeError(f"forward_mode: {leaf.name!r} is a number; index={index!r} has "
                             f"nothing to pick (leave it out)")
        return 1.0
    if index is None:
        raise ShapeError(f"forward_mode: {leaf.name!r} has shape {value.shape}; pass index=... "
                         f"to choose one element")
    seed = np.zeros_like(value)
    try:
        if np.ndim(seed[index]) != 0:
            raise IndexError
        seed[index] = 1.0
    except (IndexError, TypeError, ValueError):
        raise ShapeError(f"forward_mode: index={index!r} does not pick one element of "
                         f"{leaf.name!r}, which has shape {value.shape} (give one index per "
                         f"axis, each below that axis' length)") from None
    return seed


class Gradients(Mapping):
    """{node: ∂output/∂node} of one backward pass. Reading an entry gives a copy, so these
    numbers stay as they are, whatever happens to the graph or to arrays read from it."""

    def __init__(self, position: dict[Node, int], grads: list[Value]):
        self._position, self._grads = position, grads

    def __getitem__(self, node: Node) -> Value:
        return _copy(self._grads[self._position[node]])

    def __iter__(self) -> Iterator[Node]:
        return iter(self._position)

    def __len__(self) -> int:
        return len(self._position)


class Path:
    """One route from the output to a leaf: its nodes (output first), the local derivative of
    each edge, and for each edge which input of the upper node it enters (a + a has two)."""

    def __init__(self, nodes: tuple[Node, ...], factors: tuple[float, ...],
                 slots: tuple[int, ...] = ()):
        self.nodes, self.factors, self.slots = nodes, factors, slots

    @property
    def edges(self) -> list[tuple[Node, int]]:
        """(upper node, input slot) for each edge, output first."""
        return list(zip(self.nodes[:-1], self.slots))

    @property
    def product(self) -> float:
        return math.prod(self.factors)

    def text(self) -> str:
        return " → ".join(n.name for n in self.nodes)

    def __repr__(self) -> str:
        factors = " × ".join(f"{f:.4g}" for f in self.factors)
        return f"<Path {self.text()}: {factors} = {self.product:.4g}>"


def _unwind(output: Node, route: tuple | None) -> Path:
    nodes, factors, slots = [], [], []
    while route is not None:
        route, child, slot, factor = route
        nodes.append(child)
        factors.append(factor)
        slots.append(slot)
    nodes.append(output)
    return Path(tuple(reversed(nodes)), tuple(reversed(factors)), tuple(reversed(slots)))
