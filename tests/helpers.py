"""Shared test helpers: comparing gradients with central differences, and a hypothesis strategy
that generates random expression graphs (DAGs with shared subexpressions) over scalars and over
arrays with broadcasting. The property tests count every graph they check in GRAPHS_CHECKED."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import compgraph as cg

#: Generated graphs checked so far in this session, by kind (see test_properties.py).
GRAPHS_CHECKED: Counter[str] = Counter()
#: How many of them had a shared node, and (array graphs) how many broadcast somewhere.
GRAPH_FEATURES: Counter[str] = Counter()
#: The acceptance criterion: at least this many generated graphs per full run.
REQUIRED_GRAPHS = 2000


# --- comparing with central differences ----------------------------------------------------------

def assert_matches_numeric(graph: cg.Graph, rtol: float = 1e-5, **inputs: Any) -> None:
    """Every leaf's gradient has the leaf's shape (a float for a float) and agrees with central
    differences (cg.numeric_grad). The absolute tolerance, 1e-7·max(1, |f|), allows for the
    rounding noise of a difference quotient, about |f|·1e-16/ε with ε = 1e-6, where a gradient
    is close to zero."""
    out = graph.forward(**inputs)
    grads = graph.backward()
    atol = 1e-7 * max(1.0, abs(out))
    for leaf in [*graph.inputs.values(), *graph.params]:
        analytic = grads[leaf]
        assert np.shape(analytic) == np.shape(leaf.value), leaf.name
        assert type(analytic) is type(leaf.value), leaf.name  # a float stays a float
        numeric = cg.numeric_grad(graph, leaf, **inputs)
        np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol, err_msg=leaf.name)


def assert_forward_mode_agrees(graph: cg.Graph, index_of=None, **inputs: Any) -> None:
    """forward_mode(leaf)[output] equals backward's ∂output/∂leaf (for arrays: one element per
    leaf, chosen by `index_of(leaf)`, default the last element)."""
    graph.forward(**inputs)
    grads = graph.backward()  # forward_mode() runs forward() again, which clears graph.grads
    for leaf in [*graph.inputs.values(), *graph.params]:
        grad = grads[leaf]
        if type(leaf.value) is float:
            tangent = graph.forward_mode(leaf, **inputs)[graph.output]
            np.testing.assert_allclose(tangent, grad, rtol=1e-9, atol=1e-12, err_msg=leaf.name)
        else:
            index = index_of(leaf) if index_of else tuple(n - 1 for n in leaf.value.shape)
            tangent = graph.forward_mode(leaf, index=index, **inputs)[graph.output]
            np.testing.assert_allclose(tangent, grad[index], rtol=1e-9, atol=1e-12,
                                       err_msg=f"{leaf.name}[{index}]")


# --- values ------------------------------------------------------------------------------------

def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Finite floats in [lo, hi]."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def away_from_zero(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Floats with lo <= |x| <= hi, either sign."""
    return st.tuples(floats(lo, hi), st.booleans()).map(lambda t: -t[0] if t[1] else t[0])


def arrays_of(elements: st.SearchStrategy[float], shape: tuple[int, ...]):
    """A float array of `shape`, or a plain float for shape ()."""
    if shape == ():
        return elements
    return hnp.arrays(np.float64, shape, elements=elements)


# Leaves of generated graphs take values on the dyadic grid k/16 in [-2, 2]. Sums, differences and
# products of such numbers are exact, so an expression like x·y − z is either exactly 0 or at
# least 1/256 away from it: no rounding residue such as 0.1·3 − 0.3 = 5.6e-17 can turn into a
# tiny nonzero gradient that central differences cannot resolve.
def grid_array(shape: tuple[int, ...], k: int = 32):
    """Values k'/16 with |k'| <= k: a float for shape (), else an array."""
    if shape == ():
        return st.integers(-k, k).map(lambda i: i / 16)
    return hnp.arrays(np.int64, shape, elements=st.integers(-k, k)).map(lambda a: a / 16)


# --- random expression graphs ------------------------------------------------------------------

#: Values are kept below this bound (by static interval reasoning) so that nothing overflows and
#: no saturating op (tanh, σ, exp) is driven so far that its gradient vanishes below the
#: resolution of central differences.
LIMIT = 20.0
#: Saturating ops only see arguments up to this bound.
SATURATE = 3.0

UNARY = ["neg", "sin", "cos", "tanh", "sigmoid", "square", "pow2", "exp", "log", "relu", "pow",
         "scale", "rsub", "twice_add", "twice_mul"]
BINARY = ["add", "sub", "mul", "div", "rdiv"]
ARRAY_ONLY = ["sum", "mean", "matmul", "affine"]
POWERS = [3.0, 0.5, -1.0, 1.5, -0.5]


@dataclass
class Entry:
    node: cg.Node
    bound: float               # |value| <= bound, elementwise
    shape: tuple[int, ...]
    text: str
    used: bool = False


class GeneratedGraph:
    def __init__(self, graph: cg.Graph, inputs: dict[str, Any], text: str,
                 relus: list[cg.Node]):
        self.graph, self.inputs, self.text, self.relus = graph, inputs, text, relus

    def _repr_pretty_(self, printer, cycle) -> None:  # hypothesis's pretty printer
        printer.text(repr(self))

    def __repr__(self) -> str:  # what hypothesis prints for a failing example
        values = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                  for k, v in self.inputs.items()}
        return f"GeneratedGraph({self.text}, inputs={values})"

    def relu_inputs_away_from_zero(self) -> bool:
        """After forward(): is every relu's argument at least 1e-3 away from the kink?"""
        return all(np.all(np.abs(r.children[0].value) > 1e-3) for r in self.relus)

    @property
    def leaves(self) -> list[cg.Node]:
        return [*self.graph.inputs.values(), *self.graph.params]

    def shares_nodes(self) -> bool:
        """Does some node feed two consumers, or one consumer twice (x·x)?"""
        edges = Counter(id(c) for n in self.graph.ops for c in n.children)
        return any(k > 1 for k in edges.values())

    def broadcasts(self) -> bool:
        """Does some op combine inputs of different shapes?"""
        return any(len({np.shape(c.value) for c in n.children}) > 1 for n in self.graph.ops
                   if n.op.arity > 1)


class _Builder:
    def __init__(self, draw, arrays: bool):
        self.draw, self.arrays = draw, arrays
        self.pool: list[Entry] = []
        self.relus: list[cg.Node] = []
        self.n_params = 0

    def tame(self, e: Entry, limit: float) -> Entry:
        """Scale an operand into [-limit, limit] with a constant factor (linear: no saturation)."""
        if e.bound <= limit:
            return e
        factor = limit / e.bound
        return Entry(e.node * factor, limit, e.shape, f"{factor:.3g}·({e.text})")

    def param(self, shape: tuple[int, int]) -> cg.Param:
        self.n_params += 1
        return cg.Param(f"W{self.n_params}", self.draw(grid_array(shape, k=8)))  # in [-0.5, 0.5]

    def unary(self, kind: str, a: Entry) -> Entry:
        s = a.shape
        if kind in ("tanh", "sigmoid", "exp"):
            a = self.tame(a, SATURATE)
        elif kind in ("square", "pow2", "twice_mul", "log"):
            a = self.tame(a, math.sqrt(LIMIT))
        elif kind in ("scale", "neg", "rsub", "relu", "twice_add"):
            a = self.tame(a, LIMIT / 2)
        x, b, t = a.node, a.bound, a.text
        if kind == "neg":
            return Entry(-x, b, s, f"−({t})")
        if kind in ("sin", "cos"):
            return Entry(getattr(cg, kind)(x), 1.0, s, f"{kind}({t})")
        if kind == "tanh":
            return Entry(cg.tanh(x), 1.0, s, f"tanh({t})")
        if kind == "sigmoid":
            return Entry(cg.sigmoid(x), 1.0, s, f"σ({t})")
        if kind == "square":
            return Entry(cg.square(x), b * b, s, f"square({t})")
        if kind == "pow2":
            return Entry(x ** 2, b * b, s, f"({t})**2")
        if kind == "exp":
            return Entry(cg.exp(x), math.exp(b), s, f"exp({t})")
        if kind == "log":  # log(1 + x·x): positive argument, x used twice
            return Entry(cg.log(1.0 + x * x), math.log1p(b * b), s, f"log(1 + ({t})·({t}))")
        if kind == "relu":
            node = cg.relu(x)
            self.relus.append(node)
            return Entry(node, b, s, f"relu({t})")
        if kind == "pow":  # (1.5 + sin x) ** p: the base lies in [0.5, 2.5]
            p = self.draw(st.sampled_from(POWERS))
            bound = max(0.5 ** p, 2.5 ** p)
            return Entry((1.5 + cg.sin(x)) ** p, bound, s, f"(1.5 + sin({t}))**{p}")
        if kind == "scale":
            c = self.draw(st.sampled_from([0.5, -1.5, 2.0]))
            return Entry(c * x, abs(c) * b, s, f"{c}·({t})")
        if kind == "rsub":
            return Entry(1.0 - x, 1.0 + b, s, f"1 − ({t})")
        if kind == "twice_add":
            return Entry(x + x, 2 * b, s, f"({t}) + ({t})")
        if kind == "twice_mul":
            return Entry(x * x, b * b, s, f"({t})·({t})")
        raise AssertionError(kind)

    def binary(self, kind: str, a: Entry, c: Entry) -> Entry:
        if kind == "mul":
            a, c = self.tame(a, math.sqrt(LIMIT)), self.tame(c, math.sqrt(LIMIT))
        else:
            a, c = self.tame(a, LIMIT / 2), self.tame(c, LIMIT / 2)
        s = np.broadcast_shapes(a.shape, c.shape)
        x, y = a.node, c.node
        if kind == "add":
            return Entry(x + y, a.bound + c.bound, s, f"({a.text}) + ({c.text})")
        if kind == "sub":
            return Entry(x - y, a.bound + c.bound, s, f"({a.text}) − ({c.text})")
        if kind == "mul":
            return Entry(x * y, a.bound * c.bound, s, f"({a.text})·({c.text})")
        if kind == "div":  # a / (1 + c²): the divisor is at least 1
            return Entry(x / (1.0 + cg.square(y)), a.bound, s, f"({a.text}) / (1 + ({c.text})²)")
        if kind == "rdiv":  # 2 / (1.5 + cos c) · a: a reflected division by a positive node
            return Entry((2.0 / (1.5 + cg.cos(y))) * x, 4.0 * a.bound, s,
                         f"2 / (1.5 + cos({c.text})) · ({a.text})")
        raise AssertionError(kind)

    def array_op(self, kind: str, a: Entry) -> Entry:
        if kind == "sum":
            a = self.tame(a, LIMIT / max(1, math.prod(a.shape)))
            return Entry(cg.sum(a.node), a.bound * math.prod(a.shape), (), f"Σ({a.text})")
        if kind == "mean":
            return Entry(cg.mean(a.node), a.bound, (), f"mean({a.text})")
        k = a.shape[-1]
        a = self.tame(a, LIMIT / 2)
        if kind == "matmul":  # a @ W, W of shape (k, k): the shape is kept
            W = self.param((k, k))
            return Entry(a.node @ W, a.bound * k * 0.5, a.shape, f"({a.text}) @ {W.name}")
        if kind == "affine":  # [a, 1] @ W, W of shape (k+1, k)
            W = self.param((k + 1, k))
            return Entry(cg.matmul(cg.append_one(a.node), W), (a.bound + 1) * (k + 1) * 0.5,
                         a.shape, f"[{a.text}, 1] @ {W.name}")
        raise AssertionError(kind)


def _leaf_shapes(full: tuple[int, ...]) -> st.SearchStrategy[tuple[int, ...]]:
    """Shapes that broadcast to (a shape inside) `full`: each axis full or 1, leading axes
    possibly dropped, or a scalar."""
    per_axis = st.tuples(*(st.sampled_from([n, 1]) for n in full))
    return st.one_of(
        st.just(full),
        st.tuples(per_axis, st.integers(0, len(full))).map(lambda t: t[0][t[1]:]),
    )


@st.composite
def expression_graphs(draw, arrays: bool = False, max_steps: int = 8) -> GeneratedGraph:
    """A random DAG: a few leaves, then `steps` ops, each applied to nodes drawn from everything
    built so far (so subexpressions are shared and nodes re-used), then the sum of all nodes
    nobody consumed (so every leaf is in the graph), reduced to a scalar loss."""
    b = _Builder(draw, arrays)
    inputs: dict[str, Any] = {}
    full = draw(st.sampled_from([(3,), (2, 3), (3, 2), (2, 2)])) if arrays else ()
    for i in range(draw(st.integers(1, 3))):
        shape = draw(_leaf_shapes(full)) if arrays else ()
        name = f"x{i}"
        inputs[name] = draw(grid_array(shape))
        b.pool.append(Entry(cg.Input(name), 2.0, shape, name))
    if draw(st.booleans()):
        shape = draw(_leaf_shapes(full)) if arrays else ()
        value = draw(grid_array(shape))
        b.pool.append(Entry(cg.Param("w", value), 2.0, shape, "w"))
    if draw(st.booleans()):
        shape = draw(_leaf_shapes(full)) if arrays else ()
        value = draw(grid_array(shape))
        b.pool.append(Entry(cg.Const(value), 2.0, shape, f"const{np.shape(value)}"))

    kinds = UNARY + BINARY + (ARRAY_ONLY if arrays else [])
    n_steps = draw(st.integers(1, max_steps))
    for _ in range(n_steps):
        kind = draw(st.sampled_from(kinds))
        pick = st.integers(0, len(b.pool) - 1)
        a = b.pool[draw(pick)]
        if kind in BINARY:
            c = a if draw(st.integers(0, 4)) == 0 else b.pool[draw(pick)]  # a ∘ a, sometimes
            new = b.binary(kind, a, c)
            c.used = True
        elif kind in ARRAY_ONLY:
            if a.shape == ():
                new = b.unary("sin", a)  # nothing to reduce or multiply: an ordinary op instead
            else:
                new = b.array_op(kind, a)
        else:
            new = b.unary(kind, a)
        a.used = True
        b.pool.append(new)

    sinks = [e for e in b.pool if not e.used]
    total = sinks[0]
    for e in sinks[1:]:
        total = b.binary("add", total, e)
    finals = ["plain", "bce", "sqerr"] if not arrays else ["sum", "mean", "bce", "sqerr",
                                                             "weighted"]
    final = draw(st.sampled_from(finals))
    node, shape, text = total.node, total.shape, total.text
    if final == "plain" or (final in ("sum", "mean", "weighted") and shape == ()):
        out = node if shape == () else cg.sum(node)
    elif final == "sum":
        out = cg.sum(node)
    elif final == "mean":
        out = cg.mean(node)
    elif final == "weighted":
        out = cg.sum(node * cg.Const(draw(grid_array(shape))))
    elif final == "bce":
        target = draw(arrays_of(st.sampled_from([0.0, 0.25, 1.0]), shape))
        out = cg.binary_cross_entropy(cg.sigmoid(b.tame(total, SATURATE).node), target)
    else:
        target = draw(grid_array(shape))
        out = cg.squared_error(node, target)
    text = f"{final}({text})"
    graph = cg.Graph(out)
    return GeneratedGraph(graph, inputs, text, b.relus)
