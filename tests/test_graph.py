"""Graphs: the classic example, re-use and accumulation, a 10,000-deep chain, deterministic
order and names, broadcasting gradients, forward mode and paths."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from helpers import assert_forward_mode_agrees, assert_matches_numeric

import compgraph as cg

# --- the classic e = (a + b)(b + 1) ---------------------------------------------------------


def classic_example():
    a, b = cg.Input("a"), cg.Input("b")
    c = cg.add(a, b, name="c")
    d = cg.add(b, 1, name="d")
    e = cg.mul(c, d, name="e")
    return cg.Graph(e), a, b, c, d, e


def test_classic_example_values_and_gradients():
    graph, a, b, c, d, e = classic_example()
    assert graph.forward(a=2, b=1) == 6.0
    assert (c.value, d.value, e.value) == (3.0, 2.0, 6.0)
    graph.backward()
    # ∂e/∂a = d · 1 = 2;  ∂e/∂b = d · 1 + c · 1 = 2 + 3 = 5
    assert graph.grad(a) == 2.0
    assert graph.grad(b) == 5.0
    assert graph.grad(c) == 2.0 and graph.grad(d) == 3.0 and graph.grad(e) == 1.0
    assert graph.grad("b") == 5.0  # by name, too


def test_classic_example_paths_to_b_are_the_two_routes():
    graph, a, b, c, d, e = classic_example()
    graph.forward(a=2, b=1)
    paths = graph.paths(b)
    routes = {tuple(n.name for n in p.nodes): p for p in paths}
    assert set(routes) == {("e", "c", "b"), ("e", "d", "b")}
    # e → c → b: ∂e/∂c = d = 2, ∂c/∂b = 1;  e → d → b: ∂e/∂d = c = 3, ∂d/∂b = 1
    assert routes["e", "c", "b"].factors == (2.0, 1.0)
    assert routes["e", "d", "b"].factors == (3.0, 1.0)
    assert sorted(p.product for p in paths) == [2.0, 3.0]
    assert sum(p.product for p in paths) == 5.0
    [only] = graph.paths(a)
    assert only.product == 2.0


def test_classic_example_forward_mode_with_respect_to_b():
    graph, a, b, c, d, e = classic_example()
    tangents = graph.forward_mode(b, a=2, b=1)
    # ∂·/∂b for every node: a does not depend on b
    assert tangents[a] == 0.0 and tangents[b] == 1.0
    assert tangents[c] == 1.0 and tangents[d] == 1.0
    assert tangents[e] == 5.0
    assert graph.forward_mode("a", a=2, b=1)[e] == 2.0


# --- re-use and accumulation -------------------------------------------------------------------


def test_a_plus_a_accumulates_both_edges():
    a = cg.Input("a")
    graph = cg.Graph(a + a)
    assert graph.forward(a=3.0) == 6.0
    graph.backward()
    assert graph.grad(a) == 2.0
    assert len(graph.paths(a)) == 2


def test_x_times_x_is_two_x():
    x = cg.Input("x")
    graph = cg.Graph(x * x)
    graph.forward(x=-1.5)
    graph.backward()
    assert graph.grad(x) == -3.0
    assert [p.product for p in graph.paths(x)] == [-1.5, -1.5]


def test_a_node_with_two_consumers_sums_their_shares():
    x = cg.Input("x")
    s = cg.sin(x, name="s")
    out = cg.add(s * s, cg.exp(s), name="out")  # s feeds mul twice and exp once
    graph = cg.Graph(out)
    v = 0.7
    graph.forward(x=v)
    graph.backward()
    sv = math.sin(v)
    assert graph.grad(s) == pytest.approx(2 * sv + math.exp(sv), rel=1e-14)
    assert graph.grad(x) == pytest.approx((2 * sv + math.exp(sv)) * math.cos(v), rel=1e-14)


def test_backward_twice_gives_the_same_gradients_not_double():
    graph, a, b, c, d, e = classic_example()
    graph.forward(a=2, b=1)
    first = dict(graph.backward())
    second = graph.backward()
    assert graph.grad(b) == 5.0 and graph.grad(a) == 2.0
    assert first == second
    graph.forward(a=2, b=1)
    graph.backward()
    assert graph.grad(b) == 5.0


def test_array_gradients_do_not_accumulate_across_calls():
    x = cg.Input("x")
    w = cg.Param("w", np.array([1.0, -2.0, 3.0]))
    graph = cg.Graph(cg.sum(x * w + w * w))
    v = np.array([0.5, 0.25, -1.0])
    for _ in range(3):
        graph.forward(x=v)
        graph.backward()
        np.testing.assert_array_equal(graph.grad(w), v + 2 * w.value)
        np.testing.assert_array_equal(graph.grad(x), w.value)


def test_define_then_run_uses_new_inputs_and_param_values():
    x = cg.Input("x")
    w = cg.Param("w", 2.0)
    graph = cg.Graph(w * x)
    assert graph.forward(x=3.0) == 6.0
    assert graph.forward(x=-1.0) == -2.0
    w.value = 5.0
    assert graph.forward(x=-1.0) == -5.0
    graph.backward()
    assert graph.grad(w) == -1.0 and graph.grad(x) == 5.0


# --- depth -------------------------------------------------------------------------------------

DEPTH = 10_000


def test_a_10000_deep_chain_of_sin():
    x = cg.Input("x")
    node = x
    for _ in range(DEPTH):
        node = cg.sin(node)
    graph = cg.Graph(node)
    assert len(graph) == DEPTH + 1
    v = 1.2
    value = graph.forward(x=v)
    graph.backward()
    # the chain rule by hand: d sin^n(x)/dx = Π cos(x_k), x_0 = x, x_{k+1} = sin(x_k)
    expected_value, expected_grad, xk = v, 1.0, v
    for _ in range(DEPTH):
        expected_grad *= math.cos(xk)
        xk = math.sin(xk)
    expected_value = xk
    assert value == pytest.approx(expected_value, rel=1e-12)
    assert graph.grad(x) == pytest.approx(expected_grad, rel=1e-9)
    assert graph.forward_mode(x, x=v)[graph.output] == pytest.approx(expected_grad, rel=1e-9)
    [path] = graph.paths(x)
    assert len(path.factors) == DEPTH and path.product == pytest.approx(expected_grad, rel=1e-9)


def test_a_10000_deep_affine_chain_with_arrays():
    x = cg.Input("x")
    node = x
    for _ in range(DEPTH):
        node = node * 0.999 + 0.001
    graph = cg.Graph(cg.sum(node))
    v = np.array([0.5, -2.0])
    graph.forward(x=v)
    graph.backward()
    # x_n = 0.999^n (x − 1) + 1, so ∂Σx_n/∂x = 0.999^n for each element
    np.testing.assert_allclose(graph.output.children[0].value, 0.999 ** DEPTH * (v - 1) + 1,
                               rtol=1e-10)
    np.testing.assert_allclose(graph.grad(x), [0.999 ** DEPTH] * 2, rtol=1e-10)


# --- deterministic order and names -------------------------------------------------------------


def _expression():
    x, y = cg.Input("x"), cg.Input("y")
    w = cg.Param("w", 0.5)
    h = x * w + cg.sin(y)
    return cg.exp(h * h - y / 2) + cg.tanh(h)


def test_topological_order_and_names_are_the_same_for_two_identical_graphs():
    one, two = cg.Graph(_expression()), cg.Graph(_expression())
    names = [n.name for n in one.nodes]
    assert names == [n.name for n in two.nodes]
    assert [n.role for n in one.nodes] == [n.role for n in two.nodes]
    assert len(set(names)) == len(names)
    # children come before their parents
    position = {node: i for i, node in enumerate(one.nodes)}
    for node in one.nodes:
        assert all(position[c] < position[node] for c in node.children)


def test_automatic_names_are_short_readable_and_numbered_per_op():
    x, y = cg.Input("x"), cg.Input("y")
    graph = cg.Graph(cg.sin(x + y) * (x + 2.0) * cg.sin(y))
    names = [n.name for n in graph.nodes]
    # depth first, children left to right
    assert names == ["x", "y", "add1", "sin1", "2", "add2", "mul1", "sin2", "mul2"]
    for node in graph.ops:
        assert node.name.startswith(node.op.name) or node.op.name == "append_one"
        assert len(node.name) <= len(node.op.name) + 2


def test_names_given_by_the_user_are_kept_and_automatic_ones_avoid_them():
    x = cg.Input("x")
    first = cg.add(x, 1, name="add1")
    graph = cg.Graph(first + x)
    assert [n.name for n in graph.nodes] == ["x", "1", "add1", "add2"]


def test_append_one_is_named_cat_and_constants_by_value():
    x = cg.Input("x")
    graph = cg.Graph(cg.sum(cg.append_one(x) * 0.5 + cg.Const(np.ones(3))))
    names = [n.name for n in graph.nodes]
    assert "cat1" in names and "0.5" in names and "c1" in names


def test_equal_constants_get_numbered_names_around_user_names():
    x = cg.Input("x")
    node = x
    for _ in range(4):
        node = node * 0.5
    node = cg.add(node, cg.Const(0.5, name="0.5_2"), name="out")
    names = [n.name for n in cg.Graph(node).nodes if n.role == "const"]
    assert names == ["0.5", "0.5_1", "0.5_3", "0.5_4", "0.5_2"]


def test_names_are_stable_when_the_graph_is_built_again():
    expr = _expression()
    first = [n.name for n in cg.Graph(expr).nodes]
    assert [n.name for n in cg.Graph(expr).nodes] == first


# --- broadcasting ------------------------------------------------------------------------------

RNG = np.random.default_rng(7)


@pytest.mark.parametrize("bias_shape", [(16,), (1, 16)])
def test_affine_layer_with_broadcast_bias(bias_shape):
    h = cg.Input("h")
    W = cg.Param("W", RNG.normal(size=(4, 16)))
    b = cg.Param("b", RNG.normal(size=bias_shape))
    out = cg.sum(cg.tanh(cg.matmul(h, W) + b))
    graph = cg.Graph(out)
    hv = RNG.normal(size=(5, 4))
    graph.forward(h=hv)
    graph.backward()
    assert graph.grad(W).shape == (4, 16)
    assert graph.grad(b).shape == bias_shape
    assert graph.grad(h).shape == (5, 4)
    # by hand: upstream u = 1 − tanh², ∂/∂b = Σ over rows, ∂/∂W = hᵀu, ∂/∂h = u Wᵀ
    u = 1.0 - np.tanh(hv @ W.value + b.value) ** 2
    np.testing.assert_allclose(graph.grad(b), u.sum(axis=0).reshape(bias_shape), rtol=1e-12)
    np.testing.assert_allclose(graph.grad(W), hv.T @ u, rtol=1e-12)
    np.testing.assert_allclose(graph.grad(h), u @ W.value.T, rtol=1e-12)
    assert_matches_numeric(graph, h=hv)


def test_scalar_plus_array():
    s, v = cg.Input("s"), cg.Input("v")
    graph = cg.Graph(cg.sum((s + v) * v))
    values = np.array([[1.0, -2.0], [0.5, 3.0]])
    graph.forward(s=0.25, v=values)
    graph.backward()
    assert type(graph.grad(s)) is float
    assert graph.grad(s) == pytest.approx(values.sum())
    np.testing.assert_allclose(graph.grad(v), 0.25 + 2 * values)
    assert_matches_numeric(graph, s=0.25, v=values)


@pytest.mark.parametrize("shapes", [((2, 3), (3,)), ((2, 1), (1, 3)), ((3, 1), (3,)),
                                    ((1,), (2, 2)), ((), (2, 2))])
def test_elementwise_broadcasting_gradients_have_leaf_shapes(shapes):
    a, b = cg.Input("a"), cg.Input("b")
    graph = cg.Graph(cg.mean(cg.sigmoid(a * b - b)))
    values = {"a": RNG.normal(size=shapes[0]), "b": RNG.normal(size=shapes[1])}
    values = {k: (float(v) if np.ndim(v) == 0 else v) for k, v in values.items()}
    assert_matches_numeric(graph, **values)
    assert_forward_mode_agrees(graph, **values)


def test_losses_with_a_scalar_prediction_and_an_array_target():
    p = cg.Input("p")
    t = np.array([0.0, 1.0, 1.0, 0.25])
    for loss in (cg.binary_cross_entropy, cg.squared_error):
        graph = cg.Graph(loss(p, t))
        assert_matches_numeric(graph, p=0.3)
    graph = cg.Graph(cg.binary_cross_entropy(p, t))
    expected = np.mean(-t * np.log(0.3) - (1 - t) * np.log(0.7))
    assert graph.forward(p=0.3) == pytest.approx(expected, rel=1e-12)


# --- forward mode and paths --------------------------------------------------------------------


def test_forward_mode_picks_an_element_of_an_array_leaf():
    x = cg.Input("x")
    W = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    graph = cg.Graph(cg.sum(cg.matmul(W, x) ** 2))
    v = np.array([0.5, -1.0])
    graph.forward(x=v)
    grad = graph.backward()[x]
    for i in range(2):
        tangent = graph.forward_mode(x, index=(i,), x=v)[graph.output]
        assert tangent == pytest.approx(2 * (W @ v) @ W[:, i], rel=1e-12)  # by hand
        assert tangent == pytest.approx(grad[i], rel=1e-12)


def test_forward_mode_of_a_param():
    x = cg.Input("x")
    w = cg.Param("w", 3.0)
    graph = cg.Graph(cg.sin(w * x))
    tangents = graph.forward_mode(w, x=0.5)
    assert tangents[graph.output] == pytest.approx(0.5 * math.cos(1.5), rel=1e-14)
    assert tangents[x] == 0.0


def test_paths_reject_array_graphs():
    x = cg.Input("x")
    graph = cg.Graph(cg.sum(x * 2.0))
    graph.forward(x=np.ones(3))
    with pytest.raises(cg.ShapeError, match="scalar graphs"):
        graph.paths(x)


def test_graph_lookup_by_node_and_name():
    graph, a, b, c, d, e = classic_example()
    assert graph.node("c") is c and graph.node(c) is c
    assert len(graph) == 6 and "6 nodes" in repr(graph)
    assert graph.inputs == {"a": a, "b": b}


# --- values belong to a pass of a graph, not to shared nodes ---------------------------------

def _sin_w_times_w(start: float):
    w = cg.Param("w", start)
    return w, cg.Graph(cg.mul(cg.sin(w), w))


def _d_sin_w_times_w(w: float) -> float:
    return math.cos(w) * w + math.sin(w)


def test_backward_differentiates_the_pass_at_the_values_it_used():
    # forward() keeps its own copy of each Param: a change after it belongs to the next pass
    w, g = _sin_w_times_w(2.0)
    g.forward()
    w.value = 5.0
    g.backward()
    assert g.grad(w) == pytest.approx(_d_sin_w_times_w(2.0), rel=1e-12)
    g.forward()
    g.backward()
    assert g.grad(w) == pytest.approx(_d_sin_w_times_w(5.0), rel=1e-12)
    v = cg.Param("v", np.array([1.0, 2.0]))
    g = cg.Graph(cg.sum(cg.square(v)))
    g.forward()
    v.value[0] += 1.0              # in place, between forward and backward
    g.backward()
    np.testing.assert_array_equal(g.grad(v), [2.0, 4.0])


def test_param_changed_between_backward_and_grad_keeps_the_gradient_of_that_pass():
    # a training loop reads grad(p) after updating the Params before it: the gradients are the
    # pass's, at the values forward() used
    w, g = _sin_w_times_w(2.0)
    g.forward()
    g.backward()
    w.value = 5.0
    assert g.grad(w) == pytest.approx(_d_sin_w_times_w(2.0), rel=1e-12)
    assert g.value(w) == 2.0


def test_a_graph_re_forwarded_with_new_inputs_gives_gradients_at_the_new_inputs():
    x = cg.Input("x")
    g = cg.Graph(cg.mul(cg.sin(x), x))
    for at in (0.5, 1.5, -3.0):
        g.forward(x=at)
        g.backward()
        assert g.grad(x) == pytest.approx(_d_sin_w_times_w(at), rel=1e-12)


def test_two_graphs_sharing_a_node_keep_their_own_values_when_interleaved():
    x = cg.Input("x")
    h = cg.sin(x, name="h")
    g1 = cg.Graph(cg.mul(h, x, name="p"))
    g2 = cg.Graph(cg.exp(h, name="q"))
    g1.forward(x=0.5)
    g2.forward(x=1.5)
    g1.backward()
    assert g1.grad(x) == pytest.approx(_d_sin_w_times_w(0.5), rel=1e-12)
    assert g1.value(h) == math.sin(0.5) and g2.value(h) == math.sin(1.5)
    g2.backward()
    assert g2.grad(x) == pytest.approx(math.exp(math.sin(1.5)) * math.cos(1.5), rel=1e-12)
    # what g1 draws and traces is g1's pass, not the latest pass of the shared node
    svg_text = cg.render(g1).source
    assert cg.fmt(math.sin(0.5)) in svg_text and cg.fmt(math.sin(1.5)) not in svg_text
    steps = g1.trace(x=0.5)
    g2.forward(x=1.5)
    assert steps[-1].total == pytest.approx(g1.grad(steps[-1].child))
    assert cg.Graph(cg.mul(h, x, name="p")).forward(x=0.5) == g1.value("p")


def test_value_before_forward_says_what_to_call_and_paths_use_the_pass():
    w, g = _sin_w_times_w(2.0)
    with pytest.raises(cg.OrderError, match=r"call forward"):
        g.value(w)
    g.forward()
    w.value = 3.0
    assert sum(p.product for p in g.paths(w)) == pytest.approx(_d_sin_w_times_w(2.0))


# --- gradients of data inputs, sizes, long chains ---------------------------------------------

def test_gradients_of_data_inputs_are_right_when_read_after_a_training_step():
    net = cg.nn.sigmoid_net(seed=3)
    g = net.graph
    feed = {"X": cg.nn.XOR_X, "y": cg.nn.XOR_Y}
    for _ in range(3):  # past the first backward, which fixes the plan for these shapes
        g.forward(**feed)
        g.backward()
    expected = cg.nn.textbook_backprop(cg.nn.XOR_X, cg.nn.XOR_Y, net.theta1.value,
                                       net.theta2.value)
    np.testing.assert_allclose(g.grad(net.theta1), expected["grad_theta1"], rtol=1e-10)
    np.testing.assert_allclose(g.grad(net.X), cg.numeric_grad(g, net.X, **feed), atol=1e-8)
    g.forward(**feed)
    grads = g.backward()
    np.testing.assert_allclose(grads[net.y], cg.numeric_grad(g, net.y, **feed), atol=1e-8)
    g.backward()
    every = dict(g.grads)
    assert len(every) == len(g) and all(v is not None for v in every.values())
    assert every[net.L1].shape == (4, 3)
    # the same numbers as a graph whose first backward computes every gradient at once
    fresh = cg.nn.sigmoid_net(net.theta1.value, net.theta2.value).graph
    fresh.forward(**feed)
    all_at_once = fresh.backward()
    for node, grad in every.items():
        np.testing.assert_array_equal(grad, all_at_once[fresh.node(node.name)], node.name)


def test_a_100k_op_chain_runs_forward_and_backward():
    x = cg.Input("x")
    w = cg.Param("w", 1.0)
    h = x
    for _ in range(50_000):
        h = cg.tanh(h * w)
    graph = cg.Graph(h)
    assert len(graph.ops) == 100_000
    for _ in range(2):
        out = graph.forward(x=0.5)
        graph.backward()
    expected = 0.5
    for _ in range(50_000):
        expected = math.tanh(expected)
    assert out == pytest.approx(expected, rel=1e-12)
    assert np.isfinite(graph.grad(w)) and graph.grad(x) > 0.0


def test_paths_beyond_max_paths_raise_size_error_with_the_count():
    x = cg.Input("x")
    h = x
    for _ in range(22):  # 22 diamonds in a row: 2^22 paths
        h = cg.add(cg.sin(h), cg.cos(h))
    graph = cg.Graph(h)
    graph.forward(x=0.1)
    assert graph.count_paths(x) == 4_194_304
    with pytest.raises(cg.SizeError, match=r"4,194,304 paths.*limit of 10,000.*max_paths"):
        graph.paths(x)
    assert issubclass(cg.SizeError, cg.CompgraphError)
    small = cg.Graph(cg.add(cg.sin(x), cg.cos(x)))
    small.forward(x=0.1)
    with pytest.raises(cg.SizeError, match="2 paths"):
        small.paths(x, max_paths=1)
    assert len(small.paths(x, max_paths=2)) == 2


def test_paths_of_a_long_chain_share_their_prefixes():
    x = cg.Input("x")
    h = x
    for _ in range(10_000):
        h = cg.sin(h)
    graph = cg.Graph(h)
    graph.forward(x=0.3)
    (path,) = graph.paths(x)
    assert len(path.nodes) == 10_001 and len(path.factors) == 10_000
    assert path.nodes[0] is graph.output and path.nodes[-1] is x
    graph.backward()
    assert path.product == pytest.approx(graph.grad(x), rel=1e-9)


def test_check_size_and_the_limits_are_module_constants():
    from compgraph import limits
    for name in ("MAX_DRAW_NODES", "MAX_STEPS", "MAX_PATHS", "MAX_TRACE_STEPS"):
        assert isinstance(getattr(limits, name), int) and getattr(limits, name) > 0
    limits.check_size("draw", 10, 10, "draw less")  # at the limit is fine
    with pytest.raises(cg.SizeError, match=r"draw: 11 nodes, more than the limit of 10; draw"):
        limits.check_size("draw", 11, 10, "draw less")


def test_a_graph_re_forwarded_with_new_shapes_checks_shapes_again():
    x = cg.Input("x")
    W = cg.Param("W", np.ones((3, 2)))
    graph = cg.Graph(cg.sum(cg.matmul(x, W, name="xW")))
    assert graph.forward(x=np.ones(3)) == 6.0
    graph.backward()
    with pytest.raises(cg.ShapeError, match="'xW'"):
        graph.forward(x=np.ones((2, 2, 3)))  # numpy would broadcast this; the check does not
    assert graph.forward(x=np.ones((4, 3))) == 24.0
    graph.backward()
    np.testing.assert_array_equal(graph.grad(W), np.full((3, 2), 4.0))
    assert graph.forward(x=np.ones(3)) == 6.0
    graph.backward()
    np.testing.assert_array_equal(graph.grad(W), np.ones((3, 2)))


def test_paths_to_an_op_node():
    x, y = cg.Input("x"), cg.Input("y")
    p = cg.mul(x, y, name="p")
    graph = cg.Graph(cg.mul(cg.add(p, x, name="q"), p, name="r"))
    graph.forward(x=2.0, y=3.0)
    assert graph.count_paths(p) == 2
    assert sorted(path.product for path in graph.paths(p)) == [6.0, 8.0]
    assert graph.count_paths(y) == 2 and graph.count_paths(x) == 3


# --- errors name the node or the edge, and leave nothing half-done -----------------------------

def _error_after_good_passes(build, good, bad, backward: bool) -> str:
    """The message of the error that a pass with `bad` input raises after two good passes."""
    x = cg.Input("x")
    graph = cg.Graph(build(x, cg.Param("w", 1.0)))
    for _ in range(2):
        graph.forward(x=good)
        graph.backward()
    if backward:
        graph.forward(x=bad)
    with pytest.raises(cg.DomainError) as caught:
        graph.backward() if backward else graph.forward(x=bad)
    with pytest.raises(cg.OrderError):  # no half-done gradients (or values) are kept
        graph.grad(x)
    return str(caught.value)


@pytest.mark.parametrize("build, good, bad, backward, fragments", [
    (lambda x, w: cg.sin(cg.square(x * w, name="sq")), 2.0, 1e200, False, ("'sq'", "square")),
    (lambda x, w: cg.sum(cg.sin(cg.exp(x * w, name="ex"))), np.ones(2), np.array([1.0, 800.0]),
     False, ("'ex'", "exp", "overflow")),
    (lambda x, w: cg.power(x * w, -1, name="inv"), 2.0, 1e-200, True,
     ("edge 'inv' → 'mul1'", "local derivative")),
    (lambda x, w: cg.sum(cg.power(x * w, -1, name="inv")), np.ones(2), np.array([1e-200, 1.0]),
     True, ("edge 'inv' → 'mul1'", "shape (2,)")),
    (lambda x, w: cg.mul(cg.sin(cg.mul(x, w, name="a"), name="s"), 1e200, name="out"),
     1.0, 1e200, True, ("edge 'a' → 'w'", "overflows")),
])
def test_a_failed_pass_names_the_node_or_edge(build, good, bad, backward, fragments):
    message = _error_after_good_passes(build, good, bad, backward=backward)
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_a_graph_follows_a_change_of_shapes():
    x, w = cg.Input("x"), cg.Param("w", np.array([1.0, 2.0]))
    graph = cg.Graph(cg.sum(cg.square(x * w)))
    for value in (np.ones((3, 2)), np.ones((3, 2)), 2.0, 2.0, np.ones(2), np.ones(2)):
        loss = graph.forward(x=value)
        assert loss == pytest.approx(float(np.sum((value * w.value) ** 2)))
        graph.backward()
        np.testing.assert_allclose(graph.grad(w), np.sum(2 * value * value * w.value
                                                         * np.ones((3, 2)), axis=0)
                                   if np.ndim(value) == 2 else 2 * value * value * w.value)
        np.testing.assert_allclose(graph.grad(x), 2 * value * w.value * w.value
                                   if np.ndim(value) else float(np.sum(2 * value * w.value ** 2)))


def test_an_input_array_changed_in_place_is_checked_and_copied_again():
    x = cg.Input("x")
    graph = cg.Graph(cg.sum(x * cg.Param("w", 2.0)))
    data = np.array([1.0, 2.0])
    assert graph.forward(x=data) == 6.0
    first = graph.value(x)
    data[0] = 5.0  # the same array object, new contents
    assert graph.forward(x=data) == 14.0
    assert first.tolist() == [1.0, 2.0]  # the first pass kept its own copy
    data[1] = np.inf
    with pytest.raises(cg.InputError, match="input 'x'.*inf"):
        graph.forward(x=data)
    data[1] = 2.0
    assert graph.forward(x=data) == 14.0
    assert graph.value(x) is not data  # a copy, as on the first pass


def test_passes_restore_numpys_error_state_after_a_pass_and_an_error():
    x = cg.Input("x")
    graph = cg.Graph(cg.sum(cg.exp(x * cg.Param("w", 1.0))))
    before = np.geterr()
    for _ in range(3):
        graph.forward(x=np.ones(2))
        graph.backward()
        assert np.geterr() == before
    with pytest.raises(cg.DomainError, match="exp"):
        graph.forward(x=np.array([1.0, 800.0]))
    assert np.geterr() == before


# --- the engine stays readable ------------------------------------------------------------------

def test_the_engine_is_one_readable_path():
    """docs/ENGINE.md promises a backward loop on one screen, a graph.py read in one sitting, and
    no second execution path (no code generated at run time)."""
    import inspect
    from pathlib import Path
    assert len(inspect.getsource(cg.Graph.backward).splitlines()) <= 40
    assert len(inspect.getsource(cg.Graph.evaluate).splitlines()) <= 15
    package = Path(cg.__file__).parent
    assert len((package / "graph.py").read_text().splitlines()) <= 500
    for source in package.glob("*.py"):
        text = source.read_text()
        assert not re.search(r"(?<![\w.])(exec|compile)\(", text), source.name
