"""The two networks of the lessons, built as graphs, and plain-numpy backprop to compare with.

Seed network (2-2-1 sigmoid net with bias, rows of X are examples):
    L1 = [X, 1]           (m, 3)
    a2 = σ(L1 @ θ1)       (m, 2)      θ1 is 3×2
    L2 = [a2, 1]          (m, 3)
    L3 = σ(L2 @ θ2)       (m, 1)      θ2 is 3×1
    C  = mean of −y log L3 − (1−y) log(1−L3)
ReLU matrix network: h = relu(W1 x), f = relu(W2 h), E = ½‖f − y‖².
A scalar recurrent net unrolled in time: h_t = tanh(w·h_(t−1) + u·x_t + b), E = ½(h_T − y)².
Also the plumbing the lessons call instead of carrying it in their cells: many XOR runs side by
side in plain numpy, gradient norms along a training history, and Jacobians one row at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import functions as F
from .check import numeric_grad
from .errors import InputError, InputTypeError
from .graph import Graph
from .nodes import Const, Input, Node, Param

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InputTypeError(f"the seed must be a whole number such as 0 or 6, got {seed!r}")
    if seed < 0:
        raise InputError(f"the seed must be 0 or more, got {seed}")
    return int(seed)


def init_sigmoid_params(seed: int = 0, scale: float = 1.0,
                        hidden: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """θ1 (3×hidden) and θ2 ((hidden+1)×1) drawn from a seeded normal distribution N(0, scale²)."""
    rng = np.random.default_rng(_check_seed(seed))
    return rng.normal(0.0, scale, (3, hidden)), rng.normal(0.0, scale, (hidden + 1, 1))


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
    """h = relu(W1 x), f = relu(W2 h), E = ½‖f − y‖²; x ∈ ℝⁿ, W1 ∈ ℝ^(n_h×n), W2 ∈ ℝ^(k×n_h)."""

    graph: Graph
    x: Node
    y: Node
    W1: Param
    W2: Param
    h: Node
    f: Node
    E: Node


def relu_net(n: int = 100, n_h: int = 10, k: int = 2, seed: int = 0) -> ReluNet:
    """The ReLU network with n inputs, n_h hidden units and k outputs, seeded weights."""
    rng = np.random.default_rng(seed)
    x, y = Input("x"), Input("y")
    W1 = Param("W1", rng.normal(0.0, 1.0 / np.sqrt(n), (n_h, n)))
    W2 = Param("W2", rng.normal(0.0, 1.0 / np.sqrt(n_h), (k, n_h)))
    h = F.relu(F.matmul(W1, x, name="W1x"), name="h")
    f = F.relu(F.matmul(W2, h, name="W2h"), name="f")
    E = F.squared_error(f, y, name="E")
    return ReluNet(Graph(E), x, y, W1, W2, h, f, E)


def gradient_descent_step(graph: Graph, lr: float) -> None:
    """θ ← θ − η ∂C/∂θ for every Param, using the gradients of the last backward()."""
    graph.descend(lr)


# --- plain numpy, for comparison ---------------------------------------------------------------

def _sigmoid(z: np.ndarray) -> np.ndarray:
    # e^(−z) may overflow to inf for z < −709; σ is then 1/(1 + inf) = 0, which is right
    with np.errstate(over="ignore"):
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

    @property
    def epochs(self) -> int:
        return len(self.losses) - 1

    def correct(self, epoch: int = -1, X: np.ndarray = XOR_X, y: np.ndarray = XOR_Y) -> int:
        if not -len(self.losses) <= epoch <= self.epochs:
            raise InputError(f"epoch {epoch}: this run has epochs 0 to {self.epochs}")
        guesses = predict(self.theta1[epoch], self.theta2[epoch], X) > 0.5
        return int(np.sum(guesses == (y > 0.5)))

    def first_correct_epoch(self) -> int | None:
        """The first epoch with all four XOR samples right, or None if the run never gets there."""
        return next((e for e in range(self.epochs + 1) if self.correct(e) == 4), None)


def check_training_knobs(seed: Any, lr: Any, epochs: Any) -> None:
    """Raise an error that says what is allowed if a seed, learning rate or number of epochs
    cannot be trained with (a negative seed, η ≤ 0, a fractional number of epochs, ...)."""
    _check_seed(seed)
    _check_training_knobs(lr, epochs)


def _check_training_knobs(lr: Any, epochs: Any) -> tuple[float, int]:
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.integer, np.floating)):
        raise InputTypeError(f"the learning rate η must be a number such as 1.0, got {lr!r}")
    if not np.isfinite(lr) or lr <= 0:
        raise InputError(f"the learning rate η must be a positive number such as 0.5 or 1.0, "
                         f"got {lr}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)):
        raise InputTypeError(f"the number of epochs must be a whole number such as 2000, "
                             f"got {epochs!r}")
    if epochs < 0:
        raise InputError(f"the number of epochs must be 0 or more, got {epochs}")
    return float(lr), int(epochs)


def train_xor(seed: int = 0, lr: float = 1.0, epochs: int = 2000) -> History:
    """Full-batch gradient descent on XOR with the seed network and the engine's gradients.
    Bad knobs (a negative seed, η ≤ 0, a fractional number of epochs) raise a message that
    says what is allowed."""
    lr, epochs = _check_training_knobs(lr, epochs)
    net = sigmoid_net(*init_sigmoid_params(_check_seed(seed)))
    losses, t1s, t2s = [], [net.theta1.value.copy()], [net.theta2.value.copy()]
    for _ in range(epochs):
        losses.append(net.graph.forward(X=XOR_X, y=XOR_Y))
        net.graph.backward()
        gradient_descent_step(net.graph, lr)
        t1s.append(net.theta1.value.copy())
        t2s.append(net.theta2.value.copy())
    losses.append(net.graph.forward(X=XOR_X, y=XOR_Y))
    return History(losses, t1s, t2s)


# --- many runs at once, in plain numpy ----------------------------------------------------------

def batch_gradients(theta1s: np.ndarray, theta2s: np.ndarray, X: np.ndarray = XOR_X,
                    y: np.ndarray = XOR_Y) -> tuple[np.ndarray, np.ndarray]:
    """∂C/∂θ1 and ∂C/∂θ2 of the mean cross-entropy for a stack of weight pairs at once
    (shapes (runs, 3, hidden) and (runs, hidden+1, 1)), by the formulas
    ∂C/∂θ2 = L2ᵀ(L3 − y)/m and ∂C/∂θ1 = L1ᵀδ2/m with δ2 = ((L3 − y) θ2ᵀ without the bias column)
    ⊙ a2(1 − a2)."""
    return _batch_gradients(_with_bias(X), y, theta1s, theta2s)


def _batch_gradients(L1: np.ndarray, y: np.ndarray, theta1s: np.ndarray,
                     theta2s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = L1.shape[0]
    a2 = _sigmoid(L1 @ theta1s)                                    # (runs, m, hidden)
    L2 = np.concatenate([a2, np.ones(a2.shape[:-1] + (1,))], axis=-1)
    error = (_sigmoid(L2 @ theta2s) - y) / m                       # ∂C/∂z3, (runs, m, 1)
    grad2 = L2.transpose(0, 2, 1) @ error
    delta2 = (error @ theta2s[:, :-1].transpose(0, 2, 1)) * a2 * (1.0 - a2)
    return L1.T @ delta2, grad2


def gradient_norms(history: History) -> np.ndarray:
    """‖∇C‖ = √(Σ (∂C/∂θ)²) over all weights, at every epoch of a run."""
    g1, g2 = batch_gradients(np.stack(history.theta1), np.stack(history.theta2))
    return np.sqrt((g1 ** 2).sum(axis=(1, 2)) + (g2 ** 2).sum(axis=(1, 2)))


def train_many(seeds: Sequence[int], lr: float, epochs: int, hidden: int = 2,
               scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The same full-batch gradient descent as train_xor, for many seeds side by side, with
    `hidden` sigmoid units and starting weights from init_sigmoid_params(seed, scale, hidden).
    Returns the final θ1s (runs, 3, hidden) and θ2s (runs, hidden+1, 1)."""
    lr, epochs = _check_training_knobs(lr, epochs)
    starts = [init_sigmoid_params(s, scale, hidden) for s in seeds]
    theta1s = np.stack([t1 for t1, _ in starts])
    theta2s = np.stack([t2 for _, t2 in starts])
    L1 = _with_bias(XOR_X)                      # made once: the same every epoch
    for _ in range(epochs):
        grad1, grad2 = _batch_gradients(L1, XOR_Y, theta1s, theta2s)
        theta1s, theta2s = theta1s - lr * grad1, theta2s - lr * grad2
    return theta1s, theta2s


def correct_counts(theta1s: np.ndarray, theta2s: np.ndarray, X: np.ndarray = XOR_X,
                   y: np.ndarray = XOR_Y) -> np.ndarray:
    """How many samples each run of a stack classifies correctly."""
    return np.array([int(np.sum((predict(t1, t2, X) > 0.5) == (y > 0.5)))
                     for t1, t2 in zip(theta1s, theta2s)])


def cross_entropy(theta1: np.ndarray, theta2: np.ndarray, X: np.ndarray = XOR_X,
                  y: np.ndarray = XOR_Y) -> float:
    """The mean cross-entropy cost C of one pair of weights, in plain numpy."""
    L3 = predict(theta1, theta2, X)
    return float(-np.mean(y * np.log(L3) + (1.0 - y) * np.log(1.0 - L3)))


# --- a recurrent net, unrolled in time ----------------------------------------------------------

#: h = tanh(s + i) as one node, for the RNN: "the state is the tanh of what the previous state
#: brings plus what the input brings". Its local derivative is 1 − h² for both inputs, so the chain
#: of states carries exactly the factors w and 1 − h_t² of ∂h_T/∂h_t.
tanh_sum = F.new_op("tanh_sum", lambda s, i: np.tanh(s + i),
                    lambda out, s, i: (1.0 - out * out, 1.0 - out * out),
                    formula="tanh({0} + {1})", deriv=("1−{out}²", "1−{out}²"))


@dataclass
class RNN:
    """h_t = tanh(w·h_(t−1) + u·x_t + b) for t = 1..T, E = ½(h_T − y)², as one graph in which the
    shared Params w, u, b feed every time step. Per step t the nodes are wh(t−1) = w·h_(t−1)
    (what the previous state brings), ux(t) = u·x_t, in(t) = ux(t) + b (what the input brings) and
    h(t) = tanh(wh(t−1) + in(t)). Built with copies=True, step t uses its own copies w(t), u(t),
    b(t) of the shared Params (ws[t], us[t], bs[t]); otherwise ws[t] is w itself, and so on."""

    graph: Graph
    T: int
    w: Param
    u: Param
    b: Param
    h: list[Node]    # h[0] is the Input h0, h[t] the state after step t
    y: Node
    E: Node
    ws: list[Node]   # ws[t]: the node that step t multiplies h_(t−1) by (ws[0] is None)
    us: list[Node]   # us[t]: the node that step t multiplies x_t by (us[0] is None)
    bs: list[Node]   # bs[t]: the bias node of step t (bs[0] is None)

    def feed(self, xs: Sequence[float], y: float, h0: float = 0.0) -> dict[str, float]:
        """The inputs of forward() as keywords: h0, x1..xT and y."""
        xs = list(np.ravel(xs))
        if len(xs) != self.T:
            raise InputError(f"this RNN is unrolled over T = {self.T} steps and needs {self.T} "
                             f"inputs x1..x{self.T}, got {len(xs)}")
        return {"h0": float(h0), **{f"x{t}": float(x) for t, x in enumerate(xs, 1)},
                "y": float(y)}


def rnn(T: int = 4, w: float = 0.5, u: float = 1.0, b: float = 0.0, copies: bool = False) -> RNN:
    """A scalar tanh RNN unrolled over T time steps; inputs h0, x1..xT and the target y.

    copies=True gives every time step t its own copy of each shared Param, named w{t}, u{t} and
    b{t} (cg.copy: the same value, local derivative 1). A picture then shows at every step the
    weights that step uses, each with its own gradient, and the gradient of the shared w is the
    sum of its copies' gradients. The values and gradients of all other nodes are the same either
    way."""
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise InputError(f"rnn(T): T is the number of time steps, a whole number ≥ 1; got {T!r}")
    w_, u_, b_ = Param("w", float(w)), Param("u", float(u)), Param("b", float(b))
    h: list[Node] = [Input("h0")]
    ws: list[Node | None] = [None]
    us: list[Node | None] = [None]
    bs: list[Node | None] = [None]
    for t in range(1, T + 1):
        for shared, used in ((w_, ws), (u_, us), (b_, bs)):
            used.append(F.copy(shared, name=f"{shared.name}{t}") if copies else shared)
        wh = F.mul(ws[t], h[-1], name=f"wh{t - 1}")
        came_in = F.add(F.mul(us[t], Input(f"x{t}"), name=f"ux{t}"), bs[t], name=f"in{t}")
        h.append(tanh_sum(wh, came_in, name=f"h{t}"))
    y = Input("y")
    E = F.squared_error(h[-1], y, name="E")
    return RNN(Graph(E), int(T), w_, u_, b_, h, y, E, ws, us, bs)


def rnn_states(xs: Sequence[float], w: float, u: float, b: float, h0: float = 0.0) -> np.ndarray:
    """h_0, h_1, ..., h_T by a plain loop (no graph): h_t = tanh(w·h_(t−1) + u·x_t + b)."""
    hs = [float(h0)]
    for x in np.ravel(xs):
        hs.append(float(np.tanh(w * hs[-1] + u * x + b)))
    return np.array(hs)


def state_gradients(hs: Sequence[float], w: float) -> np.ndarray:
    """∂h_T/∂h_t for t = 0..T by the product formula Π_(s=t+1..T) w·(1 − h_s²) (1 at t = T)."""
    factors = w * (1.0 - np.asarray(hs, dtype=float)[1:] ** 2)     # factor s sits at index s−1
    return np.append(np.cumprod(factors[::-1])[::-1], 1.0)


# --- a helper for the lessons' checks ------------------------------------------------

def jacobian(out: Node, wrt: Node | str, **inputs: Any) -> tuple[np.ndarray, np.ndarray]:
    """∂out/∂wrt for an array-valued node, shaped out.shape + wrt.shape, twice: by backward() and
    by central differences. Row r comes from the scalar Σ(out ⊙ e_r), e_r being 1 at entry r and 0
    elsewhere: that scalar is entry r of `out`, so its gradient is row r."""
    probe = Graph(F.sum(out, name="Σ"))
    probe.forward(**inputs)
    out_shape, wrt_shape = np.shape(probe.value(out)), np.shape(probe.value(wrt))
    by_engine, by_differences = np.zeros(out_shape + wrt_shape), np.zeros(out_shape + wrt_shape)
    for r in np.ndindex(out_shape):
        e_r = np.zeros(out_shape)
        e_r[r] = 1.0
        pick = Graph(F.sum(F.mul(out, Const(e_r, name="e_r")), name="pick"))
        pick.forward(**inputs)
        pick.backward()
        by_engine[r] = pick.grad(wrt)
        by_differences[r] = numeric_grad(pick, wrt, **inputs)
    return by_engine, by_differences


# --- a sigmoid net of any depth, with separate bias vectors -------------------------------------

def _check_widths(widths: Any) -> list[int]:
    try:
        sizes = [int(w) for w in widths]
    except (TypeError, ValueError):
        raise InputTypeError(f"widths must be a list of whole numbers such as [2, 3, 1], "
                             f"got {widths!r}") from None
    if len(sizes) < 2 or any(s < 1 or s != w for s, w in zip(sizes, widths)):
        raise InputError(f"widths must list at least two layer sizes, each 1 or more, "
                         f"such as [2, 3, 1]; got {widths!r}")
    return sizes


def init_layers(widths: Sequence[int], seed: int = 0,
                scale: float = 1.0) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Seeded weights and biases for a net with layer widths [n_1, ..., n_L] (layer 1 is the
    input): W[l] is n_(l−1)×n_l and b[l] a vector of n_l entries, for l = 2..L, all drawn from
    N(0, scale²). One example is a row, so z_l = a_(l−1) W_l + b_l."""
    sizes = _check_widths(widths)
    rng = np.random.default_rng(_check_seed(seed))
    W, b = {}, {}
    for j in range(2, len(sizes) + 1):
        W[j] = rng.normal(0.0, scale, (sizes[j - 2], sizes[j - 1]))
        b[j] = rng.normal(0.0, scale, sizes[j - 1])
    return W, b


@dataclass
class LayeredNet:
    """A sigmoid net of any depth at vector level. Layer 1 is the input X (m×n_1, one example per
    row); for l = 2..L: z_l = a_(l−1) W_l + b_l, a_l = σ(z_l); C is the cross-entropy of a_L
    against y, summed over the output units and averaged over the m examples. The dicts are keyed
    by layer number l."""

    graph: Graph
    X: Node
    y: Node
    W: dict[int, Param]
    b: dict[int, Param]
    z: dict[int, Node]
    a: dict[int, Node]
    C: Node

    @property
    def depth(self) -> int:
        """L, the number of layers, the input layer included."""
        return len(self.W) + 1


def sigmoid_layers_net(widths: Sequence[int] | None = None, W: dict | None = None,
                       b: dict | None = None, seed: int = 0) -> LayeredNet:
    """Build the graph of a sigmoid net from its widths (seeded weights from init_layers) or from
    given W[l], b[l] (l = 2..L). Node names: X, y, W2, b2, z2, a2, …, C."""
    if W is None or b is None:
        W, b = init_layers(widths if widths is not None else [2, 2, 1], seed)
    layers = sorted(W)
    if layers != list(range(2, len(layers) + 2)) or sorted(b) != layers:
        raise InputError("W and b must be dicts keyed by the layer numbers 2, 3, ..., L")
    X, y = Input("X"), Input("y")
    Ws = {j: Param(f"W{j}", W[j]) for j in layers}
    bs = {j: Param(f"b{j}", b[j]) for j in layers}
    a: dict[int, Node] = {1: X}
    z: dict[int, Node] = {}
    for j in layers:
        product = F.matmul(a[j - 1], Ws[j], name=f"a{j - 1}W{j}" if j > 2 else f"XW{j}")
        z[j] = F.add(product, bs[j], name=f"z{j}")
        a[j] = F.sigmoid(z[j], name=f"a{j}")
    last = layers[-1]
    outputs = int(np.shape(W[last])[1])
    if outputs == 1:
        C = F.binary_cross_entropy(a[last], y, name="C")
    else:   # BCE is a mean over all m·n_L entries; times n_L it sums over the outputs
        C = F.mul(Const(float(outputs), name=str(outputs)),
                  F.binary_cross_entropy(a[last], y, name="BCE"), name="C")
    return LayeredNet(Graph(C), X, y, Ws, bs, z, a, C)


def layers_backprop(X: np.ndarray, y: np.ndarray, W: dict[int, np.ndarray],
                    b: dict[int, np.ndarray]) -> dict[str, dict[int, np.ndarray]]:
    """The four equations of backpropagation for the LayeredNet's cost, in plain numpy, rows as
    examples (δ_l = m·∂C/∂z_l, m×n_l):
        δ_L = a_L − y;   δ_l = (δ_(l+1) W_(l+1)ᵀ) ⊙ a_l(1 − a_l);
        ∂C/∂b_l = the mean of δ_l over the examples;   ∂C/∂W_l = a_(l−1)ᵀ δ_l / m.
    Returns {"a": ..., "delta": ..., "W": ..., "b": ...}, each keyed by layer number."""
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    m, L = X.shape[0], max(W)
    a = {1: X}
    for j in range(2, L + 1):
        a[j] = _sigmoid(a[j - 1] @ W[j] + b[j])
    delta = {L: a[L] - y}
    for j in range(L - 1, 1, -1):
        delta[j] = (delta[j + 1] @ W[j + 1].T) * a[j] * (1.0 - a[j])
    return {"a": a, "delta": delta,
            "W": {j: a[j - 1].T @ delta[j] / m for j in range(2, L + 1)},
            "b": {j: delta[j].mean(axis=0) for j in range(2, L + 1)}}
