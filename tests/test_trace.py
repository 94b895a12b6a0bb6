"""The trace: the forward and backward passes as data, with the arithmetic of every step."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import GRAPHS_CHECKED, expression_graphs
from hypothesis import given, settings

import compgraph as cg


def g4(v: float) -> str:
    """A number as the trace writes it: 4 significant digits."""
    return f"{v:.4g}"


def chain_rule_graph():
    x = cg.Input("x")
    h = cg.power(x, 2, name="h")
    g = cg.sin(h, name="g")
    f = cg.exp(g, name="f")
    return cg.Graph(f)


def classic_example():
    a, b = cg.Input("a"), cg.Input("b")
    c = cg.add(a, b, name="c")
    d = cg.add(b, 1, name="d")
    return cg.Graph(cg.mul(c, d, name="e"))


def test_forward_step_texts_of_the_chain_rule_example():
    steps = chain_rule_graph().trace(x=0.5).forward_steps
    h, g = 0.25, math.sin(0.25)
    assert [s.text for s in steps] == [
        "x = 0.5",
        "h = x² = 0.5² = 0.25",
        f"g = sin(h) = sin(0.25) = {g4(g)}",
        f"f = e^g = e^{g4(g)} = {g4(math.exp(g))}",
    ]
    assert steps[1].inputs == (("x", 0.5),) and steps[1].value == h


def test_backward_step_texts_of_the_chain_rule_example():
    steps = chain_rule_graph().trace(x=0.5).backward_steps
    h = 0.25
    g = math.sin(h)
    df_dg = math.exp(g)                    # ∂f/∂g = e^g
    df_dh = df_dg * math.cos(h)            # ∂f/∂h = ∂f/∂g · cos h
    df_dx = df_dh * 2 * 0.5                # ∂f/∂x = ∂f/∂h · 2x
    # accumulated derivatives of f on the left, each edge's LOCAL derivative by its formula
    assert [s.text for s in steps] == [
        "∂f/∂f = 1",
        f"∂f/∂g = ∂f/∂f × local e^g = 1 × {g4(df_dg)} = {g4(df_dg)}",
        f"∂f/∂h = ∂f/∂g × local cos(h) = {g4(df_dg)} × {g4(math.cos(h))} = {g4(df_dh)}",
        f"∂f/∂x = ∂f/∂h × local 2x = {g4(df_dh)} × 1 = {g4(df_dx)}",
    ]
    assert [s.local_label for s in steps] == ["1", "e^g", "cos(h)", "2x"]
    assert steps[-1].total == pytest.approx(df_dx, rel=1e-14)


def test_classic_example_trace_sums_the_two_routes_to_b():
    trace = classic_example().trace(a=2, b=1)
    assert [s.text for s in trace.forward_steps] == [
        "a = 2", "b = 1", "c = a + b = 2 + 1 = 3", "d = b + 1 = 1 + 1 = 2", "e = c·d = 3·2 = 6"]
    into_b = [s for s in trace.backward_steps if s.child.name == "b"]
    assert [s.parent.name for s in into_b] == ["d", "c"]
    assert [s.product for s in into_b] == [3.0, 2.0]   # ∂e/∂d · 1 = c, ∂e/∂c · 1 = d
    assert into_b[0].text == "∂e/∂b (so far) = ∂e/∂d × local 1 = 3 × 1 = 3"
    assert into_b[1].text == ("∂e/∂b += ∂e/∂c × local 1 = 2 × 1 = 2\n"
                              "∂e/∂b = 3 + 2 = 5  (all 2 paths in)")
    assert into_b[1].terms == (3.0, 2.0) and into_b[1].total == 5.0


def test_classic_example_forward_mode_trace():
    steps = classic_example().forward_mode_trace("b", a=2, b=1)
    e = steps[-1]
    assert e.node.name == "e" and e.tangent == 5.0
    assert e.text == ("e = c·d = 6\n"
                      "∂e/∂b = local d × ∂c/∂b + local c × ∂d/∂b = 2 × 1 + 3 × 1 = 5")
    # d = b + 1: the edge's local 1 and the accumulated ∂d/∂b no longer share a symbol
    assert steps[3].text == "d = b + 1 = 2\n∂d/∂b = local 1 × ∂b/∂b = 1 × 1 = 1"
    assert [s.tangent for s in steps] == [0.0, 1.0, 1.0, 1.0, 5.0]  # a, b, c, d, e


def _non_const_edges(graph: cg.Graph) -> int:
    return sum(1 for n in graph.ops for c in n.children if c.role != "const")


def test_step_counts_and_indices():
    graph = classic_example()
    trace = graph.trace(a=2, b=1)
    non_const = [n for n in graph.nodes if n.role != "const"]
    assert len(trace.forward_steps) == len(non_const) == 5
    assert len(trace.backward_steps) == 1 + _non_const_edges(graph) == 1 + 5
    assert [s.index for s in trace] == list(range(len(trace)))
    assert trace[: len(non_const)] == trace.forward_steps  # forward first, then backward
    seed = trace.backward_steps[0]
    assert seed.parent is None and seed.edge is None and seed.child is graph.output
    assert (seed.upstream, seed.local, seed.product, seed.total) == (1.0, 1.0, 1.0, 1.0)


def test_a_plus_a_has_two_edges_with_their_slots():
    a = cg.Input("a")
    trace = cg.Graph(a + a).trace(a=3.0)
    steps = trace.backward_steps[1:]
    assert [s.slot for s in steps] == [0, 1]
    assert [s.total for s in steps] == [1.0, 2.0]
    assert steps[0].text.startswith("∂add1/∂a (so far) = ")
    assert steps[1].text.endswith("\n∂add1/∂a = 1 + 1 = 2  (all 2 paths in)")


def _trace_signature(trace):
    return [(s.kind, s.node.name if s.kind == "forward" else
             (s.parent.name if s.parent else None, s.child.name), s.text) for s in trace]


def test_trace_is_identical_for_identical_graphs_and_repeated_calls():
    def build():
        x, y = cg.Input("x"), cg.Input("y")
        w = cg.Param("w", np.array([0.5, -1.0]))
        h = cg.tanh(x * w + y)
        return cg.Graph(cg.sum(h * h + cg.sigmoid(h)))

    one, two = build(), build()
    first = _trace_signature(one.trace(x=np.array([1.0, 2.0]), y=0.3))
    assert first == _trace_signature(two.trace(x=np.array([1.0, 2.0]), y=0.3))
    assert first == _trace_signature(one.trace(x=np.array([1.0, 2.0]), y=0.3))
    assert len(first) == len(one.nodes) + 1 + _non_const_edges(one)  # no const in this graph


def test_array_trace_values_are_snapshots():
    x = cg.Input("x")
    w = cg.Param("w", np.array([1.0, 2.0]))
    graph = cg.Graph(cg.sum(x * w))
    trace = graph.trace(x=np.array([3.0, 4.0]))
    w.value = np.array([10.0, 20.0])
    graph.forward(x=np.array([5.0, 6.0]))
    graph.backward()
    [w_step] = [s for s in trace.forward_steps if s.node is w]
    np.testing.assert_array_equal(w_step.value, [1.0, 2.0])
    [w_grad] = [s for s in trace.backward_steps if s.child is w]
    np.testing.assert_array_equal(w_grad.total, [3.0, 4.0])


@settings(max_examples=150)
@given(expression_graphs(arrays=False, max_steps=6))
def test_trace_arithmetic_on_random_scalar_graphs(gg):
    graph = gg.graph
    trace = graph.trace(**gg.inputs)
    non_const = [n for n in graph.nodes if n.role != "const"]
    assert [s.node for s in trace.forward_steps] == non_const
    for step in trace.forward_steps:
        assert step.value == step.node.value
    backward = trace.backward_steps
    assert len(backward) == 1 + _non_const_edges(graph)
    last_total = {}
    for step in backward[1:]:
        assert step.product == step.upstream * step.local
        scale = max(abs(t) for t in step.terms)
        assert step.total == pytest.approx(math.fsum(step.terms), rel=1e-12, abs=1e-12 * scale)
        assert step.terms[-1] == step.product
        last_total[step.child] = step.total
    grads = graph.backward()
    for node in non_const:
        if node is not graph.output:
            assert last_total[node] == grads[node], node.name
    GRAPHS_CHECKED["trace graphs"] += 1


@settings(max_examples=60)
@given(expression_graphs(arrays=True, max_steps=4))
def test_trace_totals_equal_gradients_on_random_array_graphs(gg):
    graph = gg.graph
    trace = graph.trace(**gg.inputs)
    last_total = {s.child: s.total for s in trace.backward_steps}
    grads = graph.backward()
    for node, total in last_total.items():
        np.testing.assert_array_equal(total, grads[node], err_msg=node.name)
    GRAPHS_CHECKED["trace graphs"] += 1


# --- size: memory linear in the number of steps ------------------------------------------------

def test_a_node_feeding_many_others_keeps_the_trace_linear():
    x = cg.Input("x")
    total = x * 1.0
    n = 2_000
    for _ in range(n - 1):
        total = total + cg.sin(x)
    trace = cg.Graph(total).trace(x=0.5)
    into_x = [s for s in trace.backward_steps if s.child is x]
    assert len(into_x) == n
    # the steps into x share one list of shares instead of each holding a copy of its prefix
    assert all(s.shares is into_x[0].shares for s in into_x)
    assert [s.term_count for s in into_x] == list(range(1, n + 1))
    assert into_x[2].terms == tuple(into_x[0].shares[:3]) and into_x[2].terms[-1] == \
        into_x[2].product
    # the running sum names a few terms and how many more, not all of them
    last = into_x[-1].text.splitlines()[-1]
    assert f"+ … + {n - 4:,} more = " in last and len(last) < 120
    assert max(len(s.text) for s in trace) < 400
    assert into_x[-1].total == pytest.approx(1.0 + (n - 1) * math.cos(0.5), rel=1e-12)


def test_trace_beyond_its_limit_raises_size_error(monkeypatch):
    monkeypatch.setattr(cg.limits, "MAX_TRACE_STEPS", 10)
    x = cg.Input("x")
    h = x
    for _ in range(10):
        h = cg.sin(h)
    with pytest.raises(cg.SizeError, match=r"trace\(\).*22 steps.*limit of 10.*MAX_TRACE_STEPS"):
        cg.Graph(h).trace(x=0.5)


# --- step text of matrix steps, averaging losses and edge labels (the lessons' notation) -------

def _one_example_net():
    net = cg.nn.sigmoid_net(seed=0)
    return net, net.graph.trace(X=np.array([[1.0, 0.0]]), y=np.array([[1.0]]))


def _step_into(trace, child, parent):
    return next(s for s in trace.backward_steps
                if s.parent is not None and (s.child.name, s.parent.name) == (child, parent))


def test_matrix_steps_write_the_product_with_its_transposes():
    net, trace = _one_example_net()
    t1, t2 = net.theta1.value, net.theta2.value
    L1 = np.array([[1.0, 0.0, 1.0]])
    a2 = 1 / (1 + np.exp(-(L1 @ t1)))
    L2 = np.hstack([a2, [[1.0]]])
    L3 = 1 / (1 + np.exp(-(L2 @ t2)))
    dz3 = (L3 - 1.0)                                  # ∂C/∂z3 for one example, y = 1
    dL2 = dz3 @ t2.T
    dz2 = dL2[:, :2] * a2 * (1 - a2)
    theta2 = _step_into(trace, "θ2", "z3")
    assert theta2.text == (f"∂C/∂θ2 = L2ᵀ · ∂C/∂z3 = {cg.fmt(L2.T @ dz3)}\n"
                           "shapes: (3×1)·(1×1) → 3×1, the shape of θ2")
    np.testing.assert_allclose(theta2.product, L2.T @ dz3, rtol=1e-12)
    assert _step_into(trace, "L2", "z3").text.startswith(f"∂C/∂L2 = ∂C/∂z3 · θ2ᵀ = {cg.fmt(dL2)}")
    theta1 = _step_into(trace, "θ1", "z2")
    assert theta1.text == (f"∂C/∂θ1 = L1ᵀ · ∂C/∂z2 = {cg.fmt(L1.T @ dz2)}\n"
                           "shapes: (3×1)·(1×2) → 3×2, the shape of θ1")
    np.testing.assert_allclose(theta1.product, L1.T @ dz2, rtol=1e-10)
    # the bias: a2's gradient is L2's without the last column, said in words, not "[I 0] = 1"
    a2_step = _step_into(trace, "a2", "L2")
    assert a2_step.text.startswith(f"∂C/∂a2 = ∂C/∂L2 without its last column = "
                               f"{cg.fmt(dL2[:, :2])}")
    assert "= 1" not in a2_step.text


def test_matrix_vector_steps_name_the_outer_product():
    rnet = cg.nn.relu_net(4, 3, 2, seed=6)
    x = np.array([1.0, -0.5, 2.0, 0.3])
    trace = rnet.graph.trace(x=x, y=np.array([1.0, 0.0]))
    w1 = _step_into(trace, "W1", "W1x")
    assert w1.text.startswith("∂E/∂W1 = ∂E/∂W1x · xᵀ (outer product) = ")
    assert w1.text.endswith("shapes: (3×1)·(1×4) → 3×4, the shape of W1")
    h = _step_into(trace, "h", "W2h")
    assert h.text.startswith("∂E/∂h = W2ᵀ · ∂E/∂W2h = ")
    assert h.text.endswith("shapes: (3×2)·(2) → 3, the shape of h")


def test_an_averaging_loss_shows_its_one_over_m_and_the_numbers_agree():
    net = cg.nn.sigmoid_net(seed=0)
    X, y = cg.nn.XOR_X, cg.nn.XOR_Y
    trace = net.graph.trace(X=X, y=y)
    L3 = cg.nn.predict(net.theta1.value, net.theta2.value, X)
    step = _step_into(trace, "L3", "C")
    assert step.local_label == "(L3−y)/(m·L3(1−L3))"
    first, second = step.text.split("\n")
    assert first.startswith("∂C/∂L3 = ∂C/∂C × local (L3−y)/(m·L3(1−L3)) = 1 × ")
    assert second == "(m = 4: C is a mean over 4 entries)"
    np.testing.assert_allclose(step.local, (L3 - y) / (4 * L3 * (1 - L3)), rtol=1e-10)
    target = _step_into(trace, "y", "C")
    assert target.local_label == "log((1−L3)/L3)/m"
    np.testing.assert_allclose(target.local, np.log((1 - L3) / L3) / 4, rtol=1e-10)
    # a mean of a vector: 1/m with the m it divides by
    v = cg.Input("v")
    mean_step = cg.Graph(cg.mean(v, name="μ")).trace(v=np.arange(5.0)).backward_steps[1]
    assert mean_step.local_label == "1/m" and mean_step.text.endswith(
        "(m = 5: μ is a mean over 5 entries)")


def test_edge_text_says_what_an_array_edge_carries():
    from compgraph.trace import edge_text
    net = cg.nn.sigmoid_net(seed=0)
    net.graph.forward(X=cg.nn.XOR_X, y=cg.nn.XOR_Y)
    z2, C = net.z2, net.C
    assert edge_text(z2, 0, net.graph.values) == "θ1\nL1 is 4×3"   # ∂z2/∂L1, carrying L1
    assert edge_text(z2, 1, net.graph.values) == "L1\nθ1 is 3×2"
    assert edge_text(C, 0, net.graph.values) == "(L3−y)/(m·L3(1−L3)) (m = 4)\nL3 is 4×1"
    assert edge_text(z2, 0, {}) == "θ1"                             # before any pass
    # mid forward pass: L1 known, z2 not yet: the edge already says what it carries
    assert edge_text(z2, 0, {net.L1: net.graph.value("L1")}) == "θ1\nL1 is 4×3"


def test_edge_text_of_scalar_edges():
    from compgraph.trace import edge_text
    graph = chain_rule_graph()
    graph.forward(x=0.5)
    values = graph.values
    f, g, h = (graph.node(n) for n in "fgh")
    assert edge_text(g, 0, values) == f"cos(h) = {g4(math.cos(0.25))}"
    assert edge_text(h, 0, values) == "2x = 1"
    assert edge_text(f, 0, values, placeholder="-1.234e-05") == "e^g = -1.234e-05"
    assert edge_text(f, 0, {g: values[g]}) == "e^g"                 # f not computed yet
    classic_graph_ = classic_example()
    classic_graph_.forward(a=2, b=1)
    assert edge_text(classic_graph_.node("c"), 0, classic_graph_.values) == "1"   # not "1 = 1"
