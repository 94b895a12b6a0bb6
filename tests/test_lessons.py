"""The exercise helpers the lesson notebooks call."""

from __future__ import annotations

import numpy as np

import compgraph as cg
from compgraph import lessons
from compgraph.ops import OPS

POINTS = {"z": np.array([-2.0, -0.3, 0.4, 1.5]), "y": np.array([0.0, 1.0, 1.0, 0.0])}


def logistic(z, y):
    return np.log1p(np.exp(z)) - y * z


def test_check_local_derivatives_accepts_right_and_rejects_wrong(capsys):
    before = set(OPS)
    try:
        right = lessons.check_local_derivatives(
            "t_logistic", logistic, lambda out, z, y: (1 / (1 + np.exp(-z)) - y, -z),
            deriv=("σ({0}) − {1}", "−{0}"), **POINTS)
        assert right
        assert "✓ the local derivatives of t_logistic are right" in capsys.readouterr().out
        # one wrong sign in the second derivative: gradcheck sees it
        assert not lessons.check_local_derivatives(
            "t_logistic", logistic, lambda out, z, y: (1 / (1 + np.exp(-z)) - y, z),
            deriv=("σ({0}) − {1}", "{0}"), **POINTS)
        assert "not right yet (gradcheck" in capsys.readouterr().out
        assert not lessons.check_local_derivatives("t_logistic", logistic,
                                                   lambda out, z, y: None, deriv=("a", "b"),
                                                   **POINTS)
        assert "they return None" in capsys.readouterr().out
        assert not lessons.check_local_derivatives("t_logistic", logistic,
                                                   lambda out, z, y: (z,), deriv=("a", "b"),
                                                   **POINTS)
        assert "return a tuple of 2 local derivatives" in capsys.readouterr().out
    finally:
        for name in set(OPS) - before:
            del OPS[name]


def test_check_gradients_names_the_wrong_parameter(capsys):
    X, y = cg.nn.XOR_X, cg.nn.XOR_Y
    net = cg.nn.sigmoid_net(seed=0)
    book = cg.nn.textbook_backprop(X, y, net.theta1.value, net.theta2.value)
    assert lessons.check_gradients([book["grad_theta1"], book["grad_theta2"]], net.graph,
                                   ["θ1", "θ2"], X=X, y=y)
    assert capsys.readouterr().out.count("✓") == 2
    wrong = book["grad_theta1"] * 1.1           # one factor off in the first layer only
    assert not lessons.check_gradients([wrong, book["grad_theta2"]], net.graph, ["θ1", "θ2"],
                                       X=X, y=y)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✗ ∂/∂θ1") and out[1].startswith("✓ ∂/∂θ2")
    assert not lessons.check_gradients([book["grad_theta1"][:2]], net.graph, ["θ1"], X=X, y=y)
    assert "shape (2, 2), but θ1 is 3×2" in capsys.readouterr().out
