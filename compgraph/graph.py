"""Nodes, the Graph built from them, and the forward and backward passes.

Define, then run: build the graph once from leaves and ops, then call forward() and backward() as
often as needed. Every derivative comes from the op table in ops.py.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from . import ops
from .errors import CompgraphError, InputError, InputTypeError, OrderError, ShapeError
from .ops import OPS, Op, Value, shape_of

# Roles decide colours in pictures and which leaves gradcheck perturbs.
INPUT, PARAM, CONST, OP = "input", "param", "const", "op"


def to_value(raw: Any, who: str) -> Value:
    """A number or array as the engine holds it (float or float64 ndarray), or a clear error."""
    # Fast paths for what training loops pass at every step: a finite float, or a float array
    # (copied, as np.array would). Anything else takes the careful way below.
    if type(raw) is float:
        if math.isfinite(raw):
            return raw
    elif type(raw) is np.ndarray and raw.dtype == np.float64 and raw.ndim > 0:
        value = raw.copy()
        if np.isfinite(value).all():
            return value
    if isinstance(raw, Node):
        raise InputTypeError(f"{who}: got a graph node {raw.name!r}; pass a number or an array")
    if isinstance(raw, numbers.Real) and not isinstance(raw, bool):
        value: Value = float(raw)
    else:
        try:
            if np.asarray(raw).dtype.kind not in "biuf":  # None, "1.5", [1, None], complex
                raise TypeError
            value = np.array(raw, dtype=float)
        except (TypeError, ValueError):
            raise InputTypeError(f"{who}: expected a number or an array of numbers, "
                                 f"got {type(raw).__name__} {raw!r:.60}") from None
        if isinstance(raw, (bool, np.bool_)):
            raise InputTypeError(f"{who}: expected a number, got {raw!r:.60}")
        if value.ndim == 0:
            value = float(value)
    if not np.all(np.isfinite(value)):
        raise InputError(f"{who}: value must be finite, got {_first_bad(value)}")
    return value


def _first_bad(value: Value) -> str:
    if type(value) is float:
        return repr(value)
    bad = value[~np.isfinite(value)]
    return f"{float(bad.flat[0])!r} among {value.size} elements of shape {value.shape}"


class Node:
    """A value in a computation: a leaf (Input, Param, Const) or an op applied to children."""

    __slots__ = ("op", "children", "attrs", "name", "value", "role")

    def __init__(self, op: Op | None, children: tuple[Node, ...] = (), attrs: dict | None = None,
                 name: str | None = None, role: str = OP):
        if name is not None and not (isinstance(name, str) and name):
            raise InputTypeError(f"node names are non-empty strings, got {name!r}")
        self.op = op
        self.children = children
        self.attrs = attrs or {}
        self.name = name
        self.role = role
        self.value: Value | None = None

    def __repr__(self) -> str:
        kind = self.op.name if self.op else self.role
        return f"<{type(self).__name__} {self.name!r} {kind}>"

    # Operators build new nodes; numbers on either side become Consts.
    def __add__(self, other: Any) -> Node: return apply("add", self, other)
    def __radd__(self, other: Any) -> Node: return apply("add", other, self)
    def __sub__(self, other: Any) -> Node: return apply("sub", self, other)
    def __rsub__(self, other: Any) -> Node: return apply("sub", other, self)
    def __mul__(self, other: Any) -> Node: return apply("mul", self, other)
    def __rmul__(self, other: Any) -> Node: return apply("mul", other, self)
    def __truediv__(self, other: Any) -> Node: return apply("div", self, other)
    def __rtruediv__(self, other: Any) -> Node: return apply("div", other, self)
    def __matmul__(self, other: Any) -> Node: return apply("matmul", self, other)
    def __rmatmul__(self, other: Any) -> Node: return apply("matmul", other, self)
    def __neg__(self) -> Node: return apply("neg", self)

    def __pow__(self, exponent: Any) -> Node:
        if isinstance(exponent, Node) or not isinstance(exponent, numbers.Real):
            raise InputTypeError(f"** takes a number as exponent, got {exponent!r}")
        if exponent == 2:  # x ** 2 is the square op, so its edge reads "2x"
            return apply("square", self)
        return apply("pow", self, p=float(exponent))

    # Nodes are compared by identity; == on values would be ambiguous for arrays.
    __hash__ = object.__hash__
    # An ndarray on the left (W @ x, np.ones(3) * x) defers to the reflected operators above
    # instead of making an object array of nodes.
    __array_ufunc__ = None


class Input(Node):
    """A leaf whose value is given at forward time: graph.forward(x=0.5)."""

    __slots__ = ()

    def __init__(self, name: str):
        if not isinstance(name, str) or not name:
            raise InputTypeError(f"Input needs a non-empty name, got {name!r}")
        super().__init__(None, name=name, role=INPUT)


class Param(Node):
    """A leaf that holds its value (a trainable weight). `.value` may be reassigned, same shape."""

    __slots__ = ()

    def __init__(self, name: str, value: Any):
        super().__init__(None, name=name, role=PARAM)
        self.value = to_value(value, f"Param {name!r}")

    def __setattr__(self, key: str, new: Any) -> None:
        if key == "value" and new is not None:
            new = to_value(new, f"Param {self.name!r}")
            old = getattr(self, "value", None)
            if old is not None and shape_of(new) != shape_of(old):
                raise ShapeError(f"Param {self.name!r}: new value has shape {shape_of(new)}, "
                                 f"but the parameter has shape {shape_of(old)}")
        super().__setattr__(key, new)


class Const(Node):
    """A leaf with a fixed value; numbers written in expressions become Consts."""

    __slots__ = ()

    def __init__(self, value: Any, name: str | None = None):
        super().__init__(None, name=name, role=CONST)
        self.value = to_value(value, "Const")


def as_node(x: Any) -> Node:
    return x if isinstance(x, Node) else Const(x)


def apply(op_name: str, *args: Any, name: str | None = None, **attrs: Any) -> Node:
    """A new node applying OPS[op_name] to args (nodes or numbers)."""
    return Node(OPS[op_name], tuple(as_node(a) for a in args), attrs, name)


def topological_order(output: Node) -> list[Node]:
    """Children before parents, in a fixed order (depth first, children left to right).
    Iterative, so a 10,000-deep chain needs no recursion."""
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
        else:
            stack.pop()
            order.append(node)
    return order


# Short prefixes for automatic names ("mul1", "σ2" would be hard to type).
_SHORT = {"append_one": "cat"}


class Graph:
    """Everything `output` depends on, in topological order, with forward and backward passes."""

    def __init__(self, output: Node):
        if not isinstance(output, Node):
            raise InputTypeError(f"Graph needs a node, got {type(output).__name__}")
        self.output = output
        self.nodes = topological_order(output)
        self._name_nodes()
        self.ops = [n for n in self.nodes if n.op is not None]
        self.inputs = {n.name: n for n in self.nodes if n.role == INPUT}
        self.params = [n for n in self.nodes if n.role == PARAM]
        self._by_name = {n.name: n for n in self.nodes}  # names are unique: see _name_nodes
        self.position = {n: i for i, n in enumerate(self.nodes)}
        # The plan of every pass, fixed at definition: each op with its children's positions.
        self._plan = [(self.position[n], n, tuple(self.position[c] for c in n.children))
                      for n in self.ops]
        self._leaves = [(i, n) for i, n in enumerate(self.nodes) if n.op is None]
        # Values belong to a pass of this graph, not to the nodes: two graphs may share nodes,
        # and a Param may be reassigned between passes. _pass holds the last forward's values
        # by position; _params_used the Param values it read (checked again by backward()).
        self._pass: list[Value] | None = None
        self._params_used: list[tuple[Param, Value]] = []
        self.grads: dict[Node, Value] | None = None

    def _name_nodes(self) -> None:
        taken: dict[str, Node] = {}
        for node in self.nodes:
            if node.name is None:
                continue
            if node.name in taken:
                raise CompgraphError(f"two nodes are named {node.name!r} ({taken[node.name]!r} "
                                     f"and {node!r}); names must be unique in a graph")
            taken[node.name] = node
        counters: dict[str, int] = {}
        for node in self.nodes:
            if node.name is not None:
                continue
            if node.role == CONST and type(node.value) is float:
                # "0.5", "0.5_1", ...: start after the ones already given (10,000 equal
                # constants would otherwise walk 1 + 2 + ... + 10,000 taken names)
                stem = f"{node.value:g}"
                k = counters.get(stem, 0)
                name = stem if k == 0 else f"{stem}_{k}"
            else:
                stem = "c" if node.role == CONST else _SHORT.get(node.op.name, node.op.name)
                k = counters.get(stem, 0) + 1
                name = f"{stem}{k}"
            while name in taken:
                k += 1
                name = f"{stem}_{k}" if node.role == CONST else f"{stem}{k}"
            counters[stem] = k
            node.name = name
            taken[name] = node

    # --- looking things up -------------------------------------------------------------------

    def node(self, which: Node | str) -> Node:
        """The node itself, or the node with that name."""
        name = which.name if isinstance(which, Node) else which
        found = self._by_name.get(name) if isinstance(name, str) else None
        if found is not None and (found is which or which == name):
            return found
        raise CompgraphError(f"no node {getattr(which, 'name', which)!r} in this graph "
                             f"(nodes: {', '.join(n.name for n in self.nodes)})")

    @property
    def forwarded(self) -> bool:
        """Whether forward() has run (and succeeded) on this graph."""
        return self._pass is not None

    def value(self, which: Node | str) -> Value:
        """The node's value in this graph's last forward() (a node shared with another graph may
        hold that graph's value in `.value`; this one is always this graph's)."""
        node = self.node(which)
        if self._pass is None:
            raise OrderError(f"value({node.name!r}): call forward(...) first")
        return self._pass[self.position[node]]

    @property
    def values(self) -> dict[Node, Value]:
        """Every node's value in this graph's last forward() (empty before the first)."""
        if self._pass is None:
            return {}
        return dict(zip(self.nodes, self._pass))

    def grad(self, which: Node | str) -> Value:
        """∂output/∂node from the last backward(), at the values of the forward() before it."""
        node = self.node(which)
        if self.grads is None:
            raise OrderError(f"grad({node.name!r}): call backward() first")
        return self.grads[node]

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return f"<Graph of {self.output.name!r}: {len(self.nodes)} nodes>"

    # --- forward -----------------------------------------------------------------------------

    def check_inputs(self, **given: Any) -> dict[str, Value]:
        """The inputs as the engine holds them, or a clear error for an unknown, missing or bad
        one."""
        for name in given:
            if name not in self.inputs:
                hint = ("; it is a Param: assign its .value instead"
                        if any(p.name == name for p in self.params) else "")
                raise InputError(f"unknown input {name!r}{hint} "
                                 f"(inputs: {', '.join(self.inputs) or 'none'})")
        values = {}
        for name in self.inputs:
            if name not in given:
                raise InputError(f"missing input {name!r}: call forward({name}=...)")
            values[name] = to_value(given[name], f"input {name!r}")
        return values

    def forward(self, **inputs: Any) -> Value:
        """Compute every node's value in order from the given inputs and the Params' current
        values; return the output's value."""
        self._pass = None
        self.grads = None
        given = self.check_inputs(**inputs)
        values: list[Any] = [None] * len(self.nodes)
        for i, node in self._leaves:
            if node.role == INPUT:
                node.value = given[node.name]
            values[i] = node.value
        for i, node, where in self._plan:
            # node.value too: a learner reading `L3.value` sees the latest pass
            node.value = values[i] = self._evaluate(node, [values[j] for j in where])
        self._params_used = [(p, p.value) for p in self.params]
        self._pass = values
        return values[-1]  # the output comes last in topological order

    @staticmethod
    def _evaluate(node: Node, xs: list[Value]) -> Value:
        # This runs for every node at every forward pass: no **{} for the many ops without
        # attributes keeps it cheap.
        op, attrs = node.op, node.attrs
        if op.check is not None:
            problem = op.check(*xs, **attrs)
            if problem:
                raise op.bad(f"{op.name} node {node.name!r}: {problem} "
                             f"(inputs {describe_inputs(node, xs)})")
        try:
            return op.forward(*xs, **attrs) if attrs else op.forward(*xs)
        except (ValueError, TypeError) as e:  # numpy's broadcasting errors
            raise ShapeError(f"{op.name} node {node.name!r}: {e} "
                             f"(inputs {describe_inputs(node, xs)})") from None

    def _current_pass(self, caller: str) -> list[Value]:
        """The last forward's values, after checking no Param has been reassigned since."""
        if self._pass is None:
            raise OrderError(f"{caller} of {self.output.name!r}: call forward(...) first")
        for param, used in self._params_used:
            if param.value is not used:
                raise OrderError(f"{caller}: Param {param.name!r} was given a new value after "
                                 f"forward(); call forward(...) again first, so that values and "
                                 f"gradients belong to one pass")
        return self._pass

    # --- backward ----------------------------------------------------------------------------

    def backward(self, record: Callable[..., None] | None = None) -> dict[Node, Value]:
        """Gradients of the (scalar) output with respect to every node, by the chain rule in
        reverse topological order. A node that feeds several consumers sums their shares.
        `record(parent, index, child, upstream, share, total)` sees each edge as it is used."""
        values = self._current_pass("backward()")
        if type(values[-1]) is not float:
            raise ShapeError(f"backward() needs a scalar output, but node {self.output.name!r} "
                             f"has shape {shape_of(values[-1])}; reduce it with sum or mean")
        grads: dict[Node, Value] = {self.output: 1.0}
        for i, node, where in reversed(self._plan):
            upstream = grads[node]
            xs = [values[j] for j in where]
            shares = ops.vjp(node.op, upstream, values[i], xs, node.attrs)
            for i, (child, share) in enumerate(zip(node.children, shares)):
                prev = grads.get(child)
                grads[child] = total = share if prev is None else prev + share
                if record is not None:
                    record(node, i, child, upstream, share, total)
        self.grads = grads
        return grads

    # --- forward mode and paths --------------------------------------------------------------

    def forward_mode(self, wrt: Node | str, index: Any = None, **inputs: Any) -> dict[Node, Value]:
        """d node / d wrt for every node, in one forward pass (one pass per chosen input).
        For an array leaf, `index` picks the element to differentiate by."""
        leaf = self.node(wrt)
        if leaf.role not in (INPUT, PARAM):
            raise CompgraphError(f"forward_mode: {leaf.name!r} is not an Input or a Param")
        self.forward(**inputs)
        values = self._pass
        assert values is not None
        leaf_value = values[self.position[leaf]]
        if type(leaf_value) is float:
            seed: Value = 1.0
        else:
            if index is None:
                raise ShapeError(f"forward_mode: {leaf.name!r} has shape {leaf_value.shape}; "
                                 f"pass index=... to choose one element")
            seed = np.zeros_like(leaf_value)
            seed[index] = 1.0
        tangents: dict[Node, Value] = {leaf: seed}
        for i, node, where in self._plan:
            ts = tuple(tangents.get(c) for c in node.children)
            if all(t is None for t in ts):
                continue
            xs = tuple(values[j] for j in where)
            ts = tuple(np.zeros_like(x) if t is None and type(x) is not float
                       else 0.0 if t is None else t for x, t in zip(xs, ts))
            tangents[node] = ops.jvp(node.op, values[i], xs, ts, node.attrs)
        return {n: tangents.get(n, ops.fit(0.0, v)) for n, v in zip(self.nodes, values)}

    def paths(self, wrt: Node | str) -> list[Path]:
        """Every path from the output down to `wrt` with its edge derivatives, for scalar graphs.
        The products of the paths sum to ∂output/∂wrt. Uses the values of the last forward()."""
        leaf = self.node(wrt)
        values = self._current_pass("paths()")
        value = {n: values[i] for n, i in self.position.items()}.__getitem__
        found: list[Path] = []
        stack: list[tuple[Node, Path]] = [(self.output, Path((self.output,), (), ()))]
        while stack:
            node, path = stack.pop()
            if node is leaf:
                found.append(path)
                continue
            if node.op is None:
                continue
            local = node.op.local(value(node), *(value(c) for c in node.children), **node.attrs)
            for slot in reversed(range(len(node.children))):
                child = node.children[slot]
                if type(value(child)) is not float or type(value(node)) is not float:
                    raise ShapeError(f"paths(): node {child.name!r} or {node.name!r} holds an "
                                     f"array; path products are defined for scalar graphs")
                longer = Path(path.nodes + (child,), path.factors + (float(local[slot]),),
                              path.slots + (slot,))
                stack.append((child, longer))
        return found


class Path:
    """One route from the output to a leaf: its nodes (output first), the edge derivatives, and
    for each edge which input of the upper node it enters (a + a has two edges)."""

    def __init__(self, nodes: tuple[Node, ...], factors: tuple[float, ...],
                 slots: tuple[int, ...] = ()):
        self.nodes = nodes
        self.factors = factors
        self.slots = slots

    @property
    def edges(self) -> list[tuple[Node, int]]:
        """(upper node, input slot) for each edge, output first."""
        return list(zip(self.nodes[:-1], self.slots))

    @property
    def product(self) -> float:
        result = 1.0
        for f in self.factors:
            result *= f
        return result

    def __repr__(self) -> str:
        route = " → ".join(n.name for n in self.nodes)
        factors = " × ".join(f"{f:.4g}" for f in self.factors)
        return f"<Path {route}: {factors} = {self.product:.4g}>"


def describe_inputs(node: Node, xs: list[Value]) -> str:
    return ", ".join(f"{c.name!r} {describe(x)}" for c, x in zip(node.children, xs))


def describe(value: Value | None) -> str:
    if value is None:
        return "(no value yet)"
    if type(value) is float:
        return f"= {value:.4g}"
    return f"of shape {value.shape}"
