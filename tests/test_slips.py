"""Slips a learner makes, tried systematically: none may end in a raw exception or a silent
non-finite number.

Every probe either works where the intent is clear (and then its result must be right: values
against numpy, gradients against central differences) or raises a cg.CompgraphError subclass
whose message names the node involved (and, where the fix is a keyword or an argument, names
that). Any non-finite value, gradient or tangent is a cg.DomainError naming the node.

The probes come in tables:
  - every op × values at the edge of its domain (0, −0, negatives, subnormals, 1e±200, ±710,
    1e308) × the input as a float, a 0-d array or an array, each run over three passes through
    forward, backward, forward mode, path products and trace, against numpy's own answer;
  - binary ops at pairs of values that divide by zero or overflow;
  - numpy ufuncs, math functions and Python operators applied to a node;
  - calls of the Graph methods, gradcheck and the constructors with arguments missing, misplaced
    or of the wrong kind; new ops whose local derivative is written wrong;
  - shapes that cannot be combined;
  - paths, render, trace and the widgets where a local derivative is infinite.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

import compgraph as cg

X = "xin"  # the input's name: every message about it must name it


def _message_names(error: BaseException, *fragments: str) -> None:
    message = str(error)
    for fragment in fragments:
        assert fragment in message, f"{type(error).__name__} does not mention {fragment!r}: " \
                                    f"{message}"


def _close(got: Any, want: Any, what: str, rtol: float = 1e-9, atol: float = 1e-12) -> None:
    assert np.shape(got) == np.shape(want), f"{what}: shape {np.shape(got)} ≠ {np.shape(want)}"
    assert np.all(np.isfinite(got)), f"{what}: {got!r} is not finite"
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=what)


# ================================================================================================
# 1. Every op at the edges of its domain
# ================================================================================================

def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def _pow(p: float):
    def value(v):
        return np.power(v, p)

    def deriv(v):
        return np.zeros_like(v) if p == 0 else p * np.power(v, p - 1.0)
    return value, deriv


#: op → (build the node from x, its value in numpy, its derivative in numpy). Reductions (the
#: value of the whole array; derivative 1 or 1/n per element) are marked in REDUCES.
UNARY: dict[str, tuple[Callable, Callable, Callable]] = {
    "exp": (cg.exp, np.exp, np.exp),
    "log": (cg.log, np.log, lambda v: 1.0 / v),
    "sin": (cg.sin, np.sin, np.cos),
    "cos": (cg.cos, np.cos, lambda v: -np.sin(v)),
    "tanh": (cg.tanh, np.tanh, lambda v: 1.0 / np.cosh(v) ** 2),
    "sigmoid": (cg.sigmoid, _sigmoid, lambda v: _sigmoid(v) * _sigmoid(-v)),
    "relu": (cg.relu, lambda v: np.maximum(v, 0.0), lambda v: (v > 0).astype(float)),
    "square": (cg.square, np.square, lambda v: 2.0 * v),
    "copy": (cg.copy, lambda v: v, np.ones_like),
    "neg": (lambda x, name: _named(-x, name), np.negative, lambda v: -np.ones_like(v)),
    "recip": (lambda x, name: cg.div(1.0, x, name=name), lambda v: 1.0 / v,
              lambda v: -1.0 / (v * v)),
    "sum": (cg.sum, np.sum, np.ones_like),
    "mean": (cg.mean, np.mean, lambda v: np.full_like(v, 1.0 / v.size)),
}
for _p in (0.5, -1.0, -0.5, 1.5, 3.0, 0.0, 2.5, -2.0):
    UNARY[f"pow{_p:g}"] = ((lambda p: lambda x, name: cg.power(x, p, name=name))(_p), *_pow(_p))
REDUCES = {"sum", "mean"}


def _named(node: cg.Node, name: str) -> cg.Node:
    node.name = name
    return node


BAD_VALUES = [0.0, -0.0, -1.0, 1e-320, -1e-320, 1e-200, 1e200, -1e200, 710.0, -710.0, 1e308]
FORMS = ["float", "0-d array", "array"]


def _input(form: str, v: float) -> Any:
    if form == "float":
        return v
    if form == "0-d array":
        return np.array(v)
    return np.array([0.5, v])


def _expected(op: str, form: str, v: float) -> dict:
    """numpy's answer: the value of sum(op(x)), ∂/∂x, and which node's value is not finite."""
    _, value, deriv = UNARY[op]
    xs = np.atleast_1d(np.asarray(_input(form, v), dtype=float))
    with np.errstate(all="ignore"):
        vals = value(xs)
        out = np.sum(vals)
        d = deriv(xs)
        if op in REDUCES:
            d = np.broadcast_to(d, xs.shape)
    if form != "array":
        d = d.reshape(())
    return {"forward_ok": bool(np.all(np.isfinite(vals))), "out_ok": bool(np.isfinite(out)),
            "out": float(out), "grad": d, "grad_ok": bool(np.all(np.isfinite(d)))}


OP_PROBES = [(op, form, v) for op in UNARY for form in FORMS for v in BAD_VALUES]


@pytest.mark.parametrize("op, form, v", OP_PROBES,
                         ids=[f"{op}-{form}-{v!r}" for op, form, v in OP_PROBES])
def test_an_op_at_the_edge_of_its_domain(op, form, v):
    build = UNARY[op][0]
    x = cg.Input(X)
    node = build(x, name=f"probe_{op}")
    g = cg.Graph(cg.sum(node, name="probe_out"))
    want = _expected(op, form, v)
    for _ in range(3):  # the same on every pass
        given = _input(form, v)
        # --- forward
        if not want["forward_ok"] or not want["out_ok"]:
            with pytest.raises(cg.DomainError) as caught:
                g.forward(**{X: given})
            _message_names(caught.value, f"probe_{op}" if not want["forward_ok"] else "probe_out")
            with pytest.raises(cg.OrderError):
                g.backward()
            continue
        _close(g.forward(**{X: given}), want["out"], "forward", atol=1e-300)
        # --- backward
        if not want["grad_ok"]:
            with pytest.raises(cg.DomainError) as caught:
                g.backward()
            _message_names(caught.value, f"probe_{op}")
            with pytest.raises(cg.OrderError):
                g.grad(x)
        else:
            grads = g.backward()
            _close(grads[x], want["grad"], "backward")
            _close(g.grad(x), want["grad"], "grad")
        # --- forward mode, by the bad element
        index = None if form != "array" else (1,)
        call = functools.partial(g.forward_mode, x, **{X: given}) if index is None else \
            functools.partial(g.forward_mode, x, index=index, **{X: given})
        if not want["grad_ok"]:
            with pytest.raises(cg.DomainError) as caught:
                call()
            _message_names(caught.value, f"probe_{op}")
        else:
            tangent = call()[g.output]
            _close(tangent, want["grad"] if index is None else want["grad"][index],
                   "forward_mode")
        # --- path products (scalar graphs)
        if form != "array":
            g.forward(**{X: given})
            if not want["grad_ok"]:
                with pytest.raises(cg.CompgraphError) as caught:
                    g.paths(x)
                _message_names(caught.value, f"probe_{op}")
            else:
                paths = g.paths(x)
                for path in paths:
                    assert all(math.isfinite(f) for f in path.factors), path
                _close(math.fsum(p.product for p in paths), want["grad"], "paths")
        # --- trace
        if not want["grad_ok"]:
            with pytest.raises(cg.DomainError):
                g.trace(**{X: given})
        else:
            steps = g.trace(**{X: given})
            assert all(np.all(np.isfinite(s.total)) for s in steps.backward_steps)


# --- binary ops at pairs of values that divide by zero or overflow ------------------------------

BINARY: dict[str, tuple[Callable, Callable, Callable, Callable]] = {
    # op → (build, value, ∂/∂a, ∂/∂b)
    "add": (cg.add, np.add, lambda a, b: np.ones_like(a), lambda a, b: np.ones_like(b)),
    "sub": (cg.sub, np.subtract, lambda a, b: np.ones_like(a), lambda a, b: -np.ones_like(b)),
    "mul": (cg.mul, np.multiply, lambda a, b: b, lambda a, b: a),
    "div": (cg.div, np.divide, lambda a, b: 1.0 / b, lambda a, b: -a / (b * b)),
    "sqerr": (cg.squared_error, lambda a, b: 0.5 * (a - b) ** 2, lambda a, b: a - b,
              lambda a, b: b - a),
}
PAIRS = [(1.0, 0.0), (0.0, 0.0), (1.0, -0.0), (1e300, 1e-300), (1.0, 1e-320), (1.0, 1e-200),
         (1e200, 1e200), (1e308, 1e308), (1e308, -1e308), (-1e308, 1e308), (0.0, 1e308)]
BINARY_PROBES = [(op, form, a, b) for op in BINARY for form in ("float", "array")
                 for a, b in PAIRS]


@pytest.mark.parametrize("op, form, a, b", BINARY_PROBES,
                         ids=[f"{op}-{form}-{a!r}-{b!r}" for op, form, a, b in BINARY_PROBES])
def test_a_binary_op_that_divides_by_zero_or_overflows(op, form, a, b):
    build, value, da, db = BINARY[op]
    A, B = cg.Input("ain"), cg.Input("bin")
    g = cg.Graph(cg.sum(build(A, B, name=f"probe_{op}"), name="probe_out"))
    va, vb = (a, b) if form == "float" else (np.array([1.0, a]), np.array([2.0, b]))
    with np.errstate(all="ignore"):
        vals = value(np.asarray(va), np.asarray(vb))
        out = np.sum(vals)
        ga, gb = da(np.asarray(va), np.asarray(vb)), db(np.asarray(va), np.asarray(vb))
    for _ in range(2):
        if not (np.all(np.isfinite(vals)) and np.isfinite(out)):
            with pytest.raises(cg.DomainError) as caught:
                g.forward(ain=va, bin=vb)
            _message_names(caught.value, "probe_")
            continue
        _close(g.forward(ain=va, bin=vb), out, "forward", atol=1e-300)
        if not (np.all(np.isfinite(ga)) and np.all(np.isfinite(gb))):
            with pytest.raises(cg.DomainError) as caught:
                g.backward()
            _message_names(caught.value, f"probe_{op}")
            continue
        g.backward()
        _close(g.grad(A), ga, "∂/∂a")
        _close(g.grad(B), gb, "∂/∂b")


# ================================================================================================
# 2. Slips in writing expressions and calling the API
# ================================================================================================

@dataclass
class Probe:
    id: str
    run: Callable[[], Any]
    #: fragments the CompgraphError's message must hold: the node's name, what to write instead
    says: tuple[str, ...] = ()
    #: None: the intent is unclear, so it must raise. Otherwise the slip may also work, and this
    #: checks that what it returned is right.
    right: Callable[[Any], None] | None = None
    #: fragments the message must NOT hold (a message that would mislead)
    not_says: tuple[str, ...] = ()


POINTS = (0.7, np.array([-0.3, 1.2, 2.0]))
POSITIVE = (0.7, np.array([0.3, 1.2, 2.0]))


def right_node(ref: Callable[[np.ndarray], np.ndarray], points: tuple = POINTS,
               name: str = X) -> Callable[[Any], None]:
    """A node built from Input `name` that computes ref(x): the value of sum(node) against numpy
    and its gradient against central differences of numpy's function, at each point."""
    def check(node: Any) -> None:
        assert isinstance(node, cg.Node), f"returned {type(node).__name__} {node!r:.80}"
        alone = cg.Graph(node)
        x = alone.node(name)
        g = cg.Graph(cg.sum(node))
        for at in points:
            base = np.asarray(at, dtype=float)
            _close(alone.forward(**{name: at}), ref(base), f"value at {at}", rtol=1e-12)
            g.forward(**{name: at})
            g.backward()
            numeric = np.zeros(base.shape)
            for k in np.ndindex(base.shape):
                up, down = base.copy(), base.copy()
                up[k] += 1e-6
                down[k] -= 1e-6
                numeric[k] = (np.sum(ref(up)) - np.sum(ref(down))) / 2e-6
            _close(g.grad(x), numeric.reshape(np.shape(at)), f"gradient at {at}", rtol=1e-6,
                   atol=1e-8)
    return check


def right_value(want: Any) -> Callable[[Any], None]:
    def check(got: Any) -> None:
        _close(got, want, "result")
    return check


def _x() -> cg.Input:
    return cg.Input(X)


def _graph(fn=cg.sin) -> cg.Graph:
    return cg.Graph(fn(_x()))


def _forwarded(fn=cg.sin, at: Any = 0.5) -> cg.Graph:
    g = _graph(fn)
    g.forward(**{X: at})
    return g


def _backwarded(fn=cg.sin, at: Any = 0.5) -> cg.Graph:
    g = _forwarded(fn, at)
    g.backward()
    return g


def _applied(f: Callable) -> Any:
    return f(_x())


UFUNCS = [
    ("sin", np.sin, np.sin), ("cos", np.cos, np.cos), ("tan", np.tan, np.tan),
    ("exp", np.exp, np.exp), ("log", np.log, np.log), ("sqrt", np.sqrt, np.sqrt),
    ("square", np.square, np.square), ("tanh", np.tanh, np.tanh), ("abs", np.abs, np.abs),
    ("negative", np.negative, np.negative), ("log1p", np.log1p, np.log1p),
    ("expm1", np.expm1, np.expm1),
]
PROBES: list[Probe] = [
    Probe(f"np.{label}(x)", functools.partial(_applied, f), (X,),
          right_node(ref, POSITIVE)) for label, f, ref in UFUNCS
] + [
    Probe("np.maximum(x, 0)", lambda: np.maximum(_x(), 0.0), (X,),
          right_node(lambda v: np.maximum(v, 0.0))),
    Probe("np.add(x, 1)", lambda: np.add(_x(), 1.0), (X,), right_node(lambda v: v + 1.0)),
    Probe("np.multiply(2, x)", lambda: np.multiply(2.0, _x()), (X,), right_node(lambda v: 2 * v)),
    Probe("np.power(x, 3)", lambda: np.power(_x(), 3.0), (X,), right_node(lambda v: v ** 3)),
    Probe("np.sum(x)", lambda: np.sum(_x()), (X,), right_node(np.sum)),
    Probe("np.mean(x)", lambda: np.mean(_x()), (X,), right_node(np.mean)),
    Probe("np.matmul(M, x)", lambda: np.matmul(np.array([[1.0, 2.0], [3.0, 4.0]]), _x()), (X,),
          right_node(lambda v: np.array([[1.0, 2.0], [3.0, 4.0]]) @ v,
                     points=(np.array([0.5, -1.0]),))),
    Probe("np.dot(x, x)", lambda: (lambda x: np.dot(x, x))(_x()), (X,),
          right_node(lambda v: np.dot(v, v), points=(np.array([0.5, -1.0]),))),
] + [
    Probe(f"math.{label}(x)", functools.partial(_applied, f), (X,))
    for label, f in [("sin", math.sin), ("cos", math.cos), ("exp", math.exp),
                     ("log", math.log), ("sqrt", math.sqrt), ("tanh", math.tanh)]
] + [
    # Python's operators and built-ins on a node
    Probe("2 ** x", lambda: 2 ** _x(), (X,), right_node(lambda v: 2.0 ** v)),
    Probe("2.0 ** x", lambda: 2.0 ** _x(), (X,), right_node(lambda v: 2.0 ** v)),
    Probe("np.float64(2) ** x", lambda: np.float64(2.0) ** _x(), (X,),
          right_node(lambda v: 2.0 ** v)),
    Probe("x ** x", lambda: (lambda x: x ** x)(_x()), (X,), right_node(lambda v: v ** v, POSITIVE)),
    Probe("abs(x)", lambda: abs(_x()), (X,), right_node(np.abs, (0.7, np.array([-0.3, 1.2])))),
    Probe("+x", lambda: +_x(), (X,), right_node(lambda v: v)),
    Probe("x > 0", lambda: _x() > 0, (X,)),
    Probe("x < 0", lambda: _x() < 0, (X,)),
    Probe("x >= 0", lambda: _x() >= 0, (X,)),
    Probe("0 < x", lambda: 0 < _x(), (X,)),
    Probe("x > y", lambda: _x() > cg.Input("yin"), (X,)),
    Probe("x % 2", lambda: _x() % 2, (X,), right_node(lambda v: np.mod(v, 2.0))),
    Probe("x // 2", lambda: _x() // 2, (X,), right_node(lambda v: np.floor_divide(v, 2.0))),
    Probe("divmod(x, 2)", lambda: divmod(_x(), 2), (X,)),
    Probe("round(x)", lambda: round(_x()), (X,)),
    Probe("float(x)", lambda: float(_x()), (X,)),
    Probe("int(x)", lambda: int(_x()), (X,)),
    Probe("complex(x)", lambda: complex(_x()), (X,)),
    Probe("len(x)", lambda: len(_x()), (X,)),
    Probe("list(x)", lambda: list(_x()), (X,)),
    Probe("x[0]", lambda: _x()[0], (X,),
          right_node(lambda v: v[0], points=(np.array([0.3, 1.2]),))),
    Probe("x.T", lambda: _x().T, (X,), right_node(lambda v: v.T)),
    Probe("x.sum()", lambda: _x().sum(), (X,), right_node(np.sum)),
    Probe("x.mean()", lambda: _x().mean(), (X,), right_node(np.mean)),
    Probe("math.isfinite(x)", lambda: math.isfinite(_x()), (X,)),
    # exponents
    Probe("x ** 10**400", lambda: _x() ** 10 ** 400, (X,)),
    Probe("x ** -10**400", lambda: _x() ** -10 ** 400, (X,)),
    Probe("x ** '2'", lambda: _x() ** "2", (X,)),
    Probe("x ** [2]", lambda: _x() ** [2], (X,)),
    Probe("x ** None", lambda: _x() ** None, (X,)),
    Probe("x ** 1j", lambda: _x() ** 1j, (X,)),
    Probe("x ** np.array(3.0)", lambda: _x() ** np.array(3.0), (X,), right_node(lambda v: v ** 3)),
    Probe("x ** np.array([1, 2])", lambda: _x() ** np.array([1.0, 2.0]), (X,),
          right_node(lambda v: v ** np.array([1.0, 2.0]), points=(np.array([0.3, 1.2]),))),
    Probe("cg.power(x, 10**400)", lambda: cg.power(_x(), 10 ** 400), (X,)),
    Probe("x ** 1e308 at 2", lambda: cg.Graph(_x() ** 1e308).forward(**{X: 2.0}), (X,)),
    Probe("x ** (1/3) at -8", lambda: cg.Graph(_x() ** (1 / 3)).forward(**{X: -8.0}), (X,)),
    Probe("0 ** -1 (a Const)", lambda: cg.Graph(cg.Const(0.0) ** -1.0).forward(), ()),
    Probe("x / 0", lambda: cg.Graph(_x() / 0.0).forward(**{X: 1.0}), (X,)),
    Probe("0 / x at 0", lambda: cg.Graph(0.0 / _x()).forward(**{X: 0.0}), (X,)),
    # calling forward and the other methods
    Probe("g.forward(1.0)", lambda: _graph().forward(1.0), (f"{X}=",)),
    Probe("g.forward({'xin': 1.0})", lambda: _graph().forward({X: 1.0}), (f"{X}=",),
          right_value(math.sin(1.0))),
    Probe("g.forward(1.0, xin=1.0)", lambda: _graph().forward(1.0, **{X: 1.0}), (f"{X}",)),
    Probe("g.forward()", lambda: _graph().forward(), (f"{X}=",)),
    Probe("g.forward(XIN=1.0)", lambda: _graph().forward(XIN=1.0), ("XIN", X)),
    Probe("g.forward(x=..., unknown=...)", lambda: _graph().forward(**{X: 1.0, "yin": 2.0}),
          ("yin",)),
    Probe("g.forward(xin=Decimal)", lambda: _graph().forward(**{X: Decimal("0.5")}), (X,),
          right_value(math.sin(0.5))),
    Probe("g.forward(xin=Fraction)", lambda: _graph().forward(**{X: Fraction(1, 2)}), (X,),
          right_value(math.sin(0.5))),
    Probe("g.forward(xin=ragged list)", lambda: _graph(cg.sum).forward(**{X: [[1.0, 2.0], [3.0]]}),
          (X,)),
    Probe("g.forward(xin='0.5')", lambda: _graph().forward(**{X: "0.5"}), (X,)),
    Probe("g.forward(xin=np.float32(nan))", lambda: _graph().forward(**{X: np.float32("nan")}),
          (X,)),
    Probe("g.forward(xin=1e400 int)", lambda: _graph().forward(**{X: 10 ** 400}), (X,)),
    Probe("g.backward(1.0)", lambda: _forwarded().backward(1.0), ("backward",),
          not_says=("finite",)),
    Probe("g.backward(xin=1.0)", lambda: _forwarded().backward(**{X: 1.0}), ("forward",)),
    Probe("g.backward() before forward", lambda: _graph().backward(), ("forward",)),
    Probe("g.grad()", lambda: _backwarded().grad(), ("grad",)),
    Probe("g.grad('nope')", lambda: _backwarded().grad("nope"), ("nope",)),
    Probe("g.grad(node of another graph)", lambda: _backwarded().grad(cg.Input("other")),
          ("other",)),
    Probe("g.grad(1)", lambda: _backwarded().grad(1), ("1",)),
    Probe("g.grad(x) before backward", lambda: (lambda g: g.grad(X))(_forwarded()),
          ("backward",)),
    Probe("g.value(x) before forward", lambda: _graph().value(X), ("forward",)),
    Probe("g.descend()", lambda: _backwarded().descend(), ("lr",)),
    Probe("g.descend(None)", lambda: _backwarded().descend(None), ()),
    Probe("g.descend('0.1')", lambda: _backwarded().descend("0.1"), ()),
    Probe("g.descend(nan)", lambda: _backwarded().descend(float("nan")), ()),
    Probe("g.descend(0.1) before backward", lambda: _forwarded().descend(0.1), ("backward",)),
    Probe("g.forward_mode() without wrt", lambda: _graph().forward_mode(**{X: 1.0}), ("wrt",)),
    Probe("g.forward_mode(x) without inputs", lambda: (lambda g: g.forward_mode(X))(_graph()),
          (X,)),
    Probe("g.forward_mode('nope')", lambda: _graph().forward_mode("nope", **{X: 1.0}), ("nope",)),
    Probe("g.paths() without wrt", lambda: _forwarded().paths(), ("wrt",)),
    Probe("g.paths(x) before forward", lambda: _graph().paths(X), ("forward",)),
    Probe("g.paths(x) of an array graph",
          lambda: (lambda g: g.paths(X))(_forwarded(cg.sum, np.ones(2))), ()),
    Probe("g.count_paths('nope')", lambda: _graph().count_paths("nope"), ("nope",)),
    Probe("cg.Graph([out])", lambda: cg.Graph([cg.sin(_x())]), ()),
    Probe("cg.Graph(out, x)", lambda: (lambda x: cg.Graph(cg.sin(x), x))(_x()), ()),
    Probe("cg.Graph(None)", lambda: cg.Graph(None), ()),
    Probe("cg.Graph('f')", lambda: cg.Graph("f"), ()),
    # gradient checks
    Probe("cg.gradcheck(g, eps=0)", lambda: cg.gradcheck(_graph(), eps=0, **{X: 1.0}), ("eps",)),
    Probe("cg.gradcheck(g, eps=0.0)", lambda: cg.gradcheck(_graph(), eps=0.0, **{X: 1.0}),
          ("eps",)),
    Probe("cg.gradcheck(g, eps=nan)",
          lambda: cg.gradcheck(_graph(), eps=float("nan"), **{X: 1.0}), ("eps",)),
    Probe("cg.gradcheck(g, eps=inf)",
          lambda: cg.gradcheck(_graph(), eps=float("inf"), **{X: 1.0}), ("eps",)),
    Probe("cg.gradcheck(g, eps='1e-6')", lambda: cg.gradcheck(_graph(), eps="1e-6", **{X: 1.0}),
          ("eps",)),
    Probe("cg.gradcheck(g, eps=None)", lambda: cg.gradcheck(_graph(), eps=None, **{X: 1.0}),
          ("eps",)),
    Probe("cg.gradcheck(g, 1.0)", lambda: cg.gradcheck(_graph(), 1.0), (f"{X}=",)),
    Probe("cg.gradcheck(g) without inputs", lambda: cg.gradcheck(_graph()), (X,)),
    Probe("cg.numeric_grad(g, x, eps=0)",
          lambda: (lambda g: cg.numeric_grad(g, X, eps=0, **{X: 1.0}))(_graph()), ("eps",)),
    Probe("cg.numeric_grad(g) without wrt",
          lambda: cg.numeric_grad(_graph(), **{X: 1.0}), ("wrt",)),
    Probe("cg.gradcheck(array output)", lambda: cg.gradcheck(_graph(cg.sin), **{X: np.ones(2)}),
          ()),
    # constructors
    Probe("cg.Param(np.zeros(3))", lambda: cg.Param(np.zeros(3)), ("name",)),
    Probe("cg.Param('w')", lambda: cg.Param("w"), ("'w'", "value")),
    Probe("cg.Param(np.zeros(3), 'w')", lambda: cg.Param(np.zeros(3), "w"), ("name",)),
    Probe("cg.Param(123, 1.0)", lambda: cg.Param(123, 1.0), ("123",)),
    Probe("cg.Param(None, 1.0)", lambda: cg.Param(None, 1.0), ("name",)),
    Probe("cg.Param('', 1.0)", lambda: cg.Param("", 1.0), ("name",)),
    Probe("cg.Param('w', node)", lambda: cg.Param("w", _x()), ("'w'", X)),
    Probe("cg.Input(node)", lambda: cg.Input(_x()), ("name",)),
    Probe("cg.Const(node)", lambda: cg.Const(_x()), (X,)),
    Probe("param.value = wrong shape",
          lambda: setattr(cg.Param("w", np.zeros(3)), "value", np.zeros(4)), ("'w'",)),
    Probe("param.value = nan", lambda: setattr(cg.Param("w", 1.0), "value", float("nan")),
          ("'w'",)),
    Probe("cg.sum(x, axis=0)", lambda: cg.sum(_x(), axis=0), ("axis",),
          right_node(lambda v: np.sum(v, axis=0),
                     points=(np.array([[0.3, 1.2], [2.0, -1.0]]),))),
    Probe("cg.sin(x, 'name')", lambda: cg.sin(_x(), "s"), (),
          right_node(np.sin)),
    Probe("cg.sin(1.0)", lambda: cg.Graph(cg.sin(1.0)).forward(), (),
          right_value(math.sin(1.0))),
    Probe("cg.sin('x')", lambda: cg.sin("x"), ("'x'",)),
    Probe("cg.sin(x, y)", lambda: cg.sin(_x(), cg.Input("yin")), ()),
]


def _new_op_probe(label: str, forward, local, build_args: int = 1, deriv=None,
                  says=(), right=None, not_says=()) -> Probe:
    def run():
        kw = {} if deriv is None else {"deriv": deriv}
        op = cg.new_op(f"slip_{label}", forward, local, **kw)
        x = _x()
        node = op(*([x] * build_args), name=f"probe_{label}")
        g = cg.Graph(cg.sum(node))
        g.forward(**{X: np.array([0.5, 2.0])})
        g.backward()
        return g.grad(x)
    return Probe(f"new_op {label}", run, says, right, not_says)


PROBES += [
    # a local derivative returned as a bare number, not a tuple of one: the intent is clear
    _new_op_probe("bare_local", lambda v: v ** 3, lambda out, v: 3 * v ** 2,
                  says=("tuple",), right=right_value(3 * np.array([0.5, 2.0]) ** 2),
                  not_says=("finite",)),
    _new_op_probe("local_without_out", lambda v: v ** 3, lambda v: (3 * v ** 2,),
                  says=("local", "out"), not_says=("finite",)),
    _new_op_probe("too_few_derivatives", lambda a, b: a * b, lambda out, a, b: (b,),
                  build_args=2, says=("probe_too_few_derivatives",)),
    _new_op_probe("local_of_wrong_shape", lambda v: v ** 3,
                  lambda out, v: (np.ones(5),), says=("probe_local_of_wrong_shape",)),
    _new_op_probe("forward_raises", lambda v: 1 / float(np.sum(v) - 2.5),
                  lambda out, v: (np.ones_like(v),), says=("probe_forward_raises",)),
    _new_op_probe("forward_returns_text", lambda v: "a", lambda out, v: (1.0,),
                  says=("probe_forward_returns_text",)),
    _new_op_probe("local_nan", lambda v: np.sqrt(v), lambda out, v: (0.5 / np.sqrt(v - 1),),
                  says=("probe_local_nan",)),
    Probe("new_op(forward=3)", lambda: cg.new_op("slip_nc", 3, lambda out, v: (1.0,)),
          ("forward",)),
    Probe("new_op(name=3)", lambda: cg.new_op(3, lambda v: v, lambda out, v: (1.0,)),
          ("name",)),
    _new_op_probe("local_none", lambda v: v, None, says=("local",)),
]

# shapes that cannot be combined (the error tests check these messages in detail; here they are
# rows of the table, each a CompgraphError naming the node)
_W = np.ones((3, 2))
PROBES += [
    Probe("matmul (4,) @ (3, 2)",
          lambda: cg.Graph(cg.sum(cg.matmul(_x(), _W, name="mm"))).forward(**{X: np.ones(4)}),
          ("mm", X)),
    Probe("matmul (3, 2) @ (3,)",
          lambda: cg.Graph(cg.sum(cg.matmul(_W, _x(), name="mm"))).forward(**{X: np.ones(3)}),
          ("mm",)),
    Probe("matmul (2, 3) @ (2, 3)",
          lambda: cg.Graph(cg.sum(cg.matmul(_x(), np.ones((2, 3)), name="mm")))
          .forward(**{X: np.ones((2, 3))}), ("mm",)),
    Probe("matmul scalar @ matrix",
          lambda: cg.Graph(cg.sum(cg.matmul(_x(), _W, name="mm"))).forward(**{X: 2.0}), ("mm",)),
    Probe("matmul of 3-d",
          lambda: cg.Graph(cg.sum(cg.matmul(_x(), _W, name="mm")))
          .forward(**{X: np.ones((2, 2, 3))}), ("mm",)),
    Probe("bce (4, 1) vs (4,)",
          lambda: cg.Graph(cg.binary_cross_entropy(cg.sigmoid(_x()), np.ones(4), name="L"))
          .forward(**{X: np.zeros((4, 1))}), ("L",)),
    Probe("squared_error (4, 1) vs (4,)",
          lambda: cg.Graph(cg.squared_error(_x(), np.ones(4), name="L"))
          .forward(**{X: np.zeros((4, 1))}), ("L",)),
    Probe("add (4,) + (3,)",
          lambda: cg.Graph(cg.sum(cg.add(_x(), np.ones(3), name="s")))
          .forward(**{X: np.ones(4)}), ("s",)),
    Probe("append_one of a scalar",
          lambda: cg.Graph(cg.sum(cg.append_one(_x(), name="cat1")))
          .forward(**{X: 1.0}), ("cat1",)),
    Probe("backward of an array output",
          lambda: (lambda g: g.backward())(_forwarded(cg.exp, np.ones(3))), ("sum",)),
    Probe("forward_mode of an array leaf without index",
          lambda: _graph(cg.sum).forward_mode(X, **{X: np.ones(3)}), (X, "index")),
    Probe("a Param of another shape fed by broadcasting",
          lambda: cg.Graph(cg.sum(cg.matmul(_x(), cg.Param("Wp", np.ones((2, 2))), name="mm")))
          .forward(**{X: np.ones(3)}), ("mm", "Wp")),
]

#: fragments a raw message would carry: none may surface
RAW_WORDS = ("math domain error", "object has no attribute", "unsupported operand")


@pytest.mark.parametrize("probe", PROBES, ids=[p.id for p in PROBES])
def test_a_slip(probe: Probe):
    try:
        result = probe.run()
    except cg.CompgraphError as error:
        _message_names(error, *probe.says)
        message = str(error)
        for word in (*probe.not_says, *RAW_WORDS):
            assert word not in message, f"the message should not say {word!r}: {message}"
        return
    except Exception as error:  # noqa: BLE001 - the point: no raw exception may surface
        pytest.fail(f"raw {type(error).__name__}: {error}")
    if probe.right is None:
        pytest.fail(f"should raise a CompgraphError (the intent is unclear), returned "
                    f"{result!r:.100}")
    probe.right(result)


# ================================================================================================
# 3. Where a local derivative is infinite: paths, render, trace and the widgets
# ================================================================================================

#: (label, build the output from x, the point): the value exists, a local derivative does not
INFINITE_LOCAL = [
    ("x ** 0.5 at 0", lambda x: cg.power(x, 0.5, name="probe"), 0.0),
    ("x ** 0.5 at -0.0", lambda x: cg.power(x, 0.5, name="probe"), -0.0),
    ("x ** 0.25 at 0 under sin", lambda x: cg.sin(cg.power(x, 0.25, name="probe")), 0.0),
    ("log(x) at 1e-320", lambda x: cg.log(x, name="probe"), 1e-320),
    ("1 / x at 1e-200", lambda x: cg.div(1.0, x, name="probe"), 1e-200),
    ("x ** -0.5 at 1e-320", lambda x: cg.power(x, -0.5, name="probe"), 1e-320),
    ("x ** 1.5 · 0 at 0 (fine)", lambda x: cg.power(x, 1.5, name="probe") * 2.0, 0.0),
]
SURFACES = ["paths", "render", "trace", "forward_mode", "forward_mode_trace", "Stepper",
            "PathExplorer"]
SURFACE_PROBES = [(label, build, at, surface) for label, build, at in INFINITE_LOCAL
                  for surface in SURFACES]


@pytest.mark.parametrize("label, build, at, surface", SURFACE_PROBES,
                         ids=[f"{s[3]}-{s[0]}" for s in SURFACE_PROBES])
def test_where_a_local_derivative_is_infinite(label, build, at, surface):
    x = _x()
    g = cg.Graph(build(x))
    g.forward(**{X: at})  # the value itself is finite
    calls = {
        "paths": lambda: g.paths(x),
        "render": lambda: cg.render(g).source,
        "trace": lambda: g.trace(**{X: at}),
        "forward_mode_trace": lambda: g.forward_mode_trace(x, **{X: at}),
        "Stepper": lambda: cg.Stepper(g, **{X: at}),
        "PathExplorer": lambda: cg.PathExplorer(g, x, **{X: at}),
        "forward_mode": lambda: g.forward_mode(x, **{X: at})[g.output],
    }
    try:
        result = calls[surface]()
    except cg.CompgraphError as error:
        _message_names(error, "probe")
        assert "math domain error" not in str(error)
        return
    except Exception as error:  # noqa: BLE001
        pytest.fail(f"raw {type(error).__name__}: {error}")
    if surface == "paths":
        for path in result:
            assert all(math.isfinite(f) for f in path.factors) and math.isfinite(path.product), \
                f"a path with a non-finite factor: {path}"
    elif surface == "forward_mode":
        assert math.isfinite(result), f"tangent {result}"
    elif surface in ("trace", "forward_mode_trace"):
        for step in result:
            for attr in ("value", "upstream", "total", "local", "product", "tangent"):
                v = getattr(step, attr, None)
                if v is not None and not isinstance(v, str):
                    assert np.all(np.isfinite(v)), f"{step.text}: {attr} = {v}"
    elif surface == "render":
        for bad in ("-inf", "nan"):
            assert f">{bad}" not in result and f" {bad}" not in result, \
                f"the picture shows {bad}"


def test_the_tables_hold_at_least_100_probes():
    total = len(OP_PROBES) + len(BINARY_PROBES) + len(PROBES) + len(SURFACE_PROBES)
    assert total >= 100
    assert len(PROBES) >= 100  # the hand-written slips alone
