"""The engine's state promises, checked against an oracle that does not use the engine.

What a pass owns, stated as the API promises it:
  - forward(**inputs) computes a new pass from the inputs and each Param's current value, and
    records its own copies of the leaf values: an Input array or a Param array changed in place
    afterwards changes neither that pass's values nor its gradients. A forward that fails leaves
    no pass (value() and backward() raise OrderError until a forward succeeds).
  - backward() differentiates the last pass at the values that pass used (even if a Param was
    reassigned or changed in place since) and returns {node: gradient}; every gradient is an
    array of its own (or a float) with its node's shape. Changing a returned gradient in place
    changes nothing else; a mapping returned earlier keeps its numbers after later passes. A
    backward that fails leaves no gradients; a new forward() clears them.
  - descend(lr) steps every Param by −lr × its gradient from the last backward().
  - Ops of any arity (cg.new_op) and 0-d array inputs behave the same on every pass; nodes
    shared between two graphs do not carry one graph's pass into the other.

The state machine below builds a small random expression (a list of steps in single-assignment
form, each an op applied to earlier steps, so subexpressions are shared) twice: as compgraph
nodes, and as a spec this file evaluates with numpy itself. Two graphs share its nodes. Rules
interleave forward, backward, gradient and value reads, Param updates (whole and in place, the
natural `W.value -= lr * g.grad(W)` among them), input arrays reused and changed in place, new
ops of arity 1 to 3, passes that fail (log or a square root of a non-positive input), forward
mode, path products, trace, gradcheck and descend. Every number the engine gives is compared
with the spec: values evaluated with numpy, gradients and tangents by central differences on
that numpy function.

The tests after the machine pin each promise down on one small example (the traps listed in the
design notes), so a failure names the promise that broke.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import compgraph as cg

# --- the ops: compgraph's side and the oracle's side ---------------------------------------------

# Three new ops, of arities 3, 1 and 2 (names of their own, so no other test's op is replaced).
FMA3 = cg.new_op("state_fma3", lambda a, b, c: a * b + c,
                 lambda out, a, b, c: (b, a, 1.0), deriv=("{1}", "{0}", "1"))
CUBE = cg.new_op("state_cube", lambda a: a * a * a, lambda out, a: (3.0 * a * a,),
                 deriv=("3{0}²",))
SMUL = cg.new_op("state_smul", lambda a, b: a * np.sin(b),
                 lambda out, a, b: (np.sin(b), a * np.cos(b)), deriv=("sin({1})", "{0}·cos({1})"))

#: How each op is built in compgraph (operators where a learner would write them).
BUILD = {
    "add": lambda a, b: a + b,
    "sub": cg.sub,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "sin": cg.sin, "cos": cg.cos, "tanh": cg.tanh, "sigmoid": cg.sigmoid, "exp": cg.exp,
    "log": cg.log,
    "square": lambda a: a ** 2,
    "sqrt": lambda a: a ** 0.5,
    "sum": cg.sum,
    "fma3": FMA3, "cube": CUBE, "smul": SMUL,
}

#: The same ops in numpy, written here (the oracle never calls compgraph).
ORACLE = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
    "sin": np.sin, "cos": np.cos, "tanh": np.tanh,
    "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a)),
    "exp": np.exp, "log": np.log, "square": np.square,
    "sqrt": lambda a: np.power(a, 0.5),
    "sum": np.sum,
    "fma3": lambda a, b, c: a * b + c,
    "cube": lambda a: a * a * a,
    "smul": lambda a, b: a * np.sin(b),
}

#: Ops a step may apply; log and sqrt apply to the Input "pos" only, whose values the machine
#: chooses positive (the pass works), zero or negative (the pass fails, or for a square root at
#: 0 the value works and its local derivative is infinite, so backward fails).
STEP_KINDS = ["add", "sub", "mul", "div", "sin", "cos", "tanh", "sigmoid", "exp", "square",
              "fma3", "cube", "smul", "log", "sqrt"]

H = 1e-6  # central-difference step


@dataclass
class Step:
    kind: str                   # "input", "param", "const" or an op name
    args: tuple[int, ...] = ()  # earlier steps, for an op
    name: str = ""              # for a leaf
    value: Any = None           # for a const
    bound: float = 0.0          # |value| <= bound, elementwise
    shape: tuple[int, ...] = ()
    node: Any = field(default=None, repr=False)


def grid(shape: tuple[int, ...], lo: int = -32, hi: int = 32) -> st.SearchStrategy:
    """Values k/16 with lo <= k <= hi: a float for shape (), else an array."""
    if shape == ():
        return st.integers(lo, hi).map(lambda k: k / 16)
    n = math.prod(shape)
    return st.lists(st.integers(lo, hi), min_size=n, max_size=n).map(
        lambda ks: np.array(ks, float).reshape(shape) / 16)


def _arr(v: Any) -> np.ndarray:
    return np.array(v, dtype=float)  # a copy, always


# --- the machine ---------------------------------------------------------------------------------

LEAF_BOUND = 4.0   # inputs and pos stay within ±4 (changes in place are limited by preconditions)
PARAM_LIMIT = 3.0  # Params are changed only while within ±3 (a step moves them by at most 0.5)


class EngineMachine(RuleBasedStateMachine):

    # ..... building the expression, twice .....

    def _add(self, step: Step) -> int:
        if step.kind in ("input", "param", "const"):
            if step.kind == "input":
                step.node = cg.Input(step.name)
            elif step.kind == "param":
                step.node = cg.Param(step.name, step.value)
            else:
                step.node = cg.Const(step.value)
        else:
            step.node = BUILD[step.kind](*(self.steps[a].node for a in step.args))
            step.shape = np.broadcast_shapes(*(self.steps[a].shape for a in step.args)) \
                if step.kind != "sum" else ()
        self.steps.append(step)
        return len(self.steps) - 1

    def _const(self, value: float) -> int:
        return self._add(Step("const", value=value, bound=abs(value), shape=()))

    def _tame(self, i: int, limit: float) -> int:
        """Scale step i into [-limit, limit] by a constant factor (a const and a mul step)."""
        s = self.steps[i]
        if s.bound <= limit:
            return i
        c = self._const(limit / s.bound)
        return self._add(Step("mul", (i, c), bound=limit))

    def _op(self, kind: str, picks: list[int]) -> int:
        if kind in ("sin", "cos", "tanh", "sigmoid"):
            return self._add(Step(kind, (picks[0],), bound=1.0))
        if kind == "exp":
            a = self._tame(picks[0], 3.0)
            return self._add(Step("exp", (a,), bound=math.exp(3.0)))
        if kind in ("square", "cube"):
            a = self._tame(picks[0], 4.0 if kind == "square" else 2.5)
            return self._add(Step(kind, (a,), bound=self.steps[a].bound ** (2 if kind == "square"
                                                                              else 3)))
        if kind in ("add", "sub"):
            a, b = self._tame(picks[0], 16.0), self._tame(picks[1], 16.0)
            return self._add(Step(kind, (a, b), bound=self.steps[a].bound + self.steps[b].bound))
        if kind == "mul":
            a, b = self._tame(picks[0], 4.0), self._tame(picks[1], 4.0)
            return self._add(Step("mul", (a, b), bound=self.steps[a].bound * self.steps[b].bound))
        if kind == "div":  # a / (1 + b²): the divisor is at least 1
            a, b = self._tame(picks[0], 16.0), self._tame(picks[1], 4.0)
            sq = self._add(Step("square", (b,), bound=16.0))
            den = self._add(Step("add", (self._const(1.0), sq), bound=17.0))
            return self._add(Step("div", (a, den), bound=self.steps[a].bound))
        if kind == "fma3":
            a, b, c = (self._tame(picks[0], 4.0), self._tame(picks[1], 4.0),
                       self._tame(picks[2], 8.0))
            bound = self.steps[a].bound * self.steps[b].bound + self.steps[c].bound
            return self._add(Step("fma3", (a, b, c), bound=bound))
        if kind == "smul":
            a = self._tame(picks[0], 16.0)
            return self._add(Step("smul", (a, picks[1]), bound=self.steps[a].bound))
        if kind == "log":  # log(pos): pos in [1/16, 4] when the pass works
            return self._add(Step("log", (self.pos,), bound=3.0))
        if kind == "sqrt":
            return self._add(Step("sqrt", (self.pos,), bound=2.0))
        raise AssertionError(kind)

    @initialize(data=st.data())
    def build(self, data):
        self.steps: list[Step] = []
        self.arrays_mode = data.draw(st.booleans(), label="arrays")
        full = (3,) if self.arrays_mode else ()
        shapes = st.sampled_from([full, full, ()]) if self.arrays_mode else st.just(())
        for i in range(data.draw(st.integers(1, 2), label="inputs")):
            self._add(Step("input", name=f"x{i}", bound=LEAF_BOUND, shape=data.draw(shapes)))
        self.pos = None
        if data.draw(st.booleans(), label="pos"):
            self.pos = self._add(Step("input", name="pos", bound=LEAF_BOUND,
                                      shape=data.draw(shapes)))
        for i in range(data.draw(st.integers(1, 2), label="params")):
            shape = data.draw(shapes)
            self._add(Step("param", name=f"w{i}", value=data.draw(grid(shape)),
                           bound=LEAF_BOUND, shape=shape))
        if data.draw(st.booleans(), label="const"):
            self._const(data.draw(grid(())))
        used: set[int] = set()
        pool = list(range(len(self.steps)))
        for n in range(data.draw(st.integers(2, 6), label="steps")):
            kind = data.draw(st.sampled_from(STEP_KINDS), label="kind")
            if n == 0 and self.pos is not None:  # pos is there to be used: log or sqrt first
                kind = data.draw(st.sampled_from(["log", "sqrt"]), label="pos op")
            if kind in ("log", "sqrt") and self.pos is None:
                kind = "sin"
            picks = [data.draw(st.sampled_from(pool), label="arg") for _ in range(3)]
            i = self._op(kind, picks)
            used.update(self.steps[i].args)
            used.update(p for p in picks[:{"fma3": 3, "add": 2, "sub": 2, "mul": 2, "div": 2,
                                           "smul": 2}.get(kind, 1)])
            if kind in ("log", "sqrt"):
                used.add(self.pos)
            pool.append(i)
        # the first graph's output: the sum of every step nobody consumed (so every leaf is in it)
        sinks = [i for i in pool if i not in used]
        total = sinks[0]
        for s in sinks[1:]:
            total = self._op("add", [total, s])
        if self.steps[total].shape != ():
            total = self._add(Step("sum", (total,), bound=self.steps[total].bound * 3))
        # the second graph shares a subexpression of the first
        j = data.draw(st.sampled_from(pool), label="shared")
        t = self._add(Step("tanh", (self._tame(j, 16.0),), bound=1.0))
        if data.draw(st.booleans(), label="second factor"):
            t = self._op("mul", [t, data.draw(st.sampled_from(pool), label="factor")])
        if self.steps[t].shape != ():
            t = self._add(Step("sum", (t,), bound=self.steps[t].bound * 3))
        self.outs = [total, t]
        self.graphs = [cg.Graph(self.steps[total].node), cg.Graph(self.steps[t].node)]
        self.index = {id(s.node): i for i, s in enumerate(self.steps)}
        self.members = [self._reach(o) for o in self.outs]  # the steps of each graph
        for g, members in zip(self.graphs, self.members):
            assert {id(n) for n in g.nodes} == {id(self.steps[i].node) for i in members}
        # the model of the engine's state
        self.params = {s.name: s.node for s in self.steps if s.kind == "param"}
        self.pvals = {name: (p.value.copy() if isinstance(p.value, np.ndarray) else p.value)
                      for name, p in self.params.items()}
        self.given: dict[str, Any] = {}     # the object last passed for each input
        self.passes: list[dict | None] = [None, None]  # leaf values each graph's pass used
        self.has_grads = [False, False]
        self.oracle_cache: list[dict | None] = [None, None]
        self.saved: list[tuple[Any, dict, float]] = []  # (mapping, expected gradients, scale)

    def _reach(self, out: int) -> list[int]:
        seen, todo = {out}, [out]
        while todo:
            for a in self.steps[todo.pop()].args:
                if a not in seen:
                    seen.add(a)
                    todo.append(a)
        return sorted(seen)

    # ..... the oracle .....

    def evaluate(self, leaves: dict[str, np.ndarray], override: dict[int, np.ndarray] | None = None
                 ) -> list[np.ndarray]:
        vals: list[np.ndarray] = []
        with np.errstate(all="ignore"):
            for i, s in enumerate(self.steps):
                if override is not None and i in override:
                    v = override[i]
                elif s.kind in ("input", "param"):
                    v = leaves.get(s.name, np.nan)  # (a leaf of the other graph only)
                elif s.kind == "const":
                    v = s.value
                else:
                    v = ORACLE[s.kind](*(vals[a] for a in s.args))
                vals.append(np.asarray(v, dtype=float))
        return vals

    def leaf_names(self, k: int) -> list[str]:
        return [self.steps[i].name for i in self.members[k]
                if self.steps[i].kind in ("input", "param")]

    def input_names(self, k: int) -> list[str]:
        return [self.steps[i].name for i in self.members[k] if self.steps[i].kind == "input"]

    def oracle(self, k: int) -> dict:
        """Values of graph k's pass, which step fails, and (when backward works) every step's
        gradient by central differences."""
        if self.oracle_cache[k] is not None:
            return self.oracle_cache[k]
        leaves = self.passes[k]
        assert leaves is not None
        result = self.judge(k, leaves)
        if result["forward_error"] is None and result["backward_error"] is None:
            vals = result["values"]
            out = self.outs[k]
            grads = {}
            for i in self.members[k]:
                base = vals[i]
                g = np.zeros(base.shape)
                for e in np.ndindex(base.shape):
                    up, down = base.copy(), base.copy()
                    up[e] += H
                    down[e] -= H
                    fu = float(self.evaluate(leaves, {i: up})[out])
                    fd = float(self.evaluate(leaves, {i: down})[out])
                    g[e] = (fu - fd) / (2 * H)
                grads[i] = g
            result["grads"] = grads
        self.oracle_cache[k] = result
        return result

    def judge(self, k: int, leaves: dict[str, np.ndarray]) -> dict:
        """Whether a pass of graph k at these leaf values fails in forward (the names of the
        steps whose value is not finite) or in backward (a square root at 0)."""
        vals = self.evaluate(leaves)
        bad = [i for i in self.members[k] if not np.all(np.isfinite(vals[i]))]
        forward_error = [self.steps[i].node.name for i in bad
                         if self.steps[i].kind in ("log", "sqrt")] if bad else None
        assert bad == [] or forward_error, "only log and sqrt can fail here"
        backward_error = None
        if not bad:
            roots = [i for i in self.members[k] if self.steps[i].kind == "sqrt"
                     and np.any(vals[self.steps[i].args[0]] == 0.0)]
            backward_error = [self.steps[i].node.name for i in roots] or None
        return {"values": vals, "forward_error": forward_error, "backward_error": backward_error,
                "scale": max(1.0, abs(float(vals[self.outs[k]]))) if not bad else 1.0}

    def close(self, got: Any, want: np.ndarray, scale: float, what: str) -> None:
        assert np.shape(got) == want.shape, f"{what}: shape {np.shape(got)}, want {want.shape}"
        assert isinstance(got, (float, np.ndarray)), f"{what}: {type(got).__name__}"
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6 * scale, err_msg=what)

    # ..... drawing inputs .....

    def draw_inputs(self, k: int, data) -> dict[str, Any]:
        given = {}
        for name in self.input_names(k):
            i = next(j for j, s in enumerate(self.steps) if s.name == name)
            shape = self.steps[i].shape
            old = self.given.get(name)
            if old is not None and data.draw(st.booleans(), label=f"reuse {name}"):
                given[name] = old  # the very object passed before (maybe changed in place)
                continue
            if name == "pos":
                mode = data.draw(st.sampled_from(["ok", "ok", "ok", "zero", "negative"]),
                                 label="pos mode")
                value = data.draw(grid(shape, 1, 32), label="pos")
                if mode != "ok":
                    bad = 0.0 if mode == "zero" else -data.draw(grid((), 1, 16))
                    if shape == ():
                        value = bad
                    else:
                        value = value.copy()
                        value[data.draw(st.integers(0, 2))] = bad
            else:
                value = data.draw(grid(shape), label=name)
            if shape == () and data.draw(st.booleans(), label="0-d array"):
                value = np.array(value)  # a 0-d array: the same as the number, on every pass
            given[name] = value
        self.given.update(given)
        return given

    def leaves_for(self, k: int, given: dict[str, Any]) -> dict[str, np.ndarray]:
        """The leaf values a pass with these inputs uses: the oracle's own copies."""
        leaves = {name: _arr(v) for name, v in given.items()}
        for name in self.leaf_names(k):
            if name in self.pvals:
                leaves[name] = _arr(self.pvals[name])
        return leaves

    # ..... rules .....

    def _expect_pass(self, k: int, given: dict[str, Any], call) -> Any:
        """Run `call` (which runs a forward pass of graph k on `given`) and check it fails
        exactly when the oracle says forward fails; update the model of graph k's pass."""
        leaves = self.leaves_for(k, given)
        verdict = self.judge(k, leaves)
        self.oracle_cache[k] = None
        self.has_grads[k] = False
        if verdict["forward_error"]:
            self.passes[k] = None
            with pytest.raises(cg.DomainError) as caught:
                call()
            message = str(caught.value)
            assert any(name in message for name in verdict["forward_error"]), message
            return None
        self.passes[k] = leaves
        return call()

    @rule(k=st.sampled_from([0, 1]), data=st.data())
    def forward(self, k, data):
        g = self.graphs[k]
        given = self.draw_inputs(k, data)
        out = self._expect_pass(k, given, lambda: g.forward(**given))
        if self.passes[k] is not None:
            o = self.oracle(k)
            self.close(out, o["values"][self.outs[k]], o["scale"], "forward()'s result")

    @rule(k=st.sampled_from([0, 1]), check_now=st.booleans())
    def backward(self, k, check_now):
        g = self.graphs[k]
        if self.passes[k] is None:
            with pytest.raises(cg.OrderError):
                g.backward()
            return
        o = self.oracle(k)
        if o["forward_error"] is None and o["backward_error"]:
            self.has_grads[k] = False
            with pytest.raises(cg.DomainError) as caught:
                g.backward()
            message = str(caught.value)
            assert any(name in message for name in o["backward_error"]), message
            for i in self.members[k]:  # nothing half-summed is left to read
                with pytest.raises(cg.OrderError):
                    g.grad(self.steps[i].node)
            return
        grads = g.backward()
        self.has_grads[k] = True
        expected = {self.steps[i].node: o["grads"][i] for i in self.members[k]}
        if check_now:
            arrays = []
            for node, want in expected.items():
                got = grads[node]
                self.close(got, want, o["scale"], f"backward()[{node.name}]")
                if isinstance(got, np.ndarray):
                    arrays.append((node, got))
            # every gradient an array of its own: no two share memory, nor with a Param's or an
            # input's array (changing one in place must not change another)
            others = [*arrays,
                      *[(p, p.value) for p in self.params.values()
                        if isinstance(p.value, np.ndarray)],
                      *[(name, v) for name, v in self.given.items() if isinstance(v, np.ndarray)]]
            for a, (na, ga) in enumerate(arrays):
                for nb, gb in others[a + 1:]:
                    assert not np.shares_memory(ga, gb), (na, nb)
        self.saved.append((grads, expected, o["scale"]))
        del self.saved[:-3]

    @rule(k=st.sampled_from([0, 1]), data=st.data(), change=st.sampled_from(["", "*=", "fill"]))
    def read_grad(self, k, data, change):
        i = data.draw(st.sampled_from(self.members[k]), label="node")
        node = self.steps[i].node
        g = self.graphs[k]
        if not self.has_grads[k]:
            with pytest.raises(cg.OrderError):
                g.grad(node)
            return
        o = self.oracle(k)
        got = g.grad(node)
        self.close(got, o["grads"][i], o["scale"], f"grad({node.name})")
        if isinstance(got, np.ndarray) and change:  # the learner scales what they were given
            if change == "*=":
                got *= 3.0
            else:
                got.fill(7.0)
            self.close(g.grad(node), o["grads"][i], o["scale"], f"grad({node.name}) again")

    @rule(k=st.sampled_from([0, 1]), data=st.data())
    def read_value(self, k, data):
        i = data.draw(st.sampled_from(self.members[k]), label="node")
        node = self.steps[i].node
        g = self.graphs[k]
        if self.passes[k] is None:
            with pytest.raises(cg.OrderError):
                g.value(node)
            return
        o = self.oracle(k)
        self.close(g.value(node), o["values"][i], max(1.0, self.steps[i].bound),
                   f"value({node.name})")

    @precondition(lambda self: self.saved)
    @rule()
    def reread_saved_gradients(self):
        for grads, expected, scale in self.saved:
            for node, want in expected.items():
                self.close(grads[node], want, scale, f"an earlier backward()'s [{node.name}]")

    @rule(data=st.data())
    def assign_param(self, data):
        name = data.draw(st.sampled_from(sorted(self.params)), label="param")
        p = self.params[name]
        new = data.draw(grid(np.shape(self.pvals[name])), label="new value")
        p.value = new  # the whole value replaced
        self.pvals[name] = _arr(new) if isinstance(new, np.ndarray) else new

    @rule(data=st.data(), how=st.sampled_from(["index", "copyto", "scale", "sgd"]))
    def change_param(self, data, how):
        name = data.draw(st.sampled_from(sorted(self.params)), label="param")
        p = self.params[name]
        model = self.pvals[name]
        if np.max(np.abs(model)) > PARAM_LIMIT:
            how = "copyto"
        if how == "sgd":  # the natural training loop: W.value -= lr * g.grad(W), in place
            ks = [k for k in (0, 1) if self.has_grads[k] and name in self.leaf_names(k)]
            if not ks:
                how = "scale"
            else:
                k = ks[0]
                o = self.oracle(k)
                i = self.index[id(p)]
                grad = self.graphs[k].grad(p)
                self.close(grad, o["grads"][i], o["scale"], f"grad({name})")
                step = 0.5 / max(1.0, float(np.max(np.abs(grad))))
                if isinstance(model, np.ndarray):
                    p.value -= step * grad
                    model -= step * grad
                else:
                    p.value -= step * grad  # a float: a new value, as Python does it
                    self.pvals[name] = float(model - step * grad)
                return
        if not isinstance(model, np.ndarray):  # a float Param: += makes a new value
            delta = data.draw(grid((), -8, 8), label="delta")
            p.value += delta
            self.pvals[name] = model + delta
            return
        if how == "index":
            delta = data.draw(grid((), -8, 8), label="delta")
            p.value[0] += delta
            model[0] += delta
        elif how == "copyto":
            new = data.draw(grid(model.shape), label="new value")
            np.copyto(p.value, new)
            np.copyto(model, new)
        else:
            p.value *= -0.5
            model *= -0.5

    @rule(data=st.data(), how=st.sampled_from(["*= 2", "[0] += 1/16", "fill"]))
    def change_input_in_place(self, data, how):
        arrays = sorted(n for n, v in self.given.items() if isinstance(v, np.ndarray))
        if not arrays:
            return
        name = data.draw(st.sampled_from(arrays), label="input")
        a = self.given[name]
        if how == "*= 2" and np.max(np.abs(a)) <= LEAF_BOUND / 2:
            a *= 2
        elif how == "[0] += 1/16" and a.ndim and np.max(np.abs(a)) < 2:
            a[0] += 1 / 16
        else:
            a.fill(data.draw(grid((), 1, 16), label="fill"))  # also a 0-d array, in place

    @rule(k=st.sampled_from([0, 1]), lr=st.sampled_from([0.01, 0.05]))
    def descend(self, k, lr):
        g = self.graphs[k]
        if not self.has_grads[k]:
            with pytest.raises(cg.OrderError):
                g.descend(lr)
            return
        names = [n for n in self.leaf_names(k) if n in self.params]
        if any(np.max(np.abs(self.pvals[n])) > PARAM_LIMIT for n in names):
            return  # keep the Params where the oracle's bounds hold
        o = self.oracle(k)
        if any(np.max(np.abs(o["grads"][self.index[id(self.params[n])]])) > 10 for n in names):
            return
        g.descend(lr)
        for n in names:
            want = _arr(self.pvals[n]) - lr * o["grads"][self.index[id(self.params[n])]]
            got = self.params[n].value
            np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-6 * o["scale"] * lr,
                                       err_msg=f"descend: Param {n}")
            self.pvals[n] = got.copy() if isinstance(got, np.ndarray) else got

    def _resync(self, k: int, given: dict[str, Any]) -> None:
        """forward_mode, trace and gradcheck run passes of their own; a forward() afterwards
        puts graph k in a state the model knows, whatever they left."""
        self._expect_pass(k, given, lambda: self.graphs[k].forward(**given))

    @rule(k=st.sampled_from([0, 1]), data=st.data())
    def forward_mode(self, k, data):
        g = self.graphs[k]
        given = self.draw_inputs(k, data)
        leaves = self.leaves_for(k, given)
        verdict = self.judge(k, leaves)
        if not self.leaf_names(k):
            return  # (a graph of constants)
        name = data.draw(st.sampled_from(self.leaf_names(k)), label="wrt")
        i = next(j for j in self.members[k] if self.steps[j].name == name)
        shape = np.shape(leaves[name])
        index = None if shape == () else \
            np.unravel_index(data.draw(st.integers(0, math.prod(shape) - 1)), shape)
        call = (lambda: g.forward_mode(self.steps[i].node, **given)) if index is None else \
            (lambda: g.forward_mode(self.steps[i].node, index=tuple(int(t) for t in index),
                                    **given))
        if verdict["forward_error"]:
            with pytest.raises(cg.DomainError):
                call()
        elif verdict["backward_error"]:
            # a square root at 0 has an infinite local derivative: its tangent is not finite
            # when one flows through it; when none does, 0 is right too
            try:
                self._check_tangents(k, call(), leaves, i, index, verdict)
            except cg.CompgraphError:
                pass
        else:
            self._check_tangents(k, call(), leaves, i, index, verdict)
        self._resync(k, given)

    def _check_tangents(self, k, tangents, leaves, i, index, verdict) -> None:
        base = self.evaluate(leaves)
        up, down = base[i].copy(), base[i].copy()
        e = () if index is None else tuple(index)
        up[e] += H
        down[e] -= H
        plus, minus = self.evaluate(leaves, {i: up}), self.evaluate(leaves, {i: down})
        for j in self.members[k]:
            node = self.steps[j].node
            want = (plus[j] - minus[j]) / (2 * H)
            self.close(tangents[node], want, max(1.0, self.steps[j].bound) * 10,
                       f"forward_mode tangent of {node.name}")

    @precondition(lambda self: not self.arrays_mode)
    @rule(k=st.sampled_from([0, 1]), data=st.data())
    def paths(self, k, data):
        g = self.graphs[k]
        if not self.leaf_names(k):
            return  # (a graph of constants)
        name = data.draw(st.sampled_from(self.leaf_names(k)), label="wrt")
        leaf = next(self.steps[j].node for j in self.members[k] if self.steps[j].name == name)
        if self.passes[k] is None:
            with pytest.raises(cg.OrderError):
                g.paths(leaf)
            return
        o = self.oracle(k)
        if o["backward_error"] and name == "pos":
            with pytest.raises(cg.CompgraphError):
                g.paths(leaf)  # an infinite local derivative on the way: no -inf products
            return
        found = g.paths(leaf)
        for path in found:
            assert all(math.isfinite(f) for f in path.factors), path
        if not o["backward_error"]:
            total = math.fsum(p.product for p in found)
            self.close(total, o["grads"][self.index[id(leaf)]], o["scale"], f"paths({name})")

    @rule(k=st.sampled_from([0, 1]), data=st.data())
    def trace(self, k, data):
        g = self.graphs[k]
        given = self.draw_inputs(k, data)
        verdict = self.judge(k, self.leaves_for(k, given))
        if verdict["forward_error"] or verdict["backward_error"]:
            with pytest.raises(cg.DomainError):
                g.trace(**given)
            self._resync(k, given)
        else:
            steps = g.trace(**given)
            self._resync(k, given)  # (the same inputs: the oracle of this trace's pass)
            o = self.oracle(k)
            last_total = {}
            for s in steps:
                if s.kind == "forward":
                    j = self.index[id(s.node)]
                    self.close(s.value, o["values"][j], max(1.0, self.steps[j].bound),
                               f"trace: value of {s.node.name}")
                else:
                    last_total[s.child] = s.total
            for node, total in last_total.items():
                self.close(total, o["grads"][self.index[id(node)]], o["scale"],
                           f"trace: gradient of {node.name}")

    @rule(k=st.sampled_from([0, 1]), data=st.data())
    def gradcheck(self, k, data):
        g = self.graphs[k]
        given = self.draw_inputs(k, data)
        verdict = self.judge(k, self.leaves_for(k, given))
        if verdict["forward_error"] or verdict["backward_error"]:
            with pytest.raises(cg.DomainError):
                cg.gradcheck(g, **given)
        else:
            assert cg.gradcheck(g, **given) < 1e-4
        self._resync(k, given)

    @invariant()
    def params_hold_what_was_written(self):
        for name, p in getattr(self, "params", {}).items():
            assert type(p.value) is type(self.pvals[name]), name
            assert np.array_equal(p.value, self.pvals[name]), name


EngineMachine.TestCase.settings = settings(max_examples=250, stateful_step_count=50)
TestEngineState = EngineMachine.TestCase


# --- each promise on one small example ---------------------------------------------------------

def _sum_w_x():
    W, x = cg.Param("W", np.array([1.0, 2.0])), cg.Input("x")
    return W, x, cg.Graph(cg.sum(W * x))


def test_the_natural_training_loop_reads_the_gradient_of_its_own_pass():
    W, x, g = _sum_w_x()
    x_arr = np.array([3.0, 4.0])
    lr = 0.5
    for _ in range(4):
        w_before = W.value.copy()
        g.forward(x=x_arr)
        g.backward()
        W.value -= lr * g.grad(W)  # in place, as a learner writes it
        np.testing.assert_array_equal(g.grad(x), w_before)  # ∂out/∂x = that pass's W
        np.testing.assert_array_equal(g.grad(W), x_arr)


@pytest.mark.parametrize("change", ["w.value[0] += 1", "np.copyto", "w.value *= 10",
                                    "w.value = ..."])
def test_a_param_changed_after_forward_does_not_change_that_pass(change):
    w, x = cg.Param("w", np.array([1.0, 2.0])), cg.Input("x")
    g = cg.Graph(cg.sum(w * w * x, name="out"))
    assert g.forward(x=np.array([3.0, 4.0])) == 19.0
    if change == "w.value[0] += 1":
        w.value[0] += 1
    elif change == "np.copyto":
        np.copyto(w.value, [5.0, 6.0])
    elif change == "w.value *= 10":
        w.value *= 10
    else:
        w.value = np.array([7.0, 8.0])
    after = w.value.copy()
    grads = g.backward()  # ∂/∂w of Σ w²x = 2wx at the pass's w = [1, 2]
    np.testing.assert_array_equal(grads[w], [6.0, 16.0])
    np.testing.assert_array_equal(g.grad(x), [1.0, 4.0])
    np.testing.assert_array_equal(g.value(w), [1.0, 2.0])
    assert g.value("out") == 19.0
    np.testing.assert_array_equal(w.value, after)  # backward leaves the Param as it is now
    g.forward(x=np.array([3.0, 4.0]))  # the next pass uses the new value
    g.backward()
    np.testing.assert_array_equal(g.grad(w), 2 * after * [3.0, 4.0])


def test_an_input_array_changed_in_place_after_forward_does_not_change_that_pass():
    w, x = cg.Param("w", np.array([1.0, 2.0])), cg.Input("x")
    g = cg.Graph(cg.sum(cg.square(w) * x))
    x_arr = np.array([3.0, 4.0])
    g.forward(x=x_arr)
    x_arr *= 2
    g.backward()
    np.testing.assert_array_equal(g.grad(w), [6.0, 16.0])
    np.testing.assert_array_equal(g.value(x), [3.0, 4.0])
    g.forward(x=x_arr)  # the same array again, changed: the new numbers count
    g.backward()
    np.testing.assert_array_equal(g.grad(w), [12.0, 32.0])


def test_gradients_are_arrays_of_their_own():
    u, v = cg.Input("u"), cg.Input("v")
    g = cg.Graph(cg.sum(cg.sin(u + v)))
    g.forward(u=np.array([0.1, 0.2]), v=np.array([0.3, 0.4]))
    grads = g.backward()
    want = np.cos([0.4, 0.6])
    gu, gv = g.grad(u), g.grad(v)
    assert gu is not gv and not np.shares_memory(gu, gv)
    gu *= 0.1  # s = g.grad(u); s *= lr
    np.testing.assert_allclose(g.grad(u), want, rtol=1e-15)
    np.testing.assert_allclose(g.grad(v), want, rtol=1e-15)
    np.testing.assert_allclose(grads[u], want, rtol=1e-15)
    np.testing.assert_allclose(grads[v], want, rtol=1e-15)
    arrays = [grads[n] for n in g.nodes if isinstance(grads[n], np.ndarray)]
    for a in range(len(arrays)):
        for b in range(a + 1, len(arrays)):
            assert not np.shares_memory(arrays[a], arrays[b])


def test_an_earlier_gradient_map_keeps_its_numbers():
    w, x = cg.Param("w", 2.0), cg.Input("x")
    g = cg.Graph(cg.sin(w * x))
    for at in (0.5, 0.25):  # a few passes first: the state of a graph that has trained a while
        g.forward(x=at)
        g.backward()
    g.forward(x=1.0)
    first = g.backward()  # nothing read yet: its numbers must still be those of this pass
    g.forward(x=3.0)
    second = g.backward()
    assert first[x] == pytest.approx(2.0 * math.cos(2.0), rel=1e-14)
    assert first[w] == pytest.approx(1.0 * math.cos(2.0), rel=1e-14)
    assert second[x] == pytest.approx(2.0 * math.cos(6.0), rel=1e-14)
    g.forward(x=5.0)  # a forward without backward does not change either
    assert first[x] == pytest.approx(2.0 * math.cos(2.0), rel=1e-14)


def test_a_failed_forward_leaves_no_pass():
    x = cg.Input("x")
    g = cg.Graph(cg.log(x, name="lg"))
    g.forward(x=2.0)
    g.backward()
    with pytest.raises(cg.DomainError, match="lg"):
        g.forward(x=-1.0)
    for call in (lambda: g.value(x), lambda: g.value("lg"), g.backward, lambda: g.grad(x),
                 lambda: g.descend(0.1), lambda: g.paths(x)):
        with pytest.raises(cg.OrderError):
            call()
    assert g.forward(x=1.0) == 0.0


def test_a_failed_backward_leaves_no_gradients_and_fails_again_the_same_way():
    x, y = cg.Input("x"), cg.Input("y")
    r = cg.power(x, 0.5, name="root")
    g = cg.Graph(r * y + cg.sin(y))
    g.forward(x=4.0, y=1.0)
    g.backward()
    g.forward(x=0.0, y=1.0)
    for _ in range(2):
        with pytest.raises(cg.DomainError, match="root"):
            g.backward()
        for node in g.nodes:
            with pytest.raises(cg.OrderError):
                g.grad(node)
    assert g.value(r) == 0.0  # the pass itself is fine
    g.forward(x=4.0, y=1.0)
    g.backward()
    assert g.grad(y) == pytest.approx(2.0 + math.cos(1.0), rel=1e-14)
    assert g.grad(x) == pytest.approx(0.25, rel=1e-14)


def test_a_new_forward_clears_the_gradients():
    W, x, g = _sum_w_x()
    g.forward(x=np.array([3.0, 4.0]))
    g.backward()
    g.forward(x=np.array([5.0, 6.0]))
    with pytest.raises(cg.OrderError):
        g.grad(W)
    with pytest.raises(cg.OrderError):
        g.descend(0.1)


def test_descend_steps_by_the_gradient_of_the_last_backward():
    W, x, g = _sum_w_x()
    g.forward(x=np.array([3.0, 4.0]))
    g.backward()
    W.value[0] = 10.0  # changed after backward: the step starts from the value now
    g.descend(0.5)
    np.testing.assert_array_equal(W.value, [10.0 - 1.5, 2.0 - 2.0])


def _fma3_graph(star: bool):
    if star:  # written with *xs: the arity comes from deriv
        fma3 = cg.new_op("state_fma3_star", lambda *xs: xs[0] * xs[1] + xs[2],
                         lambda out, *xs: (xs[1], xs[0], 1.0), deriv=("{1}", "{0}", "1"))
    else:
        fma3 = cg.new_op("state_fma3_example", lambda a, b, c: a * b + c,
                         lambda out, a, b, c: (b, a, 1.0), deriv=("{1}", "{0}", "1"))
    a, b, c = cg.Input("a"), cg.Input("b"), cg.Param("c", 1.0)
    return a, b, c, cg.Graph(cg.sin(fma3(a, b, c, name="f")))


@pytest.mark.parametrize("star", [False, True], ids=["a, b, c", "*xs"])
def test_an_op_of_three_inputs_works_on_every_pass(star):
    a, b, c, g = _fma3_graph(star)
    for _ in range(4):
        assert g.forward(a=2.0, b=3.0) == pytest.approx(math.sin(7.0), rel=1e-15)
        grads = g.backward()
        cos7 = math.cos(7.0)
        assert grads[a] == pytest.approx(3 * cos7) and grads[b] == pytest.approx(2 * cos7)
        assert grads[c] == pytest.approx(cos7)
        tangents = g.forward_mode(b, a=2.0, b=3.0)
        assert tangents[g.output] == pytest.approx(2 * cos7, rel=1e-14)
        g.forward(a=2.0, b=3.0)
        assert math.fsum(p.product for p in g.paths(a)) == pytest.approx(3 * cos7, rel=1e-14)
        assert cg.gradcheck(g, a=2.0, b=3.0) < 1e-6
        steps = g.trace(a=2.0, b=3.0)
        assert steps.backward_steps[-1].total == pytest.approx(g.grad(steps[-1].child))


def test_an_op_of_three_inputs_on_arrays_works_on_every_pass():
    fma3 = cg.new_op("state_fma3_arrays", lambda a, b, c: a * b + c,
                     lambda out, a, b, c: (b, a, 1.0), deriv=("{1}", "{0}", "1"))
    a, b, c = cg.Input("a"), cg.Input("b"), cg.Param("c", np.array([1.0, 2.0]))
    g = cg.Graph(cg.sum(fma3(a, b, c)))
    for _ in range(4):
        assert g.forward(a=np.array([1.0, 2.0]), b=3.0) == 12.0
        g.backward()
        np.testing.assert_array_equal(g.grad(a), [3.0, 3.0])
        assert g.grad(b) == 3.0
        np.testing.assert_array_equal(g.grad(c), [1.0, 1.0])


@pytest.mark.parametrize("form", ["0-d array", "float"])
def test_a_0d_array_input_behaves_the_same_on_every_pass(form):
    x, w = cg.Input("x"), cg.Param("w", 2.0)
    g = cg.Graph(cg.sin(x * w) + x)
    for k in range(4):
        at = 0.5 + k
        value = np.array(at) if form == "0-d array" else at
        assert g.forward(x=value) == pytest.approx(math.sin(2 * at) + at, rel=1e-15)
        g.backward()
        assert np.shape(g.grad(x)) == () and np.shape(g.grad(w)) == ()
        assert float(g.grad(x)) == pytest.approx(2 * math.cos(2 * at) + 1, rel=1e-14)
        assert float(g.forward_mode(x, x=value)[g.output]) == pytest.approx(
            2 * math.cos(2 * at) + 1, rel=1e-14)
        assert cg.gradcheck(g, x=value) < 1e-6


def test_nodes_shared_between_two_graphs_keep_each_graphs_pass():
    x, w = cg.Input("x"), cg.Param("w", np.array([1.0, -1.0]))
    h = cg.tanh(x * w, name="h")
    g1, g2 = cg.Graph(cg.sum(h * h)), cg.Graph(cg.sum(cg.exp(h)))
    x1, x2 = np.array([0.5, 0.25]), np.array([2.0, 3.0])
    g1.forward(x=x1)
    g1.backward()
    g2.forward(x=x2)
    g2.backward()
    h1, h2 = np.tanh(x1 * [1, -1]), np.tanh(x2 * [1, -1])
    np.testing.assert_allclose(g1.value(h), h1, rtol=1e-15)
    np.testing.assert_allclose(g2.value(h), h2, rtol=1e-15)
    np.testing.assert_allclose(g1.grad(h), 2 * h1, rtol=1e-15)
    np.testing.assert_allclose(g2.grad(h), np.exp(h2), rtol=1e-15)
    with pytest.raises(cg.CompgraphError):
        g2.forward(x=np.array([np.nan, 1.0]))  # g2's pass fails: g1's stays
    np.testing.assert_allclose(g1.grad(x), 2 * h1 * (1 - h1 ** 2) * [1, -1], rtol=1e-14)
