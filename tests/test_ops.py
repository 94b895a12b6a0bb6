"""Every op of the op table against numpy (values) and central differences (gradients), on
random scalars and random arrays, with domains kept away from kinks and overflow.

Forward mode is checked against backward for the same graphs, so each op's jvp and vjp agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from helpers import (
    arrays_of,
    assert_forward_mode_agrees,
    assert_matches_numeric,
    away_from_zero,
    floats,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import compgraph as cg

ANY = floats(-3.0, 3.0)


@dataclass(frozen=True)
class Case:
    build: Callable[..., cg.Node]          # the op applied to input nodes
    reference: Callable[..., object]        # the same function in plain numpy
    domains: tuple[st.SearchStrategy[float], ...]
    same_shape: bool = False                # the losses do not broadcast


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _bce(p, t):
    return np.mean(-t * np.log(p) - (1.0 - t) * np.log(1.0 - p))


CASES: dict[str, Case] = {
    "add": Case(lambda a, b: a + b, np.add, (ANY, ANY)),
    "sub": Case(lambda a, b: a - b, np.subtract, (ANY, ANY)),
    "mul": Case(lambda a, b: a * b, np.multiply, (ANY, ANY)),
    "div": Case(lambda a, b: a / b, np.divide, (ANY, away_from_zero(0.2, 5.0))),
    "neg": Case(lambda a: -a, np.negative, (ANY,)),
    "pow": Case(lambda a: a ** 1.5, lambda a: np.power(a, 1.5), (floats(0.1, 5.0),)),
    "square": Case(cg.square, np.square, (ANY,)),
    "exp": Case(cg.exp, np.exp, (floats(-4.0, 4.0),)),
    "log": Case(cg.log, np.log, (floats(0.05, 20.0),)),
    "sin": Case(cg.sin, np.sin, (floats(-4.0, 4.0),)),
    "cos": Case(cg.cos, np.cos, (floats(-4.0, 4.0),)),
    "tanh": Case(cg.tanh, np.tanh, (ANY,)),
    "sigmoid": Case(cg.sigmoid, _sigmoid, (floats(-8.0, 8.0),)),
    "relu": Case(cg.relu, lambda a: np.maximum(a, 0.0), (away_from_zero(0.01, 5.0),)),
    "copy": Case(cg.copy, lambda a: a, (ANY,)),
    "sum": Case(cg.sum, np.sum, (ANY,)),
    "mean": Case(cg.mean, np.mean, (ANY,)),
    "bce": Case(cg.binary_cross_entropy, _bce, (floats(0.05, 0.95), floats(0.0, 1.0)),
                same_shape=True),
    "sqerr": Case(cg.squared_error, lambda p, t: 0.5 * np.sum((p - t) ** 2), (ANY, ANY),
                  same_shape=True),
}
STRUCTURAL = ["matmul", "append_one"]  # tested below with shapes of their own
# The table as the package defines it (not the ops that nn or other tests add with new_op)
BUILTIN_OPS = sorted(cg.ops.BUILTIN)


@pytest.mark.parametrize("name", BUILTIN_OPS)
def test_every_op_in_the_table_is_tested(name):
    assert name in CASES or name in STRUCTURAL, f"op {name!r} has no test case"


def _graph_of(case: Case, values: list) -> tuple[cg.Graph, cg.Node, dict]:
    """The op applied to Inputs x0, x1, ...; the output is the op itself if it gives a number,
    else Σ(op · R) with fixed nonzero weights R, so every element's gradient is distinct."""
    xs = [cg.Input(f"x{i}") for i in range(len(values))]
    node = case.build(*xs)
    inputs = {f"x{i}": v for i, v in enumerate(values)}
    shape = np.broadcast_shapes(*(np.shape(v) for v in values))
    reduces = node.op.reduces
    if reduces or shape == ():
        return cg.Graph(node), node, inputs
    weights = np.linspace(0.5, 2.0, math.prod(shape)).reshape(shape)
    weights[::2] *= -1.0
    return cg.Graph(cg.sum(node * weights)), node, inputs


def _check_case(name: str, values: list) -> None:
    case = CASES[name]
    graph, node, inputs = _graph_of(case, values)
    assert node.op is cg.OPS[name]  # the builder reaches the op under test
    graph.forward(**inputs)
    expected = case.reference(*values)
    assert np.shape(node.value) == np.shape(expected)
    np.testing.assert_allclose(node.value, expected, rtol=1e-12, atol=1e-14)
    assert_matches_numeric(graph, **inputs)
    assert_forward_mode_agrees(graph, **inputs)


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=25)
@given(data=st.data())
def test_op_on_scalars(name, data):
    case = CASES[name]
    values = [data.draw(d, label=f"x{i}") for i, d in enumerate(case.domains)]
    _check_case(name, values)
    graph, node, inputs = _graph_of(case, values)
    assert type(graph.forward(**inputs)) is float  # scalars stay Python floats


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=25)
@given(data=st.data())
def test_op_on_arrays(name, data):
    case = CASES[name]
    if case.same_shape:
        shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=4), label="shape")
        shapes = [shape] * len(case.domains)
    elif len(case.domains) == 1:
        shapes = [data.draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=4),
                            label="shape")]
    else:  # binary elementwise ops broadcast: (3,) with (2, 3), (2, 1) with (1, 3), () ...
        shapes = list(data.draw(hnp.mutually_broadcastable_shapes(
            num_shapes=2, min_dims=0, max_dims=2, max_side=3), label="shapes").input_shapes)
    values = [data.draw(arrays_of(d, s), label=f"x{i}")
              for i, (d, s) in enumerate(zip(case.domains, shapes))]
    _check_case(name, values)


@pytest.mark.parametrize("p", [3.0, 0.5, -1.0, 1.5, -0.5, 2.5, 1.0])
@settings(max_examples=15)
@given(data=st.data())
def test_pow_with_number_exponents(p, data):
    shape = data.draw(st.sampled_from([(), (3,), (2, 2)]), label="shape")
    base = data.draw(arrays_of(floats(0.2, 5.0), shape), label="base")
    x = cg.Input("x")
    node = x ** p
    assert node.op.name == "pow" and node.attrs == {"p": p}
    graph = cg.Graph(cg.sum(node))
    graph.forward(x=base)
    np.testing.assert_allclose(node.value, np.power(base, p), rtol=1e-12)
    graph.backward()
    np.testing.assert_allclose(graph.grad(x), p * np.power(base, p - 1.0), rtol=1e-12)
    assert_matches_numeric(graph, x=base)
    assert_forward_mode_agrees(graph, x=base)


def test_x_to_the_2_is_the_square_op():
    x = cg.Input("x")
    assert (x ** 2).op.name == "square"
    assert (x ** 2.0).op.name == "square"
    assert cg.power(x, 2).op.name == "square"
    assert cg.power(x, 3, name="cube").name == "cube"


# --- matmul and append_one ---------------------------------------------------------------------

MATMUL_FORMS = {
    "vector @ vector": lambda m, k, n: ((k,), (k,)),
    "vector @ matrix": lambda m, k, n: ((k,), (k, n)),
    "matrix @ vector": lambda m, k, n: ((m, k), (k,)),
    "matrix @ matrix": lambda m, k, n: ((m, k), (k, n)),
}


@pytest.mark.parametrize("form", sorted(MATMUL_FORMS))
@settings(max_examples=20)
@given(data=st.data())
def test_matmul(form, data):
    m, k, n = (data.draw(st.integers(1, 4), label=s) for s in "mkn")
    shape_a, shape_b = MATMUL_FORMS[form](m, k, n)
    a = data.draw(arrays_of(ANY, shape_a), label="a")
    b = data.draw(arrays_of(ANY, shape_b), label="b")
    A, B = cg.Input("A"), cg.Param("B", b)
    node = A @ B
    assert node.op is cg.OPS["matmul"]
    expected = a @ b
    if np.ndim(expected) == 0:
        graph = cg.Graph(node)
    else:
        weights = np.arange(1.0, expected.size + 1.0).reshape(expected.shape)
        graph = cg.Graph(cg.sum(node * weights))
    graph.forward(A=a)
    assert np.shape(node.value) == np.shape(expected)
    np.testing.assert_allclose(node.value, expected, rtol=1e-12, atol=1e-14)
    assert_matches_numeric(graph, A=a)
    assert_forward_mode_agrees(graph, A=a)
    assert_forward_mode_agrees(graph, index_of=lambda leaf: (0,) * leaf.value.ndim, A=a)


def test_matmul_with_a_numpy_array_on_the_left_builds_a_node():
    x = cg.Input("x")
    W = np.arange(6.0).reshape(2, 3)
    node = W @ x
    assert isinstance(node, cg.Node) and node.op.name == "matmul"
    graph = cg.Graph(cg.sum(node))
    v = np.array([1.0, -2.0, 0.5])
    graph.forward(x=v)
    np.testing.assert_allclose(node.value, W @ v)
    graph.backward()
    np.testing.assert_allclose(graph.grad(x), W.sum(axis=0))


@pytest.mark.parametrize("shape", [(1,), (3,), (2, 3), (4, 1), (1, 2)])
@settings(max_examples=15)
@given(data=st.data())
def test_append_one(shape, data):
    x = cg.Input("x")
    value = data.draw(arrays_of(ANY, shape), label="x")
    node = cg.append_one(x)
    assert node.op is cg.OPS["append_one"]
    out_shape = shape[:-1] + (shape[-1] + 1,)
    weights = np.arange(1.0, math.prod(out_shape) + 1.0).reshape(out_shape)
    graph = cg.Graph(cg.sum(node * weights))
    graph.forward(x=value)
    expected = np.concatenate([value, np.ones(shape[:-1] + (1,))], axis=-1)
    np.testing.assert_array_equal(node.value, expected)
    graph.backward()
    np.testing.assert_array_equal(graph.grad(x), weights[..., :-1])  # the bias column drops
    assert_matches_numeric(graph, x=value)
    assert_forward_mode_agrees(graph, x=value)


# --- the operators written with numbers, either side ---------------------------------------

# (expression, value as a function of v, derivative as a function of v, op name)
OPERATORS = {
    "1.0 - x": (lambda x: 1.0 - x, lambda v: 1.0 - v, lambda v: -1.0, "sub"),
    "x - 1": (lambda x: x - 1, lambda v: v - 1.0, lambda v: 1.0, "sub"),
    "2 + x": (lambda x: 2 + x, lambda v: 2.0 + v, lambda v: 1.0, "add"),
    "x + 2": (lambda x: x + 2, lambda v: v + 2.0, lambda v: 1.0, "add"),
    "2 * x": (lambda x: 2 * x, lambda v: 2.0 * v, lambda v: 2.0, "mul"),
    "x * 2": (lambda x: x * 2, lambda v: 2.0 * v, lambda v: 2.0, "mul"),
    "2 / x": (lambda x: 2 / x, lambda v: 2.0 / v, lambda v: -2.0 / v ** 2, "div"),
    "x / 4": (lambda x: x / 4, lambda v: v / 4.0, lambda v: 0.25, "div"),
    "-x": (lambda x: -x, lambda v: -v, lambda v: -1.0, "neg"),
    "x ** 3.0": (lambda x: x ** 3.0, lambda v: v ** 3, lambda v: 3.0 * v ** 2, "pow"),
    "x ** 0.5": (lambda x: x ** 0.5, math.sqrt, lambda v: 0.5 / math.sqrt(v), "pow"),
    "x ** -1": (lambda x: x ** -1, lambda v: 1.0 / v, lambda v: -1.0 / v ** 2, "pow"),
    "x ** 2": (lambda x: x ** 2, lambda v: v * v, lambda v: 2.0 * v, "square"),
    "np.float64(2) * x": (lambda x: np.float64(2.0) * x, lambda v: 2.0 * v, lambda v: 2.0,
                          "mul"),
    "np.float64(1) - x": (lambda x: np.float64(1.0) - x, lambda v: 1.0 - v, lambda v: -1.0,
                          "sub"),
}


@pytest.mark.parametrize("expr", sorted(OPERATORS))
@settings(max_examples=10)
@given(v=floats(0.2, 5.0))
def test_operators_with_numbers(expr, v):
    build, value, derivative, op_name = OPERATORS[expr]
    x = cg.Input("x")
    node = build(x)
    assert isinstance(node, cg.Node) and node.op.name == op_name
    graph = cg.Graph(node)
    assert graph.forward(x=v) == pytest.approx(value(v), rel=1e-12)
    graph.backward()
    assert graph.grad(x) == pytest.approx(derivative(v), rel=1e-12)
    assert_matches_numeric(graph, x=v)


def test_numpy_array_times_node_is_a_node_not_an_object_array():
    x = cg.Input("x")
    weights = np.array([1.0, 2.0, 3.0])
    node = weights * x
    assert isinstance(node, cg.Node)
    graph = cg.Graph(cg.sum(node))
    assert graph.forward(x=2.0) == pytest.approx(12.0)
    graph.backward()
    assert graph.grad(x) == pytest.approx(6.0)


def test_a_number_to_the_power_of_a_node_is_not_supported():
    x = cg.Input("x")
    with pytest.raises(cg.CompgraphError, match=r"cg\.exp\(x \* math\.log\(base\)\)"):
        2 ** x
    with pytest.raises(cg.InputTypeError, match=r"\*\* p takes a number p"):
        x ** x
    with pytest.raises(cg.InputTypeError, match="exponent"):
        x ** "2"


def test_ops_named_explicitly_keep_their_names():
    x, y = cg.Input("x"), cg.Input("y")
    builders = {"add": cg.add, "sub": cg.sub, "mul": cg.mul, "div": cg.div,
                "binary_cross_entropy": cg.binary_cross_entropy,
                "squared_error": cg.squared_error, "matmul": cg.matmul}
    for label, build in builders.items():
        assert build(x, y, name=label).name == label
    for build in (cg.exp, cg.log, cg.sin, cg.cos, cg.tanh, cg.sigmoid, cg.relu, cg.square,
                  cg.sum, cg.mean, cg.append_one):
        assert build(x, name="n").name == "n"
