"""The lessons' networks: the engine's gradients against backprop written out by hand in plain
numpy, against nn.textbook_backprop, and at scalar level against vector level; training XOR and
its knobs; many runs in numpy; the recurrent net of notebook 06 against the sum over time steps;
the lessons' figures."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_matches_numeric

import compgraph as cg
from compgraph import nn

SEEDS = [0, 1, 2, 3, 7]


def by_hand(X, y, theta1, theta2):
    """The seed network's forward pass and backprop, independently of the package:
    L1 = [X, 1], a2 = σ(L1 θ1), L2 = [a2, 1], L3 = σ(L2 θ2), C = mean BCE;
    ∂C/∂θ2 = L2ᵀ(L3 − y)/m;  δ2 = ((L3 − y) θ2[:2]ᵀ) ⊙ a2(1 − a2);  ∂C/∂θ1 = L1ᵀ δ2/m."""
    m = X.shape[0]
    L1 = np.column_stack([X, np.ones(m)])
    a2 = 1.0 / (1.0 + np.exp(-(L1 @ theta1)))
    L2 = np.column_stack([a2, np.ones(m)])
    L3 = 1.0 / (1.0 + np.exp(-(L2 @ theta2)))
    cost = -np.mean(y * np.log(L3) + (1.0 - y) * np.log(1.0 - L3))
    delta3 = L3 - y
    delta2 = (delta3 @ theta2[:2].T) * a2 * (1.0 - a2)
    return cost, L2.T @ delta3 / m, L1.T @ delta2 / m


@pytest.mark.parametrize("seed", SEEDS)
def test_sigmoid_net_gradients_equal_backprop_by_hand(seed):
    net = nn.sigmoid_net(seed=seed)
    theta1, theta2 = net.theta1.value.copy(), net.theta2.value.copy()
    assert theta1.shape == (3, 2) and theta2.shape == (3, 1)
    cost = net.graph.forward(X=nn.XOR_X, y=nn.XOR_Y)
    net.graph.backward()
    expected_cost, grad2, grad1 = by_hand(nn.XOR_X, nn.XOR_Y, theta1, theta2)
    assert cost == pytest.approx(expected_cost, rel=1e-12)
    np.testing.assert_allclose(net.graph.grad(net.theta2), grad2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(net.graph.grad(net.theta1), grad1, rtol=1e-12, atol=1e-12)
    # the layer shapes of the lesson
    assert net.L1.value.shape == (4, 3) and net.L2.value.shape == (4, 3)
    assert net.a2.value.shape == (4, 2) and net.L3.value.shape == (4, 1)


@pytest.mark.parametrize("seed", SEEDS)
def test_sigmoid_net_gradients_equal_textbook_backprop(seed):
    theta1, theta2 = nn.init_sigmoid_params(seed, scale=2.0)
    net = nn.sigmoid_net(theta1, theta2)
    net.graph.forward(X=nn.XOR_X, y=nn.XOR_Y)
    net.graph.backward()
    book = nn.textbook_backprop(nn.XOR_X, nn.XOR_Y, theta1, theta2)
    np.testing.assert_allclose(net.graph.grad(net.theta1), book["grad_theta1"], rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(net.graph.grad(net.theta2), book["grad_theta2"], rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(net.L3.value, book["L3"], rtol=1e-12)
    # and textbook_backprop agrees with the hand-written version above
    _, grad2, grad1 = by_hand(nn.XOR_X, nn.XOR_Y, theta1, theta2)
    np.testing.assert_allclose(book["grad_theta1"], grad1, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(book["grad_theta2"], grad2, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(nn.predict(theta1, theta2, nn.XOR_X), book["L3"], rtol=1e-14)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_sigmoid_net_gradcheck(seed):
    net = nn.sigmoid_net(seed=seed)
    assert cg.gradcheck(net.graph, X=nn.XOR_X, y=nn.XOR_Y) < 1e-6
    assert_matches_numeric(net.graph, X=nn.XOR_X, y=nn.XOR_Y)


@pytest.mark.parametrize("seed", SEEDS[:3])
@pytest.mark.parametrize("row", range(4))
def test_scalar_net_equals_vector_net_for_one_example(seed, row):
    theta1, theta2 = nn.init_sigmoid_params(seed)
    vector = nn.sigmoid_net(theta1, theta2)
    scalar = nn.scalar_sigmoid_net(theta1, theta2)
    X, y = nn.XOR_X[row:row + 1], nn.XOR_Y[row:row + 1]
    cost_v = vector.graph.forward(X=X, y=y)
    vector.graph.backward()
    cost_s = scalar.graph.forward(x1=X[0, 0], x2=X[0, 1], y=y[0, 0])
    scalar.graph.backward()
    assert type(cost_s) is float
    assert cost_s == pytest.approx(cost_v, rel=1e-12)
    g1, g2 = vector.graph.grad(vector.theta1), vector.graph.grad(vector.theta2)
    assert len(scalar.theta1) == 6 and len(scalar.theta2) == 3
    for (i, j), p in scalar.theta1.items():
        assert scalar.graph.grad(p) == pytest.approx(g1[i - 1, j - 1], rel=1e-10, abs=1e-15)
    for i, p in scalar.theta2.items():
        assert scalar.graph.grad(p) == pytest.approx(g2[i - 1, 0], rel=1e-10, abs=1e-15)


def test_scalar_net_set_params_changes_the_cost_like_the_vector_net():
    scalar = nn.scalar_sigmoid_net(seed=0)
    theta1, theta2 = nn.init_sigmoid_params(5)
    scalar.set_params(theta1, theta2)
    cost_s = scalar.graph.forward(x1=1.0, x2=0.0, y=1.0)
    expected, _, _ = by_hand(nn.XOR_X[2:3], nn.XOR_Y[2:3], theta1, theta2)
    assert cost_s == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("n, m, k", [(100, 10, 2), (5, 4, 3)])
def test_relu_net_gradcheck(n, m, k):
    net = nn.relu_net(n, m, k, seed=1)
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=n), rng.normal(size=k)
    net.graph.forward(x=x, y=y)
    # no pre-activation sits on relu's kink, where central differences would be meaningless
    assert np.min(np.abs(net.W1.value @ x)) > 1e-4
    assert np.min(np.abs(net.W2.value @ net.h.value)) > 1e-4
    assert cg.gradcheck(net.graph, x=x, y=y) < 1e-6
    net.graph.forward(x=x, y=y)
    net.graph.backward()
    assert net.graph.grad(net.W1).shape == (m, n) and net.graph.grad(net.W2).shape == (k, m)
    # by hand: E = ½‖f − y‖², f = relu(W2 h), h = relu(W1 x)
    h = np.maximum(net.W1.value @ x, 0.0)
    z = net.W2.value @ h
    delta_f = (np.maximum(z, 0.0) - y) * (z > 0)
    delta_h = (net.W2.value.T @ delta_f) * (net.W1.value @ x > 0)
    np.testing.assert_allclose(net.graph.grad(net.W2), np.outer(delta_f, h), rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_allclose(net.graph.grad(net.W1), np.outer(delta_h, x), rtol=1e-12,
                               atol=1e-15)


def test_gradient_descent_step_moves_against_the_gradient():
    net = nn.sigmoid_net(seed=3)
    before = net.graph.forward(X=nn.XOR_X, y=nn.XOR_Y)
    net.graph.backward()
    g1 = net.graph.grad(net.theta1).copy()
    t1 = net.theta1.value.copy()
    nn.gradient_descent_step(net.graph, lr=0.1)
    np.testing.assert_allclose(net.theta1.value, t1 - 0.1 * g1)
    assert net.graph.forward(X=nn.XOR_X, y=nn.XOR_Y) < before  # a small step lowers the cost


def test_train_xor_seed_0_classifies_all_four():
    history = nn.train_xor(seed=0)
    assert history.correct() == 4
    assert history.losses[-1] < history.losses[0]
    assert len(history.losses) == len(history.theta1) == len(history.theta2) == 2001
    # the parameters it reports are the ones that make the reported predictions
    L3 = nn.predict(history.theta1[-1], history.theta2[-1], nn.XOR_X)
    np.testing.assert_array_equal(L3 > 0.5, nn.XOR_Y > 0.5)
    assert history.losses[-1] == pytest.approx(by_hand(nn.XOR_X, nn.XOR_Y, history.theta1[-1],
                                                        history.theta2[-1])[0], rel=1e-12)


# --- the recurrent net of notebook 06 -------------------------------------------------------------

RNN_CASES = [(3, 0.5, 1.0, 0.0, 0), (4, 0.8, 1.0, 0.1, 1), (5, -1.3, 0.7, -0.2, 2)]


def _rnn_case(T, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=T), float(rng.normal()), float(rng.uniform(-0.5, 0.5))


@pytest.mark.parametrize("copies", [False, True], ids=["shared", "copies"])
@pytest.mark.parametrize("T, w, u, b, seed", RNN_CASES)
def test_rnn_states_and_gradients_equal_the_sum_over_time_steps(T, w, u, b, seed, copies):
    xs, y, h0 = _rnn_case(T, seed)
    net = nn.rnn(T, w, u, b, copies=copies)
    E = net.graph.forward(**net.feed(xs, y, h0))
    net.graph.backward()
    # the states by a plain loop, written out here rather than taken from the package
    hs = [h0]
    for x in xs:
        hs.append(np.tanh(w * hs[-1] + u * x + b))
    hs = np.array(hs)
    np.testing.assert_allclose([net.graph.value(h) for h in net.h], hs, rtol=1e-14)
    np.testing.assert_allclose(nn.rnn_states(xs, w, u, b, h0), hs, rtol=1e-14)
    assert E == pytest.approx(0.5 * (hs[-1] - y) ** 2, rel=1e-14)
    # ∂E/∂h_t by walking back one step at a time: ∂E/∂h_(t−1) = ∂E/∂h_t · w(1 − h_t²)
    dE_dh = np.zeros(T + 1)
    dE_dh[T] = hs[T] - y
    for t in range(T, 0, -1):
        dE_dh[t - 1] = dE_dh[t] * w * (1 - hs[t] ** 2)
    local = 1 - hs[1:] ** 2                          # ∂h_t/∂a_t for t = 1..T
    assert net.graph.grad("w") == pytest.approx(np.sum(dE_dh[1:] * local * hs[:-1]), rel=1e-12)
    assert net.graph.grad("u") == pytest.approx(np.sum(dE_dh[1:] * local * xs), rel=1e-12)
    assert net.graph.grad("b") == pytest.approx(np.sum(dE_dh[1:] * local), rel=1e-12)
    assert cg.gradcheck(net.graph, **net.feed(xs, y, h0)) < 1e-6


@pytest.mark.parametrize("T, w, u, b, seed", RNN_CASES)
def test_rnn_one_path_to_w_per_time_step(T, w, u, b, seed):
    xs, y, h0 = _rnn_case(T, seed)
    net = nn.rnn(T, w, u, b)
    net.graph.forward(**net.feed(xs, y, h0))
    paths = net.graph.paths("w")
    assert len(paths) == T
    # each path leaves the chain of states at a different multiply w·h_(t−1)
    assert sorted(p.nodes[-2].name for p in paths) == [f"wh{t}" for t in range(T)]
    assert sum(p.product for p in paths) == pytest.approx(net.graph.backward()[net.w], rel=1e-12)


@pytest.mark.parametrize("T, w, u, b, seed", RNN_CASES)
def test_state_gradients_equal_engine_and_differences(T, w, u, b, seed):
    xs, y, h0 = _rnn_case(T, seed)
    hs = nn.rnn_states(xs, w, u, b, h0)
    formula = nn.state_gradients(hs, w)
    assert formula.shape == (T + 1,) and formula[T] == 1.0
    net = nn.rnn(T, w, u, b)
    net.graph.forward(**net.feed(xs, y, h0))
    net.graph.backward()
    engine = np.array([net.graph.grad(h) for h in net.h]) / net.graph.grad(net.h[-1])
    np.testing.assert_allclose(formula, engine, rtol=1e-10)
    # independently: start a shorter RNN at h_t and nudge its starting state
    for t in range(T):
        eps = 1e-6
        up = nn.rnn_states(xs[t:], w, u, b, hs[t] + eps)[-1]
        down = nn.rnn_states(xs[t:], w, u, b, hs[t] - eps)[-1]
        assert formula[t] == pytest.approx((up - down) / (2 * eps), rel=1e-6, abs=1e-10)


def test_rnn_rejects_bad_sizes():
    with pytest.raises(cg.InputError, match="T is the number of time steps"):
        nn.rnn(0)
    with pytest.raises(cg.InputError, match="T is the number of time steps"):
        nn.rnn(2.5)
    with pytest.raises(cg.InputError, match="needs 3 inputs x1..x3, got 2"):
        nn.rnn(3).feed([0.1, 0.2], y=0.0)


# --- XOR plumbing: many runs at once, gradient norms, knobs ---------------------------------------

def test_train_many_reproduces_train_xor():
    theta1s, theta2s = nn.train_many([0, 6, 11], 1.0, 300)
    assert theta1s.shape == (3, 3, 2) and theta2s.shape == (3, 3, 1)
    for k, seed in enumerate([0, 6, 11]):
        history = nn.train_xor(seed, 1.0, 300)
        np.testing.assert_allclose(theta1s[k], history.theta1[-1], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(theta2s[k], history.theta2[-1], rtol=1e-9, atol=1e-12)
        assert nn.correct_counts(theta1s, theta2s)[k] == history.correct()
        assert nn.cross_entropy(theta1s[k], theta2s[k]) == pytest.approx(history.losses[-1],
                                                                          rel=1e-9)
    wide1, wide2 = nn.train_many([4], 1.0, 0, hidden=3, scale=0.5)
    start1, start2 = nn.init_sigmoid_params(4, 0.5, hidden=3)
    np.testing.assert_array_equal(wide1[0], start1)
    np.testing.assert_array_equal(wide2[0], start2)


@pytest.mark.parametrize("seed", [0, 6])
def test_batch_gradients_and_norms_equal_the_engine(seed):
    history = nn.train_xor(seed, 1.0, 30)
    norms = nn.gradient_norms(history)
    assert norms.shape == (31,)
    for e in (0, 17, 30):
        net = nn.sigmoid_net(history.theta1[e], history.theta2[e])
        net.graph.forward(X=nn.XOR_X, y=nn.XOR_Y)
        net.graph.backward()
        g1, g2 = net.graph.grad(net.theta1), net.graph.grad(net.theta2)
        b1, b2 = nn.batch_gradients(history.theta1[e][None], history.theta2[e][None])
        np.testing.assert_allclose(b1[0], g1, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(b2[0], g2, rtol=1e-10, atol=1e-14)
        assert norms[e] == pytest.approx(np.sqrt(np.sum(g1 ** 2) + np.sum(g2 ** 2)), rel=1e-10)


def test_history_first_correct_epoch():
    good, stuck = nn.train_xor(0, 1.0, 600), nn.train_xor(6, 1.0, 600)
    first = good.first_correct_epoch()
    assert first is not None and good.correct(first) == 4
    assert all(good.correct(e) < 4 for e in range(first))
    assert stuck.first_correct_epoch() is None
    with pytest.raises(cg.InputError, match="epochs 0 to 600"):
        good.correct(601)


@pytest.mark.parametrize("knobs, error, words", [
    (dict(seed=-1), cg.InputError, "seed must be 0 or more"),
    (dict(seed=1.5), cg.InputTypeError, "seed must be a whole number"),
    (dict(lr=0.0), cg.InputError, "positive number"),
    (dict(lr=float("nan")), cg.InputError, "positive number"),
    (dict(lr="1"), cg.InputTypeError, "must be a number"),
    (dict(epochs=-5), cg.InputError, "0 or more"),
    (dict(epochs=100.0), cg.InputTypeError, "whole number"),
])
def test_train_xor_says_which_knob_is_wrong(knobs, error, words):
    with pytest.raises(error, match=words):
        nn.train_xor(**knobs)
    given = dict(seed=0, lr=1.0, epochs=10) | knobs
    with pytest.raises(error, match=words):
        nn.check_training_knobs(**given)


# --- a helper for checks -------------------------------------------------------------------------

def test_jacobian_of_a_layer_equals_its_formula():
    theta2 = np.array([[0.5], [-1.0], [0.3]])
    L2, t2 = cg.Input("L2"), cg.Param("θ2", theta2)
    L3 = cg.sigmoid(cg.matmul(L2, t2, name="z3"), name="L3")
    L2_value = np.array([[0.2, 0.7, 1.0], [0.9, 0.1, 1.0]])
    by_engine, by_differences = nn.jacobian(L3, "θ2", L2=L2_value)
    out = 1 / (1 + np.exp(-(L2_value @ theta2)))
    expected = np.zeros((2, 1, 3, 1))
    for r in range(2):                           # row r of L3 depends on row r of L2 only
        expected[r, 0, :, 0] = L2_value[r] * out[r, 0] * (1 - out[r, 0])
    np.testing.assert_allclose(by_engine, expected, rtol=1e-12)
    np.testing.assert_allclose(by_differences, expected, atol=1e-9)


# --- the lessons' figures -------------------------------------------------------------------------

def test_state_gradient_sizes_draws_the_engines_values():
    import matplotlib.pyplot as plt
    xs = np.random.default_rng(3).normal(0, 0.1, 6)
    fig, ax = plt.subplots()
    shown = cg.plots.state_gradient_sizes(ax, [0.5, 1.5], xs, u=1.0, b=0.2)
    solid = [line for line in ax.lines if line.get_linestyle() == "-"]
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(solid) == len(dashed) == 2
    for w, line, bound in zip((0.5, 1.5), solid, dashed):
        net = nn.rnn(6, w, 1.0, 0.2)
        net.graph.forward(**net.feed(xs, y=0.0))
        net.graph.backward()
        engine = [abs(net.graph.grad(h) / net.graph.grad(net.h[-1])) for h in net.h]
        np.testing.assert_allclose(line.get_ydata(), engine, rtol=1e-10)
        np.testing.assert_allclose(shown[w], engine, rtol=1e-10)
        np.testing.assert_allclose(bound.get_ydata(), w ** (6 - np.arange(7)), rtol=1e-12)
        assert np.all(line.get_ydata() <= bound.get_ydata() * (1 + 1e-12))   # |factor| ≤ |w|
    plt.close(fig)


def test_costs_and_gradient_norms_draws_each_run():
    import matplotlib.pyplot as plt
    runs = {"seed 0": nn.train_xor(0, 1.0, 40), "seed 6": nn.train_xor(6, 1.0, 40)}
    norms = {name: nn.gradient_norms(run) for name, run in runs.items()}
    fig = cg.plots.costs_and_gradient_norms(runs, norms)
    cost_axes, norm_axes = fig.axes
    for k, name in enumerate(runs):
        np.testing.assert_array_equal(cost_axes.lines[k].get_ydata(), runs[name].losses)
        np.testing.assert_array_equal(norm_axes.lines[k].get_ydata(), norms[name][1:])
        assert cost_axes.lines[k].get_label() == name
    plt.close(fig)


def test_neurons_beside_graph_shows_both_pictures():
    import matplotlib.pyplot as plt
    net = nn.sigmoid_net(seed=0)
    net.graph.forward(X=np.array([[1.0, 0.0]]), y=np.array([[1.0]]))
    fig = cg.plots.neurons_beside_graph(net.graph)
    neurons, graph = fig.axes
    labels = {t.get_text() for t in neurons.texts}
    assert {"$x_1$", "$x_2$", "$L_3$", "$\\theta_2^{3}$", "$\\theta_1^{32}$"} <= labels
    assert len(neurons.patches) == 7                    # 7 units: 2 + bias, 2 + bias, 1
    assert len(graph.images) == 1 and graph.images[0].get_array().shape[0] > 100
    plt.close(fig)
