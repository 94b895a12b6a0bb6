"""Matplotlib pictures for the lessons: loss curves and decision boundaries, the neuron picture of
the 2-2-1 network, gradient sizes during training and through time.

They draw on Axes the caller made, so nothing here imports pyplot: importing compgraph must not
start matplotlib (which writes its font cache into the home directory) or pick a backend. The two
functions that make a whole figure import pyplot when they are called."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .nn import XOR_X, XOR_Y, predict, rnn_states, state_gradients

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

CLASS_COLOURS = ("#0072B2", "#E69F00")  # Okabe–Ito blue and orange: class 0 and class 1
RUN_COLOURS = ["#009E73", "#D55E00", "#0072B2", "#CC79A7", "#E69F00", "#56B4E9"]  # Okabe–Ito


def loss_curve(ax: Axes, losses: Sequence[float], epoch: int | None = None,
               label: str | None = None) -> None:
    """Cost against epoch (log scale), with a marker at `epoch` if given."""
    ax.plot(np.arange(len(losses)), losses, color="#333333", lw=1.5, label=label)
    if epoch is not None:
        ax.plot([epoch], [losses[epoch]], "o", color="#D55E00", ms=8)
        ax.axvline(epoch, color="#D55E00", lw=0.8, ls="--")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy cost C")
    ax.grid(True, which="both", alpha=0.3)


def decision_boundary(ax: Axes, theta1: np.ndarray, theta2: np.ndarray,
                      X: np.ndarray = XOR_X, y: np.ndarray = XOR_Y, resolution: int = 120) -> None:
    """The network's output L3 over the plane, its 0.5 contour, and the training points."""
    grid = np.linspace(-0.5, 1.5, resolution)
    gx, gy = np.meshgrid(grid, grid)
    out = predict(theta1, theta2, np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    ax.contourf(gx, gy, out, levels=np.linspace(0, 1, 11), cmap="PuOr_r", alpha=0.55)
    ax.contour(gx, gy, out, levels=[0.5], colors="black", linewidths=1.5)
    for label in (0, 1):
        rows = y.ravel() == label
        ax.scatter(X[rows, 0], X[rows, 1], s=90, color=CLASS_COLOURS[label],
                   edgecolor="black", label=f"y = {label}", zorder=3)
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylim(-0.5, 1.5)
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.legend(loc="upper center", fontsize=8, ncol=2)


def xor_points(ax: Axes, X: np.ndarray = XOR_X, y: np.ndarray = XOR_Y, size: float = 160,
               legend: bool = True) -> None:
    """The training points, coloured by class, on the unit square."""
    for label in (0, 1):
        rows = y.ravel() == label
        ax.scatter(X[rows, 0], X[rows, 1], s=size, color=CLASS_COLOURS[label],
                   edgecolor="black", label=f"y = {label}", zorder=3)
    ax.set(xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), aspect="equal", xlabel="x1", ylabel="x2")
    if legend:
        ax.legend(loc="upper center", ncol=2, fontsize=8)


def neuron_picture(ax: Axes) -> None:
    """The 2-2-1 network drawn the usual way: circles for units, arrows labelled with weights,
    inputs at the bottom (like the computational graphs drawn bottom to top)."""
    from matplotlib.patches import Circle

    r = 0.36
    pos = {"x1": (-2.2, 0), "x2": (0, 0), "b1": (2.2, 0),
           "h1": (-1.2, 2.8), "h2": (1.2, 2.8), "b2": (3.4, 2.8), "out": (0.6, 5.4)}
    text = {"x1": "$x_1$", "x2": "$x_2$", "b1": "1", "h1": "$a_{2,1}$", "h2": "$a_{2,2}$",
            "b2": "1", "out": "$L_3$"}

    def arrow(a: str, b: str, label: str, where: float) -> None:
        p, q = np.array(pos[a]), np.array(pos[b])
        along = (q - p) / np.linalg.norm(q - p)
        ax.annotate("", xy=q - r * along, xytext=p + r * along,
                    arrowprops=dict(arrowstyle="-|>", color="#777777", lw=1.1))
        x, y = p + where * (q - p)
        ax.text(x, y, label, fontsize=10, ha="center", va="center",
                bbox=dict(boxstyle="round,pad=0.12", fc="white", ec="none"))

    for i, a in enumerate(["x1", "x2", "b1"]):
        for j, b in enumerate(["h1", "h2"]):
            arrow(a, b, f"$\\theta_1^{{{i + 1}{j + 1}}}$", 0.28)
    for i, a in enumerate(["h1", "h2", "b2"]):
        arrow(a, "out", f"$\\theta_2^{{{i + 1}}}$", 0.5)
    for key, (x, y) in pos.items():
        bias = key[0] == "b"
        fill = "#EBEBEB" if bias else "#D4EBF8" if key[0] == "x" else "white"
        ax.add_patch(Circle((x, y), r, fc=fill, ec="#999999" if bias else "#333333",
                                lw=1.4, ls="--" if bias else "-", zorder=3))
        ax.text(x, y, text[key], ha="center", va="center", fontsize=12, zorder=4)
    layers = [(0, "layer 1\n(input)"), (2.8, "layer 2\n(hidden)"), (5.4, "layer 3\n(output)")]
    for y, name in layers:
        ax.text(-3.6, y, name, ha="center", va="center", fontsize=9, color="#444444")
    ax.set_xlim(-4.3, 4.0)
    ax.set_ylim(-0.6, 6.0)
    ax.set_aspect("equal")
    ax.axis("off")


def neurons_beside_graph(graph: Any) -> Figure:
    """The neuron picture on the left, `graph` drawn bottom to top on the right (as a PNG, so it
    shows in any notebook viewer)."""
    import matplotlib.pyplot as plt

    png = graph.render(rankdir="BT").pipe(format="png")
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 6.8),
                                      gridspec_kw={"width_ratios": [1, 1.1]})
    neuron_picture(left)
    left.set_title("neuron picture: circles hold numbers, arrows carry weights", fontsize=11)
    right.imshow(plt.imread(io.BytesIO(png)))
    right.axis("off")
    right.set_title("computational graph: boxes are operations, weights are nodes", fontsize=11,
                    pad=12)
    fig.tight_layout()
    return fig


def costs_and_gradient_norms(runs: dict[str, Any], norms: dict[str, np.ndarray]) -> Figure:
    """Two panels for several XOR runs (Histories by name): the cost against the epoch with the
    levels ln 2 and ln 2 / 2 dotted, and ‖∇C‖ against the epoch, both on log scales."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for (name, run), colour in zip(runs.items(), RUN_COLOURS):
        axes[0].plot(run.losses, color=colour, label=name)
        axes[1].plot(np.arange(1, len(norms[name])), norms[name][1:], color=colour, label=name)
    axes[0].set(yscale="log", xlabel="epoch", ylabel="cost C",
                title="cost (dotted: ln 2 and ln 2 / 2)")
    for level in (np.log(2), np.log(2) / 2):
        axes[0].axhline(level, color="grey", ls=":")
    axes[1].set(xscale="log", yscale="log", xlabel="epoch", ylabel="‖∇C‖",
                title="size of the gradient")
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def state_gradient_sizes(ax: Axes, weights: Sequence[float], xs: Sequence[float],
                         u: float = 1.0, b: float = 0.0,
                         h0: float = 0.0) -> dict[float, np.ndarray]:
    """|∂h_T/∂h_t| against t for the scalar tanh RNN, one line per recurrent weight w, on a log
    scale, with the bound |w|^(T−t) dashed. Returns the plotted values by w."""
    T = len(xs)
    ts = np.arange(T + 1)
    shown = {}
    for w, colour in zip(weights, RUN_COLOURS * 2):
        values = np.abs(state_gradients(rnn_states(xs, w, u, b, h0), w))
        shown[w] = values
        ax.plot(ts, values, "o-", color=colour, ms=4, label=f"w = {w:g}")
        ax.plot(ts, np.abs(w) ** (T - ts), "--", color=colour, lw=0.8, alpha=0.7)
    ax.set_yscale("log")
    ax.set_xlabel("t (the state h_t the gradient reaches)")
    ax.set_ylabel("|∂h_T/∂h_t|")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, title="solid: actual, dashed: |w|^(T−t)", title_fontsize=8)
    return shown
