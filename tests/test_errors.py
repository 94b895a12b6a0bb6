"""Every bad input raises the documented error class with a message that names the node or
input, the op, and the offending value or shapes; saturated sigmoids and cross-entropy stay
finite without numpy warnings."""

from __future__ import annotations

import contextlib
import math
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


# --- every op's result is checked: overflow, NaN, raw exceptions ------------------------------

@contextlib.contextmanager
def _no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning would fail the test
        yield


@pytest.mark.parametrize("build, value, fragments", [
    (lambda x: cg.square(x, name="sq"), 1e200, ("square", "'sq'", "inf", "'x' = 1e+200")),
    (lambda x: cg.sub(cg.square(x), cg.square(x), name="d"), 1e200, ("square", "inf")),
    (lambda x: cg.div(1.0, x, name="q"), 5e-324, ("div", "'q'", "inf", "4.941e-324")),
    (lambda x: cg.mul(cg.exp(x), cg.exp(x), name="m"), 400.0, ("mul", "'m'", "inf")),
    (lambda x: cg.power(x, 3, name="p3"), 1e200, ("pow", "'p3'", "overflow")),
    (lambda x: cg.power(x, 2000, name="p2000"), 2.0, ("pow", "'p2000'", "overflow", "'x' = 2")),
    (lambda x: cg.square(x, name="sq"), np.array([1.0, 1e200]),
     ("square", "'sq'", "overflow", "'x' of shape (2,)")),
    (lambda x: cg.mul(x, x, name="m"), np.array([[1e300], [2.0]]), ("mul", "'m'", "overflow")),
])
def test_a_non_finite_forward_result_names_node_op_and_inputs(build, value, fragments):
    x = cg.Input("x")
    graph = cg.Graph(cg.sum(cg.sin(build(x))))  # the inf never reaches sin
    with _no_warnings(), raises(cg.DomainError, "not a finite number", *fragments):
        graph.forward(x=value)
    assert not graph.forwarded


def test_a_non_finite_gradient_names_the_edge():
    x = cg.Input("x")
    graph = cg.Graph(cg.power(x, -1, name="inv"))
    assert graph.forward(x=1e-200) == pytest.approx(1e200)  # the value is fine
    with _no_warnings(), raises(cg.DomainError, "backward", "edge 'inv' → 'x'",
                                "local derivative", "not finite", "'x' = 1e-200"):
        graph.backward()
    on_arrays = cg.Graph(cg.sum(cg.power(x, -1, name="inv_all")))
    on_arrays.forward(x=np.array([1e-200, 1.0]))
    with _no_warnings(), raises(cg.DomainError, "edge 'inv_all' → 'x'", "shape (2,)", "inf"):
        on_arrays.backward()


def test_an_overflowing_product_of_upstream_and_local_derivative_names_the_edge():
    x = cg.Input("x")
    a = cg.mul(x, 1e200, name="a")
    graph = cg.Graph(cg.mul(cg.sin(a, name="s"), 1e200, name="out"))
    assert np.isfinite(graph.forward(x=1.0))
    with _no_warnings(), raises(cg.DomainError, "edge 'a' → 'x'", "overflows"):
        graph.backward()
    with raises(cg.OrderError, "grad('x')", "backward"):
        graph.grad(x)  # no half-done gradients are kept


def test_a_large_matrix_product_that_overflows_is_caught_whatever_the_threads():
    # large enough that a threaded BLAS could compute the overflowing part on another thread
    A, B = cg.Input("A"), cg.Param("B", np.full((300, 400), 1e200))
    graph = cg.Graph(cg.sum(cg.matmul(A, B, name="AB")))
    a = np.ones((800, 300))
    a[-1] = 1e200
    with _no_warnings(), raises(cg.DomainError, "matmul", "'AB'", "overflow"):
        graph.forward(A=a)


def test_x_to_the_power_0_has_derivative_0_also_at_0():
    x = cg.Input("x")
    graph = cg.Graph(x ** 0)
    assert graph.forward(x=0.0) == 1.0
    graph.backward()
    assert graph.grad(x) == 0.0
    relu_graph = cg.Graph(cg.sum(cg.relu(x) ** 0))
    relu_graph.forward(x=np.array([-1.0, 0.0, 2.0]))
    relu_graph.backward()
    np.testing.assert_array_equal(relu_graph.grad(x), np.zeros(3))


def test_an_integer_too_large_for_a_float():
    x = cg.Input("x")
    with raises(cg.InputError, "input 'x'", "too large for a float", "1000000"):
        cg.Graph(cg.sin(x)).forward(x=10 ** 400)
    with raises(cg.InputTypeError, "input 'x'"):
        cg.Graph(cg.sum(x)).forward(x=[1.0, 10 ** 400])


@pytest.mark.parametrize("exponent", [float("inf"), float("-inf"), float("nan")])
def test_an_infinite_or_nan_exponent_is_refused_when_the_node_is_built(exponent):
    x = cg.Input("x")
    with raises(cg.InputError, "**", "finite exponent", repr(exponent)):
        x ** exponent
    with raises(cg.InputError, "finite exponent"):
        cg.power(x, exponent)
    with raises(cg.InputTypeError, "exponent", "True"):
        x ** True


def test_mean_and_cross_entropy_of_an_empty_array():
    x = cg.Input("x")
    with raises(cg.ShapeError, "mean", "'m'", "empty", "(0,)"):
        cg.Graph(cg.mean(x, name="m")).forward(x=np.zeros(0))
    with raises(cg.ShapeError, "binary_cross_entropy", "'L'", "empty"):
        cg.Graph(cg.binary_cross_entropy(x, x, name="L")).forward(x=np.zeros((0, 1)))
    assert cg.Graph(cg.sum(x)).forward(x=np.zeros(0)) == 0.0  # a sum of nothing is 0


def test_forward_mode_index_out_of_range_or_of_the_wrong_kind():
    x = cg.Input("x")
    graph = cg.Graph(cg.sum(x * x))
    for index in [(5,), 7, (0, 0), "a", (slice(None),)]:
        with raises(cg.ShapeError, "forward_mode", "index=", "'x'", "(3,)"):
            graph.forward_mode(x, index=index, x=np.ones(3))
    assert graph.forward_mode(x, index=(2,), x=np.ones(3))[graph.output] == 2.0
    assert graph.forward_mode(x, index=-1, x=np.ones(3))[graph.output] == 2.0
    scalar = cg.Graph(x * x)
    with raises(cg.ShapeError, "forward_mode", "'x' is a number", "index=3"):
        scalar.forward_mode(x, index=3, x=1.0)


@pytest.mark.parametrize("name", sorted(cg.nodes.RESERVED_INPUT_NAMES))
def test_input_names_that_would_clash_with_keywords_are_refused(name):
    with raises(cg.InputError, f"Input name {name!r} is reserved", f"{name}_"):
        cg.Input(name)


def test_forward_and_trace_take_any_allowed_input_name_as_keyword():
    graph_in = cg.Input("graph_")
    graph = cg.Graph(cg.sin(graph_in))
    assert graph.forward(graph_=0.5) == pytest.approx(math.sin(0.5))
    # self and graph are positional-only: a keyword of that name is an unknown input
    with raises(cg.InputError, "unknown input 'self'"):
        graph.forward(self=1.0, graph_=0.5)
    with raises(cg.InputError, "unknown input 'graph'"):
        cg.trace(graph, graph=1.0, graph_=0.5)


def test_a_name_that_is_not_a_string_is_refused_at_once():
    x = cg.Input("x")
    with raises(cg.InputTypeError, "node names", "123"):
        cg.power(x, 3, name=123)
    with raises(cg.InputTypeError, "node names", "123"):
        cg.sin(x, name=123)
    node = cg.sin(x)
    with raises(cg.InputTypeError, "node names"):
        node.name = ""


def test_automatic_names_do_not_clash_across_graphs():
    x, y = cg.Input("x"), cg.Input("y")
    a = x + y
    first = cg.Graph(a)
    b = x * 2.0 + y
    cg.Graph(b)
    both = cg.Graph(a * b)  # a and b were both named add1 by their own graphs
    names = [n.name for n in both.nodes]
    assert len(set(names)) == len(names)
    assert both.forward(x=1.0, y=2.0) == 3.0 * 4.0
    assert first.node(a) is a and first.forward(x=1.0, y=2.0) == 3.0
    # a name the user gave still must be unique
    with raises(cg.CompgraphError, "two nodes are named 's'"):
        cg.Graph(cg.sin(x, name="s") + cg.cos(y, name="s"))


def test_a_user_name_wins_over_an_automatic_one():
    x = cg.Input("x")
    auto = cg.sin(x)
    cg.Graph(auto)
    assert auto.name == "sin1" and auto.auto_named
    mine = cg.cos(x, name="sin1")
    graph = cg.Graph(auto + mine)
    assert graph.node("sin1") is mine and auto.name != "sin1"


@pytest.mark.parametrize("bad", [True, np.True_, np.array([True, True]), [True, False],
                                 np.array(True)])
def test_booleans_are_refused_by_one_rule(bad):
    x = cg.Input("x")
    with raises(cg.InputTypeError, "input 'x'", "boolean", "1.0"):
        cg.Graph(cg.sum(x)).forward(x=bad)
    with raises(cg.InputTypeError, "Param 'p'", "boolean"):
        cg.Param("p", bad)


def test_no_such_node_lists_a_few_names_and_the_count():
    x = cg.Input("x")
    h = x
    for _ in range(10_000):
        h = cg.sin(h)
    graph = cg.Graph(h)
    with pytest.raises(cg.CompgraphError) as caught:
        graph.node("zzz")
    message = str(caught.value)
    assert "no node 'zzz'" in message and "x, sin1, sin2" in message
    assert "10,001 nodes in all" in message and len(message) < 300
    with raises(cg.CompgraphError, "no node 'q'"):
        graph.node(cg.Input("q"))


def test_a_new_op_that_returns_a_complex_number_or_overflows():
    x = cg.Input("x")
    sqrt = cg.new_op("complex_sqrt", lambda v: np.sqrt(v + 0j), lambda out, v: (0.5 / out,))
    with raises(cg.DomainError, "complex_sqrt", "not a real number"):
        cg.Graph(sqrt(x)).forward(x=-1.0)
    big = cg.new_op("cube_exp", lambda v: np.exp(v) ** 3, lambda out, v: (3 * out,))
    with _no_warnings(), raises(cg.DomainError, "cube_exp", "overflow"):
        cg.Graph(cg.sum(big(x))).forward(x=np.array([1.0, 300.0]))


def test_a_gradient_descent_step_that_overflows_leaves_the_params_alone():
    w = cg.Param("w", np.array([1e300, 1.0]))
    graph = cg.Graph(cg.sum(w * 1e8))
    graph.forward()
    graph.backward()
    with raises(cg.DomainError, "gradient descent step", "Param 'w'", "not finite"):
        cg.nn.gradient_descent_step(graph, lr=1e301)
    np.testing.assert_array_equal(w.value, [1e300, 1.0])
    for lr in (float("nan"), "0.1", None):
        with raises(cg.InputError, "learning rate"):
            cg.nn.gradient_descent_step(graph, lr)
