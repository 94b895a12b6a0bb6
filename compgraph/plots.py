"""Matplotlib pictures for the lessons: loss curves and decision boundaries.

They draw on Axes the caller made, so nothing here imports pyplot: importing compgraph must not
start matplotlib (which writes its font cache into the home directory) or pick a backend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .nn import XOR_X, XOR_Y, predict

if TYPE_CHECKING:
    from matplotlib.axes import Axes

CLASS_COLOURS = ("#0072B2", "#E69F00")  # Okabe–Ito blue and orange: class 0 and class 1


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
