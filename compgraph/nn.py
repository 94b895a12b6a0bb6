"""The two networks of the lessons, built as graphs, and plain-numpy backprop to compare with.

Seed network (2-2-1 sigmoid net with bias, rows of X are examples):
    L1 = [X, 1]           (m, 3)
    a2 = σ(L1 @ θ1)       (m, 2)      θ1 is 3×2
    L2 = [a2, 1]          (m, 3)
    L3 = σ(L2 @ θ2)       (m, 1)      θ2 is 3×1
    C  = mean of −y log L3 − (1−y) log(1−L3)
ReLU matrix network: h = relu(W1 x), f = relu(W2 h), E = ½‖f − y‖².
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import functions as F
from .graph import Const, Graph, Input, Node, Param

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def init_sigmoid_params(seed: int = 0, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """θ1 (3×2) and θ2 (3×1) drawn from a seeded normal distribution."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, scale, (3, 2)), rng.normal(0.0, scale, (3, 1))


@dataclass
class SigmoidNet:
    """The 2-2-1 sigmoid network at vector level: every layer is one node."""

    graph: Graph
    X: Node
    y: Node
    theta1: Param
    theta2: Param
    L1: Node
    z2: Node
    a2: Node
    L2: Node
    z3: Node
    L3: Node
    C: Node


def sigmoid_net(theta1: Any = None, theta2: Any = None, seed: int = 0) -> SigmoidNet:
    """Build the seed network; its inputs are X (m×2, or a 2-vector) and y (m×1, or a 1-vector)."""
    if theta1 is None or theta2 is None:
        theta1, theta2 = init_sigmoid_params(seed)
    X, y = Input("X"), Input("y")
    t1, t2 = Param("θ1", theta1), Param("θ2", theta2)
    L1 = F.append_one(X, name="L1")
    z2 = F.matmul(L1, t1, name="z2")
    a2 = F.sigmoid(z2, name="a2")
    L2 = F.append_one(a2, name="L2")
    z3 = F.matmul(L2, t2, name="z3")
    L3 = F.sigmoid(z3, name="L3")
    C = F.binary_cross_entropy(L3, y, name="C")
    return SigmoidNet(Graph(C), X, y, t1, t2, L1, z2, a2, L2, z3, L3, C)


@dataclass
class ScalarSigmoidNet:
    """The same network with every multiply and add as its own node (one example at a time).
    θ1_ij is row i (x1, x2, bias) and column j (hidden unit) of θ1; θ2_i is row i of θ2."""

    graph: Graph
    theta1: dict[tuple[int, int], Param] = field(default_factory=dict)
    theta2: dict[int, Param] = field(default_factory=dict)

    def set_params(self, theta1: np.ndarray, theta2: np.ndarray) -> None:
        for (i, j), p in self.theta1.items():
            p.value = float(theta1[i - 1, j - 1])
        for i, p in self.theta2.items():
            p.value = float(theta2[i - 1, 0])


def scalar_sigmoid_net(theta1: Any = None, theta2: Any = None, seed: int = 0) -> ScalarSigmoidNet:
    """Inputs x1, x2, y (numbers); about thirty nodes."""
    if theta1 is None or theta2 is None:
        theta1, theta2 = init_sigmoid_params(seed)
    theta1, theta2 = np.asarray(theta1, float), np.asarray(theta2, float)
    one = Const(1.0, name="1")  # the bias unit, shared by both layers
    layer1 = [Input("x1"), Input("x2"), one]
    t1 = {(i, j): Param(f"θ1_{i}{j}", theta1[i - 1, j - 1]) for i in (1, 2, 3) for j in (1, 2)}
    hidden = []
    for j in (1, 2):
        products = [F.mul(layer1[i - 1], t1[i, j], name=f"p{i}{j}") for i in (1, 2, 3)]
        z = F.add(F.add(products[0], products[1], name=f"s{j}"), products[2],
                  name=f"z2_{j}")
        hidden.append(F.sigmoid(z, name=f"a2_{j}"))
    layer2 = [*hidden, one]
    t2 = {i: Param(f"θ2_{i}", theta2[i - 1, 0]) for i in (1, 2, 3)}
    products = [F.mul(layer2[i - 1], t2[i], name=f"q{i}") for i in (1, 2, 3)]
    z3 = F.add(F.add(products[0], products[1], name="s3"), products[2], name="z3")
    L3 = F.sigmoid(z3, name="L3")
    C = F.binary_cross_entropy(L3, Input("y"), name="C")
    return ScalarSigmoidNet(Graph(C), t1, t2)


@dataclass
class ReluNet:
    """h = relu(W1 x), f = relu(W2 h), E = ½‖f − y‖²; x ∈ ℝⁿ, W1 ∈ ℝ^(m×n), W2 ∈ ℝ^(k×m)."""

    graph: Graph
    x: Node
    y: Node
    W1: Param
    W2: Param
    h: Node
    f: Node
    E: Node


def relu_net(n: int = 100, m: int = 10, k: int = 2, seed: int = 0) -> ReluNet:
    rng = np.random.default_rng(seed)
    x, y = Input("x"), Input("y")
    W1 = Param("W1", rng.normal(0.0, 1.0 / np.sqrt(n), (m, n)))
    W2 = Param("W2", rng.normal(0.0, 1.0 / np.sqrt(m), (k, m)))
    h = F.relu(F.matmul(W1, x, name="W1x"), name="h")
    f = F.relu(F.matmul(W2, h, name="W2h"), name="f")
    E = F.squared_error(f, y, name="E")
    return ReluNet(Graph(E), x, y, W1, W2, h, f, E)


def gradient_descent_step(graph: Graph, lr: float) -> None:
    """θ ← θ − η ∂C/∂θ for every Param, using the gradients of the last backward()."""
    graph.descend(lr)


# --- plain numpy, for comparison ---------------------------------------------------------------

def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _with_bias(a: np.ndarray) -> np.ndarray:
    return np.hstack([a, np.ones((a.shape[0], 1))])


def predict(theta1: np.ndarray, theta2: np.ndarray, X: np.ndarray) -> np.ndarray:
    """L3 for every row of X, by plain numpy."""
    return _sigmoid(_with_bias(_sigmoid(_with_bias(X) @ theta1)) @ theta2)


def textbook_backprop(X: np.ndarray, y: np.ndarray, theta1: np.ndarray,
                      theta2: np.ndarray) -> dict[str, np.ndarray]:
    """Backprop as textbooks write it, in plain numpy, for the mean cross-entropy cost:
    δ3 = L3 − y;  δ2 = (δ3 θ2ᵀ without the bias column) ⊙ a2(1 − a2);
    ∂C/∂θ2 = L2ᵀ δ3 / m;  ∂C/∂θ1 = L1ᵀ δ2 / m. Returns the layers, the deltas and the gradients."""
    m = X.shape[0]
    L1 = _with_bias(X)
    a2 = _sigmoid(L1 @ theta1)
    L2 = _with_bias(a2)
    L3 = _sigmoid(L2 @ theta2)
    delta3 = L3 - y
    delta2 = (delta3 @ theta2[:-1].T) * a2 * (1.0 - a2)
    return {"L1": L1, "a2": a2, "L2": L2, "L3": L3, "delta3": delta3, "delta2": delta2,
            "grad_theta2": L2.T @ delta3 / m, "grad_theta1": L1.T @ delta2 / m}


@dataclass
class History:
    """What train_xor saw: the cost and the parameters after every epoch (index 0 = start)."""

    losses: list[float]
    theta1: list[np.ndarray]
    theta2: list[np.ndarray]

    def correct(self, epoch: int = -1, X: np.ndarray = XOR_X, y: np.ndarray = XOR_Y) -> int:
        guesses = predict(self.theta1[epoch], self.theta2[epoch], X) > 0.5
        return int(np.sum(guesses == (y > 0.5)))


def train_xor(seed: int = 0, lr: float = 1.0, epochs: int = 2000) -> History:
    """Full-batch gradient descent on XOR with the seed network and the engine's gradients."""
    net = sigmoid_net(seed=seed)
    losses, t1s, t2s = [], [net.theta1.value.copy()], [net.theta2.value.copy()]
    for _ in range(epochs):
        losses.append(net.graph.forward(X=XOR_X, y=XOR_Y))
        net.graph.backward()
        gradient_descent_step(net.graph, lr)
        t1s.append(net.theta1.value.copy())
        t2s.append(net.theta2.value.copy())
    losses.append(net.graph.forward(X=XOR_X, y=XOR_Y))
    return History(losses, t1s, t2s)
