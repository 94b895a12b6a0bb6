"""Every bad input raises the documented error class with a message that names the node or
input, the op, and the offending value or shapes; saturated sigmoids and cross-entropy stay
finite without numpy warnings."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import compgraph as cg


def test_the_error_classes():
    for cls in (cg.InputError, cg.InputTypeError, cg.ShapeError, cg.DomainError, cg.OrderError):
        assert issubclass(cls, cg.CompgraphError)
    for cls in (cg.InputError, cg.ShapeError, cg.DomainError):
        assert issubclass(cls, ValueError)
    assert issubclass(cg.InputTypeError, TypeError)
    assert issubclass(cg.OrderError, RuntimeError)


def raises(cls, *fragments):
    """pytest.raises(cls) that also checks each fragment appears (literally) in the message."""
    return pytest.raises(cls, match="(?s)" + "".join(f"(?=.*{re.escape(f)})" for f in fragments))


@pytest.fixture
def log_graph():
    x = cg.Input("x")
    w = cg.Param("w", 2.0)
    return cg.Graph(cg.log(x * w, name="f"))


# --- inputs ------------------------------------------------------------------------------------

def test_missing_input(log_graph):
    with raises(cg.InputError, "missing input", "'x'"):
        log_graph.forward()


def test_unknown_input(log_graph):
    with raises(cg.InputError, "unknown input", "'z'", "inputs: x"):
        log_graph.forward(x=1.0, z=2.0)


def test_a_param_passed_as_input_gets_a_hint(log_graph):
    with raises(cg.InputError, "unknown input 'w'", "Param", ".value"):
        log_graph.forward(x=1.0, w=3.0)


@pytest.mark.parametrize("bad", ["abc", "1.5", object(), None, [1.0, "a"], [1.0, None],
                                 True, 2 + 1j, np.array([1 + 1j])])
def test_non_numeric_input(log_graph, bad):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning on the way to the error either
        with raises(cg.InputTypeError, "input 'x'", repr(bad)[:20]):
            log_graph.forward(x=bad)


def test_a_node_as_input_value(log_graph):
    with raises(cg.InputTypeError, "input 'x'", "graph node", "'y'"):
        log_graph.forward(x=cg.Input("y"))


@pytest.mark.parametrize("bad, shown", [(float("nan"), "nan"), (float("inf"), "inf"),
                                        (-np.inf, "-inf")])
def test_nan_and_infinite_scalar_input(log_graph, bad, shown):
    with raises(cg.InputError, "input 'x'", "finite", shown):
        log_graph.forward(x=bad)


def test_nan_and_infinite_inside_an_array():
    x = cg.Input("x")
    graph = cg.Graph(cg.sum(x))
    with raises(cg.InputError, "input 'x'", "finite", "nan", "shape (3,)"):
        graph.forward(x=np.array([1.0, np.nan, 2.0]))
    with raises(cg.InputError, "input 'x'", "inf", "shape (2, 2)"):
        graph.forward(x=[[1.0, 2.0], [np.inf, 0.0]])


def test_bad_param_and_const_values():
    with raises(cg.InputTypeError, "Param 'p'", "'abc'"):
        cg.Param("p", "abc")
    with raises(cg.InputError, "Param 'p'", "nan"):
        cg.Param("p", np.nan)
    with raises(cg.InputTypeError, "Const", "None"):
        cg.Const(None)


def test_param_reassigned_with_another_shape():
    theta = cg.Param("θ1", np.zeros((3, 2)))
    with raises(cg.ShapeError, "Param 'θ1'", "(2, 3)", "(3, 2)"):
        theta.value = np.zeros((2, 3))
    np.testing.assert_array_equal(theta.value, np.zeros((3, 2)))  # unchanged
    theta.value = np.ones((3, 2))  # the same shape is fine
    with raises(cg.ShapeError, "Param 'θ1'", "()"):
        theta.value = 1.0


def test_duplicate_node_names():
    x = cg.Input("x")
    with raises(cg.CompgraphError, "two nodes are named 'x'", "unique"):
        cg.Graph(x + cg.Input("x"))
    with raises(cg.CompgraphError, "'h'"):
        cg.Graph(cg.sin(cg.exp(x, name="h"), name="h"))


def test_bad_names_and_graph_arguments():
    with raises(cg.InputTypeError, "Input", "name"):
        cg.Input("")
    with raises(cg.InputTypeError, "Graph needs a node", "int"):
        cg.Graph(3)
    with raises(cg.CompgraphError, "no node 'zzz'", "nodes: x"):
        cg.Graph(cg.sin(cg.Input("x"))).node("zzz")


# --- shapes ------------------------------------------------------------------------------------

def test_a_4_vector_into_a_3_by_2_matmul():
    x = cg.Input("x")
    W = cg.Param("W", np.ones((3, 2)))
    graph = cg.Graph(cg.sum(cg.matmul(x, W, name="xW")))
    with raises(cg.ShapeError, "matmul", "'xW'", "(4,)", "(3, 2)", "'x'", "'W'"):
        graph.forward(x=np.ones(4))


def test_matmul_of_a_scalar_or_a_3d_array():
    x = cg.Input("x")
    graph = cg.Graph(cg.sum(cg.matmul(x, np.ones(2), name="m")))
    with raises(cg.ShapeError, "matmul", "'m'", "()"):
        graph.forward(x=1.0)
    with raises(cg.ShapeError, "matmul", "'m'", "(2, 2, 2)"):
        graph.forward(x=np.ones((2, 2, 2)))


def test_elementwise_broadcast_mismatch():
    x, y = cg.Input("x"), cg.Input("y")
    graph = cg.Graph(cg.sum(cg.add(x, y, name="s")))
    with raises(cg.ShapeError, "add", "'s'", "(4,)", "(3,)"):
        graph.forward(x=np.ones(4), y=np.ones(3))


@pytest.mark.parametrize("loss, label", [(cg.binary_cross_entropy, "binary_cross_entropy"),
                                         (cg.squared_error, "squared_error")])
def test_loss_with_mismatched_prediction_and_target(loss, label):
    p, t = cg.Input("p"), cg.Input("t")
    graph = cg.Graph(loss(p, t, name="L"))
    with raises(cg.ShapeError, label, "'L'", "(4, 1)", "(4,)"):
        graph.forward(p=np.full((4, 1), 0.5), t=np.ones(4))


def test_append_one_of_a_scalar():
    x = cg.Input("x")
    graph = cg.Graph(cg.sum(cg.append_one(x, name="L1")))
    with raises(cg.ShapeError, "append_one", "'L1'", "scalar"):
        graph.forward(x=2.0)


def test_backward_of_a_non_scalar_output():
    x = cg.Input("x")
    graph = cg.Graph(cg.exp(x, name="v"))
    graph.forward(x=np.ones(3))
    with raises(cg.ShapeError, "scalar output", "'v'", "(3,)", "sum or mean"):
        graph.backward()


def test_forward_mode_of_an_array_leaf_needs_an_index():
    x = cg.Input("x")
    graph = cg.Graph(cg.sum(x))
    with raises(cg.ShapeError, "'x'", "(3,)", "index"):
        graph.forward_mode(x, x=np.ones(3))
    with raises(cg.CompgraphError, "'sum1'", "not an Input or a Param"):
        graph.forward_mode("sum1", x=np.ones(3))


# --- domains -----------------------------------------------------------------------------------

@pytest.mark.parametrize("bad, shown", [(-1.0, "-2.0"), (0.0, "0.0"),
                                        (np.array([1.0, -3.0]), "-6.0")])
def test_log_of_a_non_positive_value(log_graph, bad, shown):
    with raises(cg.DomainError, "log", "'f'", "positive", shown, "'mul1'"):
        log_graph.forward(x=bad)


def test_division_by_zero():
    x, y = cg.Input("x"), cg.Input("y")
    graph = cg.Graph(cg.div(x, y, name="q"))
    with raises(cg.DomainError, "div", "'q'", "division by zero", "'y' = 0"):
        graph.forward(x=1.0, y=0.0)
    with raises(cg.DomainError, "div", "'q'", "1 zero element", "'y' of shape (3,)"):
        graph.forward(x=1.0, y=np.array([1.0, 0.0, 2.0]))


def test_exp_overflow():
    x = cg.Input("x")
    graph = cg.Graph(cg.sum(cg.exp(x, name="ex")))
    with raises(cg.DomainError, "exp", "'ex'", "overflow", "800.0"):
        graph.forward(x=800.0)
    with raises(cg.DomainError, "exp", "'ex'", "overflow", "750.0", "'x' of shape (2,)"):
        graph.forward(x=np.array([1.0, 750.0]))
    assert graph.forward(x=709.0) == pytest.approx(np.exp(709.0))  # the largest that fits


@pytest.mark.parametrize("p, x, fragment", [(0.5, -1.0, "not real"), (-1.0, 0.0, "division"),
                                            (1.5, -2.0, "-2.0")])
def test_power_outside_its_domain(p, x, fragment):
    v = cg.Input("v")
    graph = cg.Graph(cg.power(v, p, name="pw"))
    with raises(cg.DomainError, "pow", "'pw'", fragment):
        graph.forward(v=x)


def test_a_root_at_zero_has_a_value_but_no_derivative():
    v = cg.Input("v")
    graph = cg.Graph(cg.power(v, 0.5, name="pw"))
    assert graph.forward(v=0.0) == 0.0
    with raises(cg.DomainError, "backward", "edge 'pw' → 'v'", "local derivative",
                "not finite", "'v' = 0"):
        graph.backward()


def test_integer_powers_of_negative_numbers_are_fine():
    v = cg.Input("v")
    graph = cg.Graph(v ** 3.0)
    assert graph.forward(v=-2.0) == -8.0
    graph.backward()
    assert graph.grad(v) == 12.0


# --- order -------------------------------------------------------------------------------------

def test_backward_before_forward():
    x = cg.Input("x")
    graph = cg.Graph(cg.mul(x, 2, name="y"))
    with raises(cg.OrderError, "backward()", "'y'", "forward"):
        graph.backward()
    with raises(cg.OrderError, "grad('x')", "backward()"):
        graph.grad(x)
    with raises(cg.OrderError, "paths()", "forward"):
        graph.paths(x)


def test_a_failed_forward_leaves_no_stale_gradients():
    x = cg.Input("x")
    graph = cg.Graph(cg.log(x, name="f"))
    graph.forward(x=1.0)
    graph.backward()
    with pytest.raises(cg.DomainError):
        graph.forward(x=-1.0)
    with raises(cg.OrderError, "backward()"):
        graph.backward()


def test_every_error_is_caught_as_compgraph_error(log_graph):
    for call in (lambda: log_graph.forward(), lambda: log_graph.forward(x="a"),
                 lambda: log_graph.forward(x=-1.0), lambda: cg.Graph(cg.Input("q")).backward()):
        with pytest.raises(cg.CompgraphError):
            call()


# --- saturation without warnings ---------------------------------------------------------------

@pytest.mark.parametrize("z", [1e4, -1e4, 800.0, -800.0, 40.0, -40.0])
def test_sigmoid_and_bce_of_large_logits_are_finite_without_warnings(z):
    zin, t = cg.Input("z"), cg.Input("t")
    p = cg.sigmoid(zin, name="p")
    graph = cg.Graph(cg.binary_cross_entropy(p, t))
    for target in (0.0, 1.0):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loss = graph.forward(z=z, t=target)
            graph.backward()
            assert 0.0 <= p.value <= 1.0
            assert np.isfinite(loss) and np.isfinite(graph.grad(zin))
            assert np.isfinite(graph.grad(t))
        # right answers are nearly free, wrong ones cost at most −log(1e−12) ≈ 27.6
        right = (z > 0) == (target == 1.0)
        assert loss < 1e-11 if right else 27.0 < loss < 27.7


def test_sigmoid_and_bce_on_arrays_of_large_logits_without_warnings():
    zin, t = cg.Input("z"), cg.Input("t")
    p = cg.sigmoid(zin)
    graph = cg.Graph(cg.binary_cross_entropy(p, t))
    z = np.array([[1e4], [-1e4], [0.0], [-745.0], [710.0]])
    target = np.array([[1.0], [1.0], [0.0], [0.0], [0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = graph.forward(z=z, t=target)
        graph.backward()
        np.testing.assert_array_equal(p.value[:2, 0], [1.0, 0.0])
        assert np.isfinite(loss)
        assert np.all(np.isfinite(graph.grad(zin))) and np.all(np.isfinite(graph.grad(t)))
        # where nothing saturates, ∂BCE/∂z = (σ(z) − t)/N: the σ(1−σ) factors cancel
        assert graph.grad(zin)[2, 0] == pytest.approx(0.5 / 5)
