"""Nodes, the Graph built from them, and the forward and backward passes.

Define, then run: build the graph once from leaves and ops, then call forward() and backward() as
often as needed. Every derivative comes from the op table in ops.py.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from . import codegen, limits, ops
from .checked import OP_ERRORS, BadTotal, NotFinite, Raising
from .errors import CompgraphError, DomainError, InputError, InputTypeError, OrderError, ShapeError
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
        if _all_true(np.isfinite(value).ravel()):  # ndarray.all() costs more on small arrays
            return value
    if isinstance(raw, Node):
        raise InputTypeError(f"{who}: got a graph node {raw.name!r}; pass a number or an array")
    if isinstance(raw, numbers.Real) and not isinstance(raw, (bool, np.bool_)):
        try:
            value: Value = float(raw)
        except OverflowError:  # an int beyond 1.8e308, such as 10**400
            raise InputError(f"{who}: {_short(raw)} is too large for a float (the largest is "
                             f"about 1.8e308)") from None
    else:
        try:
            kind = np.asarray(raw).dtype.kind
            if kind not in "biuf":  # None, "1.5", [1, None], complex, [10**400] (object)
                raise TypeError
            value = np.array(raw, dtype=float)
        except (TypeError, ValueError, OverflowError):
            raise InputTypeError(f"{who}: expected a number or an array of numbers, "
                                 f"got {type(raw).__name__} {_short(raw)}") from None
        if kind == "b":  # True and [True, False] alike: one rule for every boolean
            raise InputTypeError(f"{who}: expected numbers, got booleans {_short(raw)}; write "
                                 f"1.0 and 0.0 (or .astype(float)) if you mean numbers")
        if value.ndim == 0:
            value = float(value)
    if not np.all(np.isfinite(value)):
        raise InputError(f"{who}: value must be finite, got {_first_bad(value)}")
    return value


_all_true = np.logical_and.reduce


def _short(raw: Any) -> str:
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def _first_bad(value: Value) -> str:
    if type(value) is float:
        return repr(value)
    bad = value[~np.isfinite(value)]
    return f"{float(bad.flat[0])!r} among {value.size} elements of shape {value.shape}"


class Node:
    """A value in a computation: a leaf (Input, Param, Const) or an op applied to children."""

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
        """The node's name: given by the user (unique in any graph it is part of) or, for a node
        built without one, given by the first Graph that holds it (an automatic label, which a
        later graph changes only if it clashes there)."""
        return self._name

    @name.setter
    def name(self, name: str | None) -> None:
        if name is not None and not (isinstance(name, str) and name):
            raise InputTypeError(f"node names are non-empty strings, got {_short(name)}")
        self._name = name
        self.auto_named = False

    def _set_auto_name(self, name: str) -> None:
        self._name = name
        self.auto_named = True

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
        if isinstance(exponent, Node) or not isinstance(exponent, numbers.Real) \
                or isinstance(exponent, (bool, np.bool_)):
            raise InputTypeError(f"** takes a number as exponent, got {_short(exponent)}")
        if not math.isfinite(exponent):
            raise InputError(f"** needs a finite exponent, got {exponent!r}")
        if exponent == 2:  # x ** 2 is the square op, so its edge reads "2x"
            return apply("square", self)
        return apply("pow", self, p=float(exponent))

    # Nodes are compared by identity; == on values would be ambiguous for arrays.
    __hash__ = object.__hash__
    # An ndarray on the left (W @ x, np.ones(3) * x) defers to the reflected operators above
    # instead of making an object array of nodes.
    __array_ufunc__ = None


#: Names an Input cannot have: the keywords that forward(), trace(), forward_mode(), gradcheck()
#: and the widgets take beside the inputs themselves (forward(wrt=...) would be ambiguous).
RESERVED_INPUT_NAMES = frozenset({"self", "graph", "wrt", "index", "eps", "mode", "rankdir",
                                  "sliders", "max_paths", "record"})


class Input(Node):
    """A leaf whose value is given at forward time: graph.forward(x=0.5)."""

    __slots__ = ()

    def __init__(self, name: str):
        if not isinstance(name, str) or not name:
            raise InputTypeError(f"Input needs a non-empty name, got {_short(name)}")
        if name in RESERVED_INPUT_NAMES:
            raise InputError(f"Input name {name!r} is reserved: forward(), trace() and the "
                             f"widgets take a keyword of that name; call the input "
                             f"{name + '_'!r} or another name")
        super().__init__(None, name=name, role=INPUT)


class Param(Node):
    """A leaf that holds its value (a trainable weight). `.value` may be reassigned, same shape."""

    __slots__ = ()

    def __init__(self, name: str, value: Any):
        super().__init__(None, name=name, role=PARAM)
        self.value = to_value(value, f"Param {name!r}")

    def _assign_checked(self, value: Value) -> None:
        object.__setattr__(self, "value", value)

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


class NodeMap(Mapping):
    """A read-only {node: value} view of one pass, kept by position (no dict built per pass).
    `complete()` fills in entries left None (gradients computed on first use)."""

    __slots__ = ("_position", "_items", "_complete")

    def __init__(self, position: dict[Node, int], items: list,
                 complete: Callable[[], None] | None = None):
        self._position = position
        self._items = items
        self._complete = complete

    def __getitem__(self, node: Node) -> Any:
        value = self._items[self._position[node]]
        if value is None and self._complete is not None:
            self._complete()
            value = self._items[self._position[node]]
        return value

    def __iter__(self) -> Iterator[Node]:
        return iter(self._position)

    def __len__(self) -> int:
        return len(self._position)

    def __contains__(self, node: object) -> bool:
        return node in self._position


_set_value = object.__setattr__  # Param.value without Param's checks (see descend)

#: Input arrays up to this many elements are recognised by their bytes (check_inputs).
_RECALLED = 1 << 16
_FLOAT64 = np.dtype(np.float64)


def _leaf_shapes(values: list, leaves: list[int]) -> tuple:
    return tuple([None if type(values[i]) is float else values[i].shape for i in leaves])


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
        position = self.position
        # The plan of every pass, fixed at definition. Forward: each op's position, its forward
        # function (attributes bound) and its children's positions (b = -1 for one child).
        self._plan = []
        self._bplan = []
        self._parents: list[list[int]] | None = None  # built by downstream_plan()
        for n in self.ops:
            i, where = position[n], tuple(position[c] for c in n.children)
            forward = n.op.forward
            if n.attrs:
                forward = functools.partial(forward, **n.attrs)
            a, b = (where + (-1, -1))[:2]
            self._plan.append((i, forward, a, b if len(where) == 2 else -1, where))
            self._bplan.append((i, ops.raw_vjp(n.op, n.attrs), where))
        self._bplan.reverse()
        self._plan_index = {entry[0]: k for k, entry in enumerate(self._plan)}
        # Gradients that training needs are those of the nodes with a Param below them; the
        # others (data inputs, constants, what is computed from them alone) are computed when
        # first read, so a training step does not pay for ∂C/∂X or ∂C/∂y. A graph without
        # Params computes everything at once.
        eager = [False] * len(self.nodes)
        for i, n in enumerate(self.nodes):
            eager[i] = n.role == PARAM or any(eager[position[c]] for c in n.children)
        self._eager = eager if eager[-1] else [True] * len(self.nodes)
        self._all_eager = all(self._eager)
        self._leaves = [(i, n) for i, n in enumerate(self.nodes) if n.op is None]
        self._leaf_positions = [i for i, _ in self._leaves]
        self._input_slots = [(i, n) for i, n in self._leaves if n.role == INPUT]
        self._param_slots = [(i, n) for i, n in self._leaves if n.role == PARAM]
        self._const_slots = [(i, n) for i, n in self._leaves if n.role not in (INPUT, PARAM)]
        self._op_nodes = [(position[n], n) for n in self.ops]
        # Shape checks and fit() decisions hold for one set of leaf shapes: the shapes of the
        # last pass whose shapes were checked, and per backward edge whether its share needs
        # fit() (None: not known yet for these shapes).
        self._checked_shapes: tuple | None = None
        self._needs_fit: list[tuple] | None = None
        # Straight-line code for the two hot loops, generated for the shapes above (see
        # codegen.generate_forward and generate_backward); None until made, or when shapes change.
        self._gen_forward: Callable[[list], list] | None = None
        self._gen_backward: Callable[[list], list] | None = None
        # Values belong to a pass of this graph, not to the nodes: two graphs may share nodes,
        # and a Param may be reassigned between passes. _pass holds the last forward's values
        # by position; _params_used the Param values it read (checked again by backward()).
        self._pass: list[Value] | None = None
        self._params_used: list[tuple[Param, Value]] = []
        # per input, the shape and bytes of the last array found finite (see check_inputs)
        self._inputs_seen: dict[str, tuple[tuple[int, ...], bytes]] = {}
        self._grads: list[Value] | None = None
        self.grads: NodeMap | None = None

    def _name_nodes(self) -> None:
        """Names given by the user must be unique in the graph. Automatic names are labels: a
        node keeps the one an earlier graph gave it unless this graph has that name already."""
        taken: dict[str, Node] = {}
        for node in self.nodes:
            if node.name is None or node.auto_named:
                continue
            if node.name in taken:
                raise CompgraphError(f"two nodes are named {node.name!r} ({taken[node.name]!r} "
                                     f"and {node!r}); names must be unique in a graph")
            taken[node.name] = node
        unnamed = []
        for node in self.nodes:
            if node.auto_named and node.name not in taken:
                taken[node.name] = node
            elif node.name is None or node.auto_named:
                unnamed.append(node)
        counters: dict[str, int] = {}
        for node in unnamed:
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
            node._set_auto_name(name)
            taken[name] = node

    # --- looking things up -------------------------------------------------------------------

    def node(self, which: Node | str) -> Node:
        """The node itself, or the node with that name."""
        if isinstance(which, Node):
            if which in self.position:
                return which
        elif isinstance(which, str):
            found = self._by_name.get(which)
            if found is not None and found.name == which:
                return found
            # an automatic name may have changed since (a later graph renamed a clash)
            for node in self.nodes:
                if node.name == which:
                    return node
        raise CompgraphError(f"no node {getattr(which, 'name', which)!r} in this graph "
                             f"({_some_names(self.nodes)})")

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
        if self._grads is None:
            raise OrderError(f"grad({node.name!r}): call backward() first")
        g = self._grads[self.position[node]]
        if g is None:
            self._complete_grads()
            g = self._grads[self.position[node]]
        return g

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return f"<Graph of {self.output.name!r}: {len(self.nodes)} nodes>"

    # --- forward -----------------------------------------------------------------------------

    def check_inputs(self, /, **given: Any) -> dict[str, Value]:
        """The inputs as the engine holds them, or a clear error for an unknown, missing or bad
        one."""
        return self._checked_inputs(given)

    def _checked_inputs(self, given: dict[str, Any]) -> dict[str, Value]:
        inputs = self.inputs
        if given.keys() != inputs.keys():
            for name in given:
                if name not in inputs:
                    hint = ("; it is a Param: assign its .value instead"
                            if any(p.name == name for p in self.params) else "")
                    raise InputError(f"unknown input {name!r}{hint} "
                                     f"(inputs: {', '.join(inputs) or 'none'})")
            for name in inputs:
                if name not in given:
                    raise InputError(f"missing input {name!r}: call forward({name}=...)")
        checked = {}
        seen = self._inputs_seen
        for name in inputs:
            raw = given[name]
            # Training passes the same arrays at every step. A float array with exactly the
            # bytes of one already found finite for this input is finite: copy it, skip the
            # check (comparing bytes costs a fraction of isfinite and its reduction).
            if type(raw) is np.ndarray and raw.dtype is _FLOAT64 and 0 < raw.size <= _RECALLED:
                data = raw.tobytes()
                last = seen.get(name)
                if last is not None and last[1] == data and last[0] == raw.shape:
                    checked[name] = raw.copy()
                    continue
                checked[name] = to_value(raw, f"input {name!r}")
                seen[name] = (raw.shape, data)
            else:
                checked[name] = to_value(raw, f"input {name!r}")
        return checked

    def forward(self, /, **inputs: Any) -> Value:
        """Compute every node's value in order from the given inputs and the Params' current
        values; return the output's value."""
        self._pass = None
        self._grads = self.grads = None
        given = self._checked_inputs(inputs)
        run = self._gen_forward
        if run is not None and self.use_generated_code:
            try:
                done = run(given)  # (under RAISE, which the generated code sets)
            except (CompgraphError, *OP_ERRORS) as e:
                # errors are rare: the reference loop finds the node and names it
                with Raising():
                    self._run(self._leaf_values(given)[0])
                raise DomainError(f"forward: {_what_happened(e)}") from None
            if done is not None:  # None: the inputs' shapes are not those of the code
                self._pass, self._params_used = done
                return self._pass[-1]
        values, used = self._leaf_values(given)
        shapes = _leaf_shapes(values, self._leaf_positions)
        with Raising():
            if shapes != self._checked_shapes:
                # new shapes: check every op's shapes on the way (once per set of shapes)
                self._checked_shapes = self._needs_fit = None
                self._gen_forward = self._gen_backward = None
                self._run_checking_shapes(values)
                self._checked_shapes = shapes
            else:
                self._run(values)
                if self.use_generated_code:  # the same shapes again: worth generating code
                    self._gen_forward = codegen.generate_forward(self, values)
        for i, node in self._op_nodes:
            node.value = values[i]  # a learner reading `L3.value` sees the latest pass
        self._params_used = used
        self._pass = values
        return values[-1]  # the output comes last in topological order

    def _leaf_values(self, given: dict[str, Value]) -> tuple[list, list]:
        """A pass's list of values with the leaves filled in (inputs' .value set), and the
        Params' values it uses."""
        values: list[Any] = [None] * len(self.nodes)
        for i, node in self._input_slots:
            node.value = values[i] = given[node.name]
        for i, node in self._const_slots:
            values[i] = node.value
        used = [(node, node.value) for _, node in self._param_slots]
        for (i, _), (_, v) in zip(self._param_slots, used):
            values[i] = v
        return values, used

    def downstream_plan(self, leaf: Node) -> list:
        """The part of the forward plan that depends on `leaf`, in order (for rerun())."""
        if self._parents is None:
            parents: list[list[int]] = [[] for _ in self.nodes]
            for i, _, _, _, where in self._plan:
                for j in set(where):
                    parents[j].append(i)
            self._parents = parents
        reached, todo = set(), [self.position[self.node(leaf)]]
        while todo:
            for p in self._parents[todo.pop()]:
                if p not in reached:
                    reached.add(p)
                    todo.append(p)
        return [self._plan[k] for k in sorted(self._plan_index[p] for p in reached)]

    def rerun(self, values: list, plan: list) -> None:
        """Re-run part of the plan on a list of values (a copy of a pass with a leaf changed):
        what numeric_grad does for each perturbed element. The graph's own pass is untouched."""
        with Raising():
            self._run(values, plan)

    def _run(self, values: list, plan: list | None = None) -> None:
        """The ops in order, each result checked: the hot loop of training."""
        i = -1
        try:
            for i, forward, a, b, _ in self._plan if plan is None else plan:
                v = forward(values[a]) if b < 0 else forward(values[a], values[b])
                if type(v) is float:
                    if v - v != 0.0:  # inf - inf and nan - nan are nan
                        raise NotFinite(v)
                elif type(v) is not np.ndarray:
                    v = self._as_value(i, v)
                values[i] = v
        except CompgraphError:
            raise
        except OP_ERRORS as e:
            raise self._forward_error(i, values, e) from None

    def _run_checking_shapes(self, values: list) -> None:
        """The same, each op's shape check first (numpy's own broadcasting errors surface as the
        ops' errors)."""
        i = -1
        try:
            for i, forward, _, _, where in self._plan:
                node = self.nodes[i]
                xs = [values[j] for j in where]
                if node.op.shapes is not None:
                    problem = node.op.shapes(*xs)
                    if problem:
                        raise ShapeError(f"{node.op.name} node {node.name!r}: {problem} "
                                         f"(inputs {describe_inputs(node, xs)})")
                values[i] = self._settle(i, forward(*xs))
        except CompgraphError:
            raise
        except OP_ERRORS as e:
            raise self._forward_error(i, values, e) from None

    def _as_value(self, i: int, v: Any) -> Value:
        """A result that is neither a float nor an ndarray (a new op returning a numpy scalar,
        an int, a complex): made a float or float array, or a clear error."""
        node = self.nodes[i]
        try:
            if np.iscomplexobj(v):
                raise TypeError
            out = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            raise DomainError(f"{node.op.name} node {node.name!r}: the op returned "
                              f"{type(v).__name__} {v!r:.60}, not a real number or array") from None
        if not np.isfinite(out).all():
            raise NotFinite(_first_bad(out))
        return float(out) if out.ndim == 0 else out

    def _forward_error(self, i: int, values: list, error: Exception) -> CompgraphError:
        """The error for op i's failure: its domain check says why if it can, else what numpy or
        math said, always with the node, the op and its inputs."""
        node = self.nodes[i]
        op = node.op
        xs = [values[self.position[c]] for c in node.children]
        inputs = f"(inputs {describe_inputs(node, xs)})"
        problem = None
        if op.check is not None:
            with np.errstate(all="ignore"):
                problem = op.check(*xs, **node.attrs)
        if problem:
            return DomainError(f"{op.name} node {node.name!r}: {problem} {inputs}")
        text = str(error)
        if isinstance(error, (ValueError, TypeError)) and any(
                word in text for word in ("shape", "broadcast", "dimension", "align")):
            return ShapeError(f"{op.name} node {node.name!r}: {text} {inputs}")
        if isinstance(error, (ValueError, TypeError)) and "math domain" not in text:
            return DomainError(f"{op.name} node {node.name!r}: {text} {inputs}")
        return DomainError(f"{op.name} node {node.name!r}: the result is not a finite number "
                           f"({_what_happened(error)}) {inputs}")

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

    def backward(self, record: Callable[..., None] | None = None) -> NodeMap:
        """Gradients of the (scalar) output with respect to every node, by the chain rule in
        reverse topological order. A node that feeds several consumers sums their shares.
        `record(parent, index, child, upstream, share, total)` sees each edge as it is used.
        Returns {node: gradient} (graph.grad(node) reads one)."""
        values = self._current_pass("backward()")
        if type(values[-1]) is not float:
            raise ShapeError(f"backward() needs a scalar output, but node {self.output.name!r} "
                             f"has shape {shape_of(values[-1])}; reduce it with sum or mean")
        # the fast way leaves the gradients of nodes with no Param below for later
        lazy = record is None and self._needs_fit is not None
        grads: list[Any]
        if lazy and self.use_generated_code:
            run = self._gen_backward
            if run is None:
                run = self._gen_backward = codegen.generate_backward(self, values)
            try:
                grads = run(values)  # under RAISE; leaves' totals checked in there as well
            except (CompgraphError, *OP_ERRORS) as e:
                # the reference loop and the leaves' check find the edge and name it
                grads = [None] * len(self.nodes)
                grads[-1] = 1.0
                with Raising():
                    self._run_backward(values, grads)
                    self._check_leaf_grads(values, grads)
                raise DomainError(f"backward: {_what_happened(e)}") from None
        else:
            with Raising():
                grads = [None] * len(self.nodes)
                grads[-1] = 1.0
                if lazy:
                    self._run_backward(values, grads)
                else:
                    self._run_backward_fitting(values, grads, record)
                self._check_leaf_grads(values, grads)
        self._grads = grads
        self._lazy_done = not lazy or self._all_eager
        self.grads = NodeMap(self.position, grads, self._complete_grads)
        return self.grads

    def _check_leaf_grads(self, values: list, grads: list) -> None:
        """The leaves' totals (ops' are checked as they are used)."""
        for i in self._leaf_positions:
            g = grads[i]
            if type(g) is float and g - g != 0.0:
                raise self._backward_error(values, grads, into=i)

    # --- generated code ------------------------------------------------------------------------
    # A define-then-run graph knows its whole plan, so each pass can run as straight-line Python
    # made once per set of leaf shapes: one local variable per node, each op's function bound
    # as a constant, no loop, list or attribute lookups between ops. The loops above remain the
    # reference (use_generated_code = False runs them); they also find and name the node or
    # edge when generated code raises, which is rare, so the slow way is fine there.

    #: False: every pass runs the reference loops (tests compare the two).
    use_generated_code: bool = True

    def _settle(self, i: int, v: Any) -> Value:
        """Op i's result checked as _run checks it."""
        if type(v) is float:
            if v - v != 0.0:
                raise NotFinite(v)
            return v
        return v if type(v) is np.ndarray else self._as_value(i, v)

    def _complete_grads(self) -> None:
        """The gradients backward() left for later (nodes with no Param below): the same
        chain rule, over the edges into those nodes, from the gradients already there."""
        if self._lazy_done or self._grads is None or self._pass is None:
            return
        values, grads, eager = self._pass, self._grads, self._eager
        nodes = self.nodes
        i = -1
        j = None
        with Raising():
            try:
                for i, _, where in self._bplan:
                    if all(eager[k] for k in where):
                        continue
                    g = grads[i]
                    if type(g) is float and g - g != 0.0:
                        raise BadTotal(i)
                    j = None
                    node = nodes[i]
                    xs = tuple(values[k] for k in where)
                    shares = ops.vjp(node.op, g, values[i], xs, node.attrs)
                    for j, share in zip(where, shares):
                        if eager[j]:
                            continue
                        if type(share) is float and share - share != 0.0:
                            raise NotFinite(share)
                        prev = grads[j]
                        grads[j] = share if prev is None else prev + share
                for i in self._leaf_positions:
                    g = grads[i]
                    if type(g) is float and g - g != 0.0:
                        raise BadTotal(i)
            except CompgraphError:
                raise
            except BadTotal as e:
                raise self._backward_error(values, grads, into=e.args[0]) from None
            except OP_ERRORS:
                raise self._backward_error(values, grads, out_of=i, child=j) from None
        self._lazy_done = True

    def _run_backward(self, values: list, grads: list) -> None:
        """Reverse order, each share fitted to its input's shape only where the first backward
        for these leaf shapes found it needed (_fast_bplan); the hot loop of training."""
        fit = ops.fit
        i = -1
        j = None
        try:
            # fit_a, fit_b: None, or the function that gives that share its input's shape
            for i, vjp, a, b, want_a, want_b, fit_a, fit_b, where in self._fast_bplan:
                g = grads[i]
                if type(g) is float and g - g != 0.0:
                    raise BadTotal(i)
                j = None
                if b >= 0:
                    sa, sb = vjp(g, values[i], values[a], values[b])
                    if want_a:
                        j = a
                        if fit_a is not None:
                            sa = fit_a(sa)
                        prev = grads[a]
                        grads[a] = sa if prev is None else prev + sa
                    if want_b:
                        j = b
                        if fit_b is not None:
                            sb = fit_b(sb)
                        prev = grads[b]
                        grads[b] = sb if prev is None else prev + sb
                elif a >= 0:
                    (sa,) = vjp(g, values[i], values[a])
                    j = a
                    if fit_a is not None:
                        sa = fit_a(sa)
                    prev = grads[a]
                    grads[a] = sa if prev is None else prev + sa
                else:  # three or more inputs
                    shares = vjp(g, values[i], *[values[k] for k in where])
                    for j, share in zip(where, shares):
                        share = fit(share, values[j])
                        prev = grads[j]
                        grads[j] = share if prev is None else prev + share
        except CompgraphError:
            raise
        except BadTotal as e:
            raise self._backward_error(values, grads, into=e.args[0]) from None
        except OP_ERRORS:
            raise self._backward_error(values, grads, out_of=i, child=j) from None

    def _run_backward_fitting(self, values: list, grads: list,
                              record: Callable[..., None] | None) -> None:
        """The same with fit() on every share, noting which edges needed it (the first backward
        for a set of leaf shapes), and calling `record` for each edge."""
        needs_fit = []
        nodes = self.nodes
        i = -1
        j = None
        try:
            for i, vjp, where in self._bplan:
                g = grads[i]
                if type(g) is float and g - g != 0.0:
                    raise BadTotal(i)
                j = None
                shares = vjp(g, values[i], *[values[k] for k in where])
                fits = []
                for slot, (j, share) in enumerate(zip(where, shares)):
                    fitted = ops.fit(share, values[j])
                    fits.append(None if fitted is share else ops.fitter(share, values[j]))
                    if type(fitted) is float and fitted - fitted != 0.0:
                        raise NotFinite(fitted)
                    prev = grads[j]
                    grads[j] = total = fitted if prev is None else prev + fitted
                    if record is not None:
                        record(nodes[i], slot, nodes[j], g, fitted, total)
                needs_fit.append(tuple(fits))
        except CompgraphError:
            raise
        except BadTotal as e:
            raise self._backward_error(values, grads, into=e.args[0]) from None
        except OP_ERRORS:
            raise self._backward_error(values, grads, out_of=i, child=j) from None
        self._needs_fit = needs_fit
        # the same plan with the decisions folded in, by arity (a, b = -1 when absent)
        # and without the edges into nodes whose gradients wait until they are read
        fast = []
        eager, nodes = self._eager, self.nodes
        for (i, vjp, where), fits in zip(self._bplan, needs_fit):
            wanted = tuple(eager[k] for k in where)
            if not any(wanted):
                continue
            if not all(wanted):
                vjp = ops.raw_vjp(nodes[i].op, nodes[i].attrs, wanted)
            if len(where) in (1, 2):
                a, b = where[0], where[1] if len(where) == 2 else -1
                fast.append((i, vjp, a, b, wanted[0], wanted[-1], fits[0], fits[-1], where))
            else:
                fast.append((i, vjp, -1, -1, True, True, True, True, where))
        self._fast_bplan = fast

    def _backward_error(self, values: list, grads: list, *, out_of: int | None = None,
                        child: int | None = None, into: int | None = None) -> DomainError:
        """Which edge made a gradient overflow. Either the op at `out_of` raised while passing
        its gradient on (to `child`, if known), or the gradient summed `into` a node is not
        finite: recompute those edges' shares without raising and name the first edge whose
        local derivative, share, or sum with the shares before it is not finite."""
        nodes, position = self.nodes, self.position
        if out_of is not None:
            edges = [(out_of, slot) for slot, c in enumerate(nodes[out_of].children)
                     if child is None or position[c] == child]
        else:
            edges = [(position[p], slot) for p in nodes[into + 1:]
                     for slot, c in enumerate(p.children) if c is nodes[into]]
        total: Any = None
        with np.errstate(all="ignore"):
            for p, slot in edges:
                node = nodes[p]
                x = node.children[slot]
                xs = [values[position[c]] for c in node.children]
                g = grads[p]
                try:
                    local = node.op.local(values[p], *xs, **node.attrs)[slot] \
                        if node.op.local is not None else None
                except OP_ERRORS:
                    local = math.inf
                try:
                    share = ops.vjp(node.op, g, values[p], tuple(xs), node.attrs)[slot]
                except OP_ERRORS:
                    share = math.inf
                edge = (f"backward through the edge {node.name!r} → {x.name!r} "
                        f"({node.op.name} node {node.name!r}; inputs "
                        f"{describe_inputs(node, xs)})")
                if local is not None and not _finite(local):
                    label = node.op.deriv[slot].format(*(c.name for c in node.children),
                                                       out=node.name, **_labels(node.attrs))
                    return DomainError(f"{edge}: the local derivative ∂{node.name}/∂{x.name} = "
                                       f"{label} is not finite there ({_brief(local)})")
                if not _finite(share):
                    return DomainError(f"{edge}: upstream gradient {_brief(g)} × local "
                                       f"derivative {_brief(local)} overflows")
                total = share if total is None else total + share
                if not _finite(total):
                    return DomainError(f"{edge}: the sum of the gradients reaching {x.name!r} "
                                       f"overflows ({_brief(total)})")
        where = nodes[into if into is not None else out_of].name
        return DomainError(f"backward: the gradient at {where!r} is not a finite number")

    def descend(self, lr: float) -> None:
        """θ ← θ − lr·∂output/∂θ for every Param, from the last backward(): the step of gradient
        descent (nn.gradient_descent_step). A step that overflows raises DomainError naming the
        Param and leaves every Param as it was."""
        if self._grads is None:
            raise OrderError("a gradient descent step needs gradients: call backward() first")
        if type(lr) is not float and (not isinstance(lr, numbers.Real) or isinstance(lr, bool)) \
                or not math.isfinite(lr):
            raise InputError(f"learning rate: expected a finite number, got {_short(lr)}")
        lr = float(lr)
        grads = self._grads
        new = []
        with Raising():
            for i, p in self._param_slots:
                try:
                    v = p.value - lr * grads[i]
                    if type(v) is float and v - v != 0.0:
                        raise NotFinite(v)
                except ArithmeticError as e:
                    raise DomainError(f"gradient descent step of Param {p.name!r} (lr = {lr:g}):"
                                      f" the new value is not finite ({_what_happened(e)})"
                                      ) from None
                new.append(v)
        for (_, p), v in zip(self._param_slots, new):
            _set_value(p, "value", v)  # fresh, finite and of the Param's shape: no copy, no check

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
            if index is not None and index != () and index != 0:
                raise ShapeError(f"forward_mode: {leaf.name!r} is a number; index={index!r} "
                                 f"has nothing to pick (leave it out)")
            seed: Value = 1.0
        else:
            if index is None:
                raise ShapeError(f"forward_mode: {leaf.name!r} has shape {leaf_value.shape}; "
                                 f"pass index=... to choose one element")
            seed = np.zeros_like(leaf_value)
            try:
                if np.ndim(seed[index]) != 0:
                    raise IndexError
                seed[index] = 1.0
            except (IndexError, TypeError, ValueError):
                raise ShapeError(f"forward_mode: index={index!r} does not pick one element of "
                                 f"{leaf.name!r}, which has shape {leaf_value.shape} (give one "
                                 f"index per axis, each below that axis' length)") from None
        tangents: dict[Node, Value] = {leaf: seed}
        with Raising():
            for i, _, _, _, where in self._plan:
                node = self.nodes[i]
                ts = tuple(tangents.get(c) for c in node.children)
                if all(t is None for t in ts):
                    continue
                xs = tuple(values[j] for j in where)
                ts = tuple(np.zeros_like(x) if t is None and type(x) is not float
                           else 0.0 if t is None else t for x, t in zip(xs, ts))
                try:
                    tangent = ops.jvp(node.op, values[i], xs, ts, node.attrs)
                    if not _finite(tangent):
                        raise NotFinite
                except OP_ERRORS as e:
                    raise DomainError(f"forward_mode: d{node.name}/d{leaf.name} at "
                                      f"{node.op.name} node {node.name!r} is not a finite number "
                                      f"({_what_happened(e)}; inputs "
                                      f"{describe_inputs(node, list(xs))})") from None
                tangents[node] = tangent
        return {n: tangents.get(n, ops.fit(0.0, v)) for n, v in zip(self.nodes, values)}

    def count_paths(self, wrt: Node | str) -> int:
        """How many paths lead from the output down to `wrt` (exact; computed without listing
        them: it can be 2^n for n diamonds in a row)."""
        leaf = self.node(wrt)
        counts = [0] * len(self.nodes)
        target = self.position[leaf]
        counts[target] = 1
        for i, _, _, _, where in self._plan:  # children before parents
            if i > target:  # (below `wrt` nothing counts; `wrt` may be an op node)
                counts[i] = sum(counts[j] for j in where)
        return counts[-1]

    def paths(self, wrt: Node | str, max_paths: int | None = None) -> list[Path]:
        """Every path from the output down to `wrt` with its edge derivatives, for scalar graphs.
        The products of the paths sum to ∂output/∂wrt. Uses the values of the last forward().
        Raises SizeError when there are more than `max_paths` paths (default
        compgraph.limits.MAX_PATHS, 10,000; their number doubles with every diamond in a row):
        pass a larger max_paths to list them anyway."""
        leaf = self.node(wrt)
        values = self._current_pass("paths()")
        count = self.count_paths(leaf)
        limit = limits.MAX_PATHS if max_paths is None else max_paths
        limits.check_size(f"paths() from {self.output.name!r} to {leaf.name!r}", count, limit,
                          "pass max_paths=... to list them all, or use backward(), which sums "
                          "them without listing them", unit="paths")
        position = self.position
        reaches = [False] * len(self.nodes)  # nodes with at least one path down to the leaf
        target = position[leaf]
        reaches[target] = True
        for i, _, _, _, where in self._plan:
            if i > target:
                reaches[i] = any(reaches[j] for j in where)
        locals_: dict[int, tuple] = {}
        found: list[Path] = []
        # depth first; a route is a linked list (parent route, node, slot, factor), so a long
        # chain shares its prefixes instead of copying them
        stack: list[tuple[Node, tuple | None]] = [(self.output, None)]
        with Raising():
            while stack:
                node, route = stack.pop()
                if node is leaf:
                    found.append(_unwind(self.output, route))
                    continue
                if node.op is None:
                    continue
                i = position[node]
                local = locals_.get(i)
                if local is None:
                    xs = [values[position[c]] for c in node.children]
                    if type(values[i]) is not float or any(type(x) is not float for x in xs):
                        raise ShapeError(f"paths(): node {node.name!r} or one of its inputs "
                                         f"holds an array; path products are defined for "
                                         f"scalar graphs")
                    local = locals_[i] = node.op.local(values[i], *xs, **node.attrs)
                for slot in reversed(range(len(node.children))):
                    child = node.children[slot]
                    if reaches[position[child]]:
                        stack.append((child, (route, child, slot, float(local[slot]))))
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


def _unwind(output: Node, route: tuple | None) -> Path:
    nodes, factors, slots = [], [], []
    while route is not None:
        route, child, slot, factor = route
        nodes.append(child)
        factors.append(factor)
        slots.append(slot)
    nodes.append(output)
    return Path(tuple(reversed(nodes)), tuple(reversed(factors)), tuple(reversed(slots)))


def _some_names(nodes: list[Node], shown: int = 8) -> str:
    names = [n.name for n in nodes[:shown]]
    more = f", … ({len(nodes):,} nodes in all; graph.nodes lists them)" \
        if len(nodes) > shown else ""
    return "nodes: " + ", ".join(names) + more


def _finite(value: Any) -> bool:
    if type(value) is float:
        return math.isfinite(value)
    try:
        return bool(np.all(np.isfinite(value)))
    except TypeError:
        return False


def _brief(value: Any) -> str:
    if value is None:
        return "?"
    if type(value) is float:
        return f"{value:.4g}"
    value = np.asarray(value)
    bad = value[~np.isfinite(value)] if value.size else value
    return f"of shape {value.shape}" + (f" (holding {float(bad.flat[0])!r})" if bad.size else "")


def _labels(attrs: dict) -> dict:
    return {k: f"{v:g}" for k, v in attrs.items()}


def _what_happened(error: Exception) -> str:
    if isinstance(error, NotFinite):
        bad = error.args[0] if error.args else math.nan
        return f"it came out as {bad}: " + ("NaN, no number" if bad != bad else
                                             "an overflow beyond about 1.8e308") \
            if isinstance(bad, float) else f"it holds {bad}"
    text = str(error) or type(error).__name__
    if isinstance(error, OverflowError) or "overflow" in text:
        return "overflow: beyond the largest float, about 1.8e308"
    if isinstance(error, ZeroDivisionError) or "divide by zero" in text:
        return "division by zero"
    if "invalid value" in text or "math domain" in text:
        return "no real value there (NaN)"
    return text


def describe_inputs(node: Node, xs: list[Value]) -> str:
    return ", ".join(f"{c.name!r} {describe(x)}" for c, x in zip(node.children, xs))


def describe(value: Value | None) -> str:
    if value is None:
        return "(no value yet)"
    if type(value) is float:
        return f"= {value:.4g}"
    return f"of shape {value.shape}"
