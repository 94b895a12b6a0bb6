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


def test_with_snapshot_shows_a_still_copy_where_widgets_cannot_run():
    """A plain ipywidgets box keeps its widget view (a running notebook) and gains a text/html
    copy of its panel (untrusted or static views) and a short text/plain instead of its repr."""
    import ipywidgets
    from IPython.core.formatters import format_display_data

    panel = ipywidgets.HTML("<table><tr><td>dh/dx</td><td>+1.6</td></tr></table>")
    box = ipywidgets.VBox([ipywidgets.FloatSlider(value=0.8), panel])
    data, _ = format_display_data(lessons.with_snapshot(box, panel.value, "the factors at x = 0.8"))
    view = data["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == box.model_id
    assert data["text/plain"] == "the factors at x = 0.8"
    assert data["text/html"].startswith('<div class="cg-static"><table><tr><td>dh/dx')
    assert "VBox(" not in data["text/html"] + data["text/plain"]
