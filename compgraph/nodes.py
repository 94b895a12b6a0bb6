"""Nodes: the leaves a graph starts from (Input, Param, Const) and the op nodes built from them.

A node only says what to compute: its op and its inputs. Values belong to a Graph's passes (see
graph.py); `node.value` shows the latest one for a learner who looks.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .errors import CompgraphError, InputError, InputTypeError, ShapeError
from .ops import OPS, Op, Value, shape_of

# Roles decide colours in pictures and which leaves gradcheck perturbs.
INPUT, PARAM, CONST, OP = "input", "param", "const", "op"


def to_value(raw: Any, who: str) -> Value:
    """A number or array as the engine holds it: a Python float or a float64 ndarray of its own
    (a copy), finite; or a clear error naming `who`."""
    if type(raw) is np.ndarray and raw.dtype == np.float64 and raw.ndim:  # what training passes
        value: Value = raw.copy()
        if np.isfinite(value).all():
            return value
        raise InputError(f"{who}: value must be finite, got {first_bad(value)}")
    if isinstance(raw, Node):
        raise InputTypeError(f"{who}: got the graph node {raw.name!r}; pass a number or an array")
    try:
        if isinstance(raw, (bool, np.bool_)) or np.asarray(raw).dtype.kind == "b":
            raise InputTypeError(f"{who}: expected numbers, got booleans {short(raw)}; write 1.0 "
                                 f"and 0.0 (or .astype(float)) if you mean numbers")
        if isinstance(raw, numbers.Real):
            value = float(raw)
        else:
            if np.asarray(raw).dtype.kind not in "biuf":  # None, "1.5", complex, [10**400]
                raise TypeError
            value = np.array(raw, dtype=float)  # always a copy: the caller keeps theirs
            if value.ndim == 0:
                value = float(value)
    except OverflowError:
        raise InputError(f"{who}: {short(raw)} is too large for a float (the largest is about "
                         f"1.8e308)") from None
    except InputTypeError:
        raise
    except (TypeError, ValueError):  # (a ragged list is a ValueError)
        raise InputTypeError(f"{who}: expected a number or an array of numbers, got "
                             f"{type(raw).__name__} {short(raw)}") from None
    if not (math.isfinite(value) if type(value) is float else np.isfinite(value).all()):
        raise InputError(f"{who}: value must be finite, got {first_bad(value)}")
    return value


def short(raw: Any) -> str:
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def first_bad(value: Value) -> str:
    if type(value) is float:
        return repr(value)
    bad = value[~np.isfinite(value)]
    return f"{float(bad.flat[0])!r} among {value.size} elements of shape {value.shape}"


class NodeAttributeError(CompgraphError, AttributeError):
    """An attribute a node does not have (an AttributeError too, so hasattr() works)."""


#: numpy functions that have an op of the same meaning: np.sin(x) on a node builds sin(x).
UFUNC_OPS = {np.add: "add", np.subtract: "sub", np.multiply: "mul", np.true_divide: "div",
             np.negative: "neg", np.exp: "exp", np.log: "log", np.sin: "sin", np.cos: "cos",
             np.tanh: "tanh", np.square: "square", np.matmul: "matmul"}


class Node:
    """A value in a computation: a leaf (Input, Param, Const) or an op applied to its inputs,
    `children` (ordered: the first is the op's first input)."""

    __slots__ = ("op", "children", "attrs", "_name", "auto_named", "value", "role")

    def __init__(self, op: Op | None, children: tuple[Node, ...] = (), attrs: dict | None = None,
                 name: str | None = None, role: str = OP):
        self.op = op
        self.children = children
        self.attrs = attrs or {}
        self.name = name
        self.role = role
        self.value: Value | None = None

    @property
    def name(self) -> str | None:
        """Given by the user (unique in any graph that holds the node) or, for a node built
        without one, by the first Graph that holds it (a label that a later graph changes only
        if it clashes there)."""
        return self._name

    @name.setter
    def name(self, name: str | None) -> None:
        if name is not None and not (isinstance(name, str) and name):
            raise InputTypeError(f"node names are non-empty strings, got {short(name)}")
        self._name = name
        self.auto_named = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.op.name if self.op else self.role}>"

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
    def __pos__(self) -> Node: return self

    def __pow__(self, exponent: Any) -> Node:
        if isinstance(exponent, Node) or not isinstance(exponent, numbers.Real) \
                or isinstance(exponent, (bool, np.bool_)):
            raise InputTypeError(f"{self.name or 'x'} ** p takes a number p, got {short(exponent)}"
                                 f"; for a node as exponent write cg.exp(p * cg.log(x))")
        try:
            p = float(exponent)
        except OverflowError:
            p = math.inf
        if not math.isfinite(p):
            raise InputError(f"{self.name or 'x'} ** p needs a finite exponent, got "
                             f"{short(exponent)}")
        if p == 2:  # x ** 2 is the square op, so its edge reads "2x"
            return apply("square", self)
        return apply("pow", self, p=p)

    def __rpow__(self, base: Any) -> Node:
        raise CompgraphError(f"a number raised to the node {self.name!r} has no op of its own; "
                             f"write cg.exp({self.name or 'x'} * math.log(base)) for a base > 0")

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *args: Any, **kwargs: Any) -> Node:
        # np.sin(x) builds sin(x); an ndarray on the left (W @ x, np.ones(3) * x) lands here too.
        if method == "__call__" and not kwargs:
            if ufunc in UFUNC_OPS:
                return apply(UFUNC_OPS[ufunc], *args)
            if ufunc is np.power and len(args) == 2 and isinstance(args[0], Node):
                return args[0] ** args[1]
            if ufunc is np.maximum and any(type(a) in (int, float) and a == 0 for a in args):
                return apply("relu", *[a for a in args if isinstance(a, Node)])
        raise CompgraphError(f"numpy's {ufunc.__name__} cannot take the graph node {self.name!r}:"
                             f" use compgraph's functions (cg.exp, cg.log, cg.sin, cg.cos, "
                             f"cg.tanh, cg.sigmoid, cg.relu, cg.sum, cg.mean, @) or cg.new_op")

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Node:
        # np.sum(x), np.mean(x) and np.dot(a, b) on nodes build the matching op
        if not kwargs and len(args) == 1 and func in (np.sum, np.mean):
            return apply(func.__name__, args[0])
        if not kwargs and len(args) == 2 and func in (np.dot, np.matmul):
            return apply("matmul", *args)
        raise CompgraphError(f"numpy's {func.__name__} cannot take the graph node {self.name!r}:"
                             f" use compgraph's functions (cg.sum, cg.mean, @, cg.exp, ...) or "
                             f"cg.new_op")

    def _not_an_op(self, what: str, instead: str) -> CompgraphError:
        return CompgraphError(f"{what} on the node {self.name!r}: {instead}")

    def __abs__(self) -> Node:
        raise self._not_an_op("abs()", "compgraph has no abs op (its derivative jumps at 0); "
                              "write cg.relu(x) + cg.relu(-x), or define one with cg.new_op")

    def _compare(self, other: Any) -> bool:
        raise self._not_an_op("a comparison", "a node has no value until a graph runs it; compare "
                              "its value instead, e.g. graph.value(x) > 0")

    __lt__ = __le__ = __gt__ = __ge__ = _compare

    def sum(self, name: str | None = None) -> Node:
        """x.sum() is cg.sum(x): every element added into one number."""
        return apply("sum", self, name=name)

    def mean(self, name: str | None = None) -> Node:
        """x.mean() is cg.mean(x)."""
        return apply("mean", self, name=name)

    def __getattr__(self, attribute: str) -> Any:
        # only for attributes a node does not have: say so in the learner's terms
        if attribute.startswith("__") or attribute in Node.__slots__:
            raise AttributeError(attribute)
        raise NodeAttributeError(f"a node has no attribute {attribute!r} ({self!r}); a node is a "
                                 f"step of a graph, not an array: after graph.forward(...), "
                                 f"graph.value(node) is its value"
                                 + ("; compgraph has no transpose op (matmul transposes in "
                                    "backward by itself)" if attribute == "T" else ""))

    def __float__(self) -> float:
        raise self._not_an_op("float()", "a node has no value until a graph runs it; after "
                              "graph.forward(...), graph.value(node) gives it")

    __int__ = __index__ = __float__

    def _no_such_op(self, *other: Any) -> Node:
        raise self._not_an_op("//, % or round()", "compgraph has no such op (their derivative "
                              "is 0 almost everywhere); define one with cg.new_op if you need it")

    __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = __round__ = _no_such_op
    __divmod__ = __rdivmod__ = _no_such_op

    def __bool__(self) -> bool:
        return True  # a node is a thing, not a number (and len() below is not its truth)

    def __len__(self) -> int:
        raise self._not_an_op("len()", "a node has no length until a graph runs it; after "
                              "graph.forward(...), graph.value(node).shape gives its shape")

    def __getitem__(self, key: Any) -> Node:
        raise self._not_an_op(f"indexing [{short(key)}]", "compgraph has no indexing op; "
                              "build one node per element, or use cg.sum / cg.mean")

    # Nodes are compared by identity; == on values would be ambiguous for arrays.
    __hash__ = object.__hash__


#: Names an Input cannot have: the keywords that forward(), trace(), forward_mode(), gradcheck()
#: and the widgets take beside the inputs themselves (forward(wrt=...) would be ambiguous).
RESERVED_INPUT_NAMES = frozenset({"self", "graph", "wrt", "index", "eps", "mode", "rankdir",
                                  "sliders", "max_paths", "record"})


class Input(Node):
    """A leaf whose value is given at forward time: graph.forward(x=0.5)."""

    __slots__ = ()

    def __init__(self, name: str):
        if not isinstance(name, str) or not name:
            raise InputTypeError(f"Input needs a non-empty name, got {short(name)}")
        if name in RESERVED_INPUT_NAMES:
            raise InputError(f"Input name {name!r} is reserved: forward(), trace() and the widgets"
                             f" take a keyword of that name; call the input {name + '_'!r} or "
                             f"another name")
        super().__init__(None, name=name, role=INPUT)


_NO_VALUE = object()


class Param(Node):
    """A leaf that holds its value (a trainable weight). `.value` may be reassigned (same shape)
    or changed in place; each forward() takes a copy of it for its pass."""

    __slots__ = ()

    def __init__(self, name: str, value: Any = _NO_VALUE):
        if not isinstance(name, str) or not name or value is _NO_VALUE:
            raise InputTypeError(f"a Param needs a name and a value, as in cg.Param('w', 0.5); "
                                 f"got Param({short(name)}"
                                 f"{'' if value is _NO_VALUE else ', ' + short(value)})")
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


# Short prefixes for automatic names ("mul1"; "σ2" would be hard to type).
_SHORT = {"append_one": "cat"}


def name_nodes(nodes: list[Node]) -> None:
    """Give every unnamed node a label ("mul1", "0.5", "c2"). Names given by the user must be
    unique in a graph; a label an earlier graph gave is kept unless this graph has it already."""
    taken: dict[str, Node] = {}
    for node in nodes:
        if node.name is not None and not node.auto_named:
            if node.name in taken:
                raise CompgraphError(f"two nodes are named {node.name!r} ({taken[node.name]!r} "
                                     f"and {node!r}); names must be unique in a graph")
            taken[node.name] = node
    unnamed = []
    for node in nodes:
        if node.auto_named and node.name not in taken:
            taken[node.name] = node
        elif node.name is None or node.auto_named:
            unnamed.append(node)
    counters: dict[str, int] = {}
    for node in unnamed:
        if node.role == CONST and type(node.value) is float:
            stem = f"{node.value:g}"  # "0.5", then "0.5_1", ...
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
        node._name, node.auto_named = name, True
        taken[name] = node
