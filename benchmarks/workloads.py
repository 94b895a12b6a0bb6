"""The workloads of the benchmarks, each written for every engine in that engine's own idiom.

Every peer gets the same data and the same initial weights, and exposes
    loss0()   the loss at the initial weights (checked equal across peers before timing)
    step()    one full-batch training step: forward, backward, parameter update; returns the loss

Moons: micrograd's demo. 100 two-moons points, MLP 2-16-16-1 (ReLU hidden, linear output),
mean hinge loss relu(1 − y·score) + 1e-4 · Σ p² over all parameters (weights and biases, as the
demo's `model.parameters()`), full-batch SGD.
XOR: the lessons' 2-2-1 sigmoid net with appended bias, cross-entropy, full-batch GD.
"""

from __future__ import annotations

import numpy as np

import compgraph as cg

SIZES = (2, 16, 16, 1)
ALPHA = 1e-4  # L2 regularisation strength, as in micrograd's demo
LR = 0.1  # a fixed rate: the demo's schedule turns negative after 100 steps


# --- data and initial weights ------------------------------------------------------------------

def two_moons(n: int = 100, noise: float = 0.1, seed: int = 1337) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles, the same recipe as sklearn's make_moons (shuffled, with
    Gaussian noise), labels −1 / +1 as micrograd's demo uses them."""
    rng = np.random.default_rng(seed)
    n_out, n_in = n // 2, n - n // 2
    t_out, t_in = np.linspace(0.0, np.pi, n_out), np.linspace(0.0, np.pi, n_in)
    X = np.vstack([np.column_stack([np.cos(t_out), np.sin(t_out)]),
                   np.column_stack([1.0 - np.cos(t_in), 0.5 - np.sin(t_in)])])
    y = np.concatenate([-np.ones(n_out), np.ones(n_in)])
    order = rng.permutation(n)
    X, y = X[order], y[order]
    return X + rng.normal(0.0, noise, X.shape), y


def init_weights(seed: int = 1337) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W, b) per layer, W of shape (fan_in, fan_out): micrograd's initialisation, weights uniform
    in [−1, 1] and biases 0, but drawn with numpy so that every peer gets the same numbers."""
    rng = np.random.default_rng(seed)
    return [(rng.uniform(-1.0, 1.0, (n_in, n_out)), np.zeros(n_out))
            for n_in, n_out in zip(SIZES[:-1], SIZES[1:])]


# --- moons, scalar engines -----------------------------------------------------------------------

class MicrogradMoons:
    """micrograd's demo loop: the graph is rebuilt from the data every step."""

    def __init__(self, X: np.ndarray, y: np.ndarray, weights: list) -> None:
        from micrograd.nn import MLP

        self.model = MLP(SIZES[0], list(SIZES[1:]))
        for layer, (W, b) in zip(self.model.layers, weights):
            for j, neuron in enumerate(layer.neurons):
                for i, w in enumerate(neuron.w):
                    w.data = float(W[i, j])
                neuron.b.data = float(b[j])
        self.X, self.y = X.tolist(), y.tolist()  # plain floats, as micrograd expects

    def loss(self):
        from micrograd.engine import Value

        inputs = [list(map(Value, row)) for row in self.X]
        scores = list(map(self.model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(self.y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = ALPHA * sum(p * p for p in self.model.parameters())
        return data_loss + reg_loss

    def loss0(self) -> float:
        return self.loss().data

    def step(self) -> float:
        total = self.loss()
        self.model.zero_grad()
        total.backward()
        for p in self.model.parameters():
            p.data -= LR * p.grad
        return total.data


class CompgraphWorkload:
    """compgraph's idiom: the graph is built once (in __init__); a step re-runs it."""

    graph: cg.Graph
    feed: dict
    lr: float = LR

    def loss0(self) -> float:
        return self.graph.forward(**self.feed)

    def step(self) -> float:
        loss = self.graph.forward(**self.feed)
        self.graph.backward()
        cg.nn.gradient_descent_step(self.graph, self.lr)
        return loss


class CompgraphScalarMoons(CompgraphWorkload):
    """compgraph with scalar nodes: every weight a scalar Param, every multiply and add its own
    node, for all 100 points at once. Built once; each step re-runs forward and backward."""

    def __init__(self, X: np.ndarray, y: np.ndarray, weights: list) -> None:
        layers = [([[cg.Param(f"W{k}_{i}_{j}", W[i, j]) for j in range(W.shape[1])]
                    for i in range(W.shape[0])],
                   [cg.Param(f"b{k}_{j}", b[j]) for j in range(len(b))])
                  for k, (W, b) in enumerate(weights, start=1)]
        # micrograd's parameter order (neuron by neuron: its weights, then its bias), so that
        # the L2 sums add the same floats in the same order
        self.params = [p for W, b in layers for j in range(len(b))
                       for p in [*(row[j] for row in W), b[j]]]
        losses = []
        self.feed: dict[str, float] = {}
        for n, (row, target) in enumerate(zip(X, y)):
            h = [cg.Input(f"x{n}_{i}") for i in range(len(row))]
            self.feed.update({f"x{n}_{i}": float(v) for i, v in enumerate(row)})
            self.feed[f"y{n}"] = float(target)
            for k, (W, b) in enumerate(layers):
                # act_j = b_j + Σ_i w_ij h_i, summed in micrograd's order so the floats agree
                acts = []
                for j in range(len(b)):
                    act = b[j]
                    for i, hi in enumerate(h):
                        act = act + W[i][j] * hi
                    acts.append(act)
                h = acts if k == len(layers) - 1 else [cg.relu(a) for a in acts]
            losses.append(cg.relu(1.0 - cg.Input(f"y{n}") * h[0]))
        data_loss = losses[0]
        for term in losses[1:]:
            data_loss = data_loss + term
        reg = self.params[0] * self.params[0]
        for p in self.params[1:]:
            reg = reg + p * p
        total = data_loss * (1.0 / len(losses)) + ALPHA * reg
        self.graph = cg.Graph(total)



# --- moons, tensor engines ------------------------------------------------------------------------

class CompgraphTensorMoons(CompgraphWorkload):
    """compgraph with whole arrays: matmul(h, W) + b, relu, hinge, L2. Built once."""

    def __init__(self, X: np.ndarray, y: np.ndarray, weights: list) -> None:
        self.feed = {"X": X, "y": y.reshape(-1, 1)}
        h = cg.Input("X")
        self.params = []
        for k, (W, b) in enumerate(weights, start=1):
            Wk, bk = cg.Param(f"W{k}", W), cg.Param(f"b{k}", b)
            self.params += [Wk, bk]
            h = cg.matmul(h, Wk) + bk
            if k < len(weights):
                h = cg.relu(h)
        data_loss = cg.mean(cg.relu(1.0 - cg.Input("y") * h))
        reg = cg.sum(cg.square(self.params[0]))
        for p in self.params[1:]:
            reg = reg + cg.sum(cg.square(p))
        self.graph = cg.Graph(data_loss + ALPHA * reg)


class NumpyMoons:
    """The same math written by hand in numpy: forward, the backward pass derived on paper, the
    update. What the engine's overhead is measured against."""

    def __init__(self, X: np.ndarray, y: np.ndarray, weights: list) -> None:
        self.X, self.y = X, y.reshape(-1, 1)
        self.layers = [(W.copy(), b.copy()) for W, b in weights]

    def loss0(self) -> float:
        return self.forward()[0]

    def forward(self) -> tuple:
        acts, h = [], self.X
        for k, (W, b) in enumerate(self.layers, start=1):
            acts.append(h)
            h = h @ W + b
            if k < len(self.layers):
                h = np.maximum(h, 0.0)
        margin = 1.0 - self.y * h
        reg = sum(np.sum(W * W) + np.sum(b * b) for W, b in self.layers)
        return float(np.mean(np.maximum(margin, 0.0)) + ALPHA * reg), acts, margin

    def step(self) -> float:
        loss, acts, margin = self.forward()
        # d loss / d score: −y/m where the hinge is active
        g = np.where(margin > 0.0, -self.y / len(self.y), 0.0)
        for k in reversed(range(len(self.layers))):
            W, b = self.layers[k]
            h = acts[k]
            gW, gb = h.T @ g + 2 * ALPHA * W, g.sum(axis=0) + 2 * ALPHA * b
            if k:
                g = (g @ W.T) * (h > 0.0)
            W -= LR * gW
            b -= LR * gb
        return loss


class TorchWorkload:
    """PyTorch's idiom: loss() records a new autograd graph every call; a step follows it back."""

    params: list
    lr: float = LR

    def loss0(self) -> float:
        with self.torch.no_grad():
            return self.loss().item()

    def step(self) -> float:
        loss = self.loss()
        loss.backward()
        with self.torch.no_grad():
            for p in self.params:
                p -= self.lr * p.grad
                p.grad = None
        return loss.item()


class TorchMoons(TorchWorkload):
    """PyTorch eager mode: the autograd graph is recorded anew by every forward pass."""

    def __init__(self, X: np.ndarray, y: np.ndarray, weights: list) -> None:
        import torch

        self.torch = torch
        self.X = torch.tensor(X, dtype=torch.float64)
        self.y = torch.tensor(y.reshape(-1, 1), dtype=torch.float64)
        self.layers = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))
                       for W, b in weights]
        self.params = [p for layer in self.layers for p in layer]

    def loss(self):
        h = self.X
        for k, (W, b) in enumerate(self.layers, start=1):
            h = h @ W + b
            if k < len(self.layers):
                h = h.relu()
        data_loss = (1.0 - self.y * h).relu().mean()
        return data_loss + ALPHA * sum((p * p).sum() for p in self.params)



# --- XOR, the 2-2-1 sigmoid net -----------------------------------------------------------------

XOR_LR = 1.0


class CompgraphXor(CompgraphWorkload):
    """compgraph.nn.sigmoid_net: append_one, matmul, sigmoid, twice, then cross-entropy."""

    lr = XOR_LR

    def __init__(self, theta1: np.ndarray, theta2: np.ndarray) -> None:
        self.net = cg.nn.sigmoid_net(theta1, theta2)
        self.graph = self.net.graph
        self.feed = {"X": cg.nn.XOR_X, "y": cg.nn.XOR_Y}


class TorchXor(TorchWorkload):
    """The same network in PyTorch eager mode, bias appended as a column of ones like the lessons'
    L1 = [X, 1] and L2 = [a2, 1]."""

    lr = XOR_LR

    def __init__(self, theta1: np.ndarray, theta2: np.ndarray) -> None:
        import torch

        self.torch = torch
        self.X = torch.tensor(cg.nn.XOR_X)
        self.y = torch.tensor(cg.nn.XOR_Y)
        self.ones = torch.ones(len(cg.nn.XOR_X), 1, dtype=torch.float64)
        self.theta1 = torch.tensor(theta1, requires_grad=True)
        self.theta2 = torch.tensor(theta2, requires_grad=True)
        self.params = [self.theta1, self.theta2]

    def loss(self):
        F = self.torch.nn.functional
        a2 = self.torch.sigmoid(self.torch.cat([self.X, self.ones], 1) @ self.theta1)
        L3 = self.torch.sigmoid(self.torch.cat([a2, self.ones], 1) @ self.theta2)
        return F.binary_cross_entropy(L3, self.y)


class NumpyXor:
    """The same network written by hand in numpy, backward pass as textbooks write it
    (δ3 = L3 − y, δ2 = δ3 θ2ᵀ ⊙ a2(1 − a2) without the bias column)."""

    def __init__(self, theta1: np.ndarray, theta2: np.ndarray) -> None:
        self.X, self.y = cg.nn.XOR_X, cg.nn.XOR_Y
        self.ones = np.ones((len(self.X), 1))
        self.theta1, self.theta2 = theta1.copy(), theta2.copy()

    def forward(self) -> tuple:
        L1 = np.concatenate([self.X, self.ones], axis=1)
        a2 = 1.0 / (1.0 + np.exp(-(L1 @ self.theta1)))
        L2 = np.concatenate([a2, self.ones], axis=1)
        L3 = 1.0 / (1.0 + np.exp(-(L2 @ self.theta2)))
        y = self.y
        loss = float(np.mean(-y * np.log(L3) - (1.0 - y) * np.log(1.0 - L3)))
        return loss, L1, a2, L2, L3

    def loss0(self) -> float:
        return self.forward()[0]

    def step(self) -> float:
        loss, L1, a2, L2, L3 = self.forward()
        delta3 = (L3 - self.y) / len(self.y)
        delta2 = (delta3 @ self.theta2[:-1].T) * a2 * (1.0 - a2)
        self.theta2 -= XOR_LR * (L2.T @ delta3)
        self.theta1 -= XOR_LR * (L1.T @ delta2)
        return loss
