"""The lessons' networks: the engine's gradients against backprop written out by hand in plain
numpy, against nn.textbook_backprop, and at scalar level against vector level; training XOR."""

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
