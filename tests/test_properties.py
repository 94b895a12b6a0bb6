"""Property tests on random expression graphs (see helpers.expression_graphs): random DAGs with
shared subexpressions and re-used nodes, over scalars and over arrays that broadcast.

For every generated graph: backward agrees with central differences (gradcheck), and forward
mode agrees with backward; for scalar graphs the path products (graph.paths) sum to the gradient.
Every checked graph is counted; the last test asserts that a full run checked at least 2,000.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import (
    GRAPH_FEATURES,
    GRAPHS_CHECKED,
    REQUIRED_GRAPHS,
    assert_forward_mode_agrees,
    expression_graphs,
)
from hypothesis import assume, given, settings

import compgraph as cg

GRADCHECK_TOL = 1e-5
SCALAR_EXAMPLES = 1100
ARRAY_EXAMPLES = 1000
REUSE_EXAMPLES = 150


def _forwarded(gg) -> None:
    gg.graph.forward(**gg.inputs)
    assume(gg.relu_inputs_away_from_zero())  # central differences are meaningless at a kink


@settings(max_examples=SCALAR_EXAMPLES)
@given(expression_graphs(arrays=False))
def test_random_scalar_graphs(gg):
    _forwarded(gg)
    graph = gg.graph
    assert type(graph.output.value) is float

    assert cg.gradcheck(graph, **gg.inputs) < GRADCHECK_TOL

    graph.forward(**gg.inputs)
    grads = graph.backward()
    for leaf in gg.leaves:
        paths = graph.paths(leaf)
        assert paths, f"no path from the output to {leaf.name}"
        for path in paths:
            assert path.nodes[0] is graph.output and path.nodes[-1] is leaf
            assert len(path.factors) == len(path.nodes) - 1
        total = math.fsum(p.product for p in paths)
        assert total == pytest.approx(grads[leaf], rel=1e-9, abs=1e-12), leaf.name
    assert_forward_mode_agrees(graph, **gg.inputs)
    GRAPHS_CHECKED["scalar graphs"] += 1
    GRAPH_FEATURES["scalar graphs sharing a node"] += gg.shares_nodes()


@settings(max_examples=ARRAY_EXAMPLES)
@given(expression_graphs(arrays=True, max_steps=6))
def test_random_array_graphs(gg):
    _forwarded(gg)
    graph = gg.graph
    assert type(graph.output.value) is float

    assert cg.gradcheck(graph, **gg.inputs) < GRADCHECK_TOL

    graph.forward(**gg.inputs)
    grads = graph.backward()
    for leaf in gg.leaves:  # a gradient has its leaf's shape, whatever broadcasting did
        assert np.shape(grads[leaf]) == np.shape(leaf.value), leaf.name
    assert_forward_mode_agrees(graph, **gg.inputs)
    GRAPHS_CHECKED["array graphs"] += 1
    GRAPH_FEATURES["array graphs sharing a node"] += gg.shares_nodes()
    GRAPH_FEATURES["array graphs that broadcast"] += gg.broadcasts()


@settings(max_examples=REUSE_EXAMPLES)
@given(expression_graphs(arrays=False, max_steps=4))
def test_backward_is_repeatable_on_random_graphs(gg):
    """Calling forward and backward again gives the same gradients (they do not accumulate
    across calls), and the graph gives the same value."""
    _forwarded(gg)
    graph = gg.graph
    first_value = graph.output.value
    first = {leaf: graph.backward()[leaf] for leaf in gg.leaves}
    again = {leaf: graph.backward()[leaf] for leaf in gg.leaves}
    assert graph.forward(**gg.inputs) == first_value
    third = graph.backward()
    for leaf in gg.leaves:
        assert first[leaf] == again[leaf] == third[leaf], leaf.name
    GRAPHS_CHECKED["repeat graphs"] += 1


GENERATORS = ["test_random_scalar_graphs", "test_random_array_graphs",
              "test_backward_is_repeatable_on_random_graphs"]


def test_at_least_2000_generated_graphs_were_checked(request):
    """Runs last in this module: if every graph-generating test above ran in this session, they
    checked at least REQUIRED_GRAPHS graphs between them."""
    selected = {item.name for item in request.session.items}
    if not all(name in selected for name in GENERATORS):
        pytest.skip("only meaningful when every property test runs")
    total = sum(GRAPHS_CHECKED.values())
    assert total >= REQUIRED_GRAPHS, f"only {total} generated graphs were checked"
    # ... and the generator produced what it promises: re-use and broadcasting, often.
    for kind in ("scalar graphs", "array graphs"):
        shared = GRAPH_FEATURES[f"{kind} sharing a node"]
        assert shared >= GRAPHS_CHECKED[kind] // 4, f"{shared} {kind} shared a node"
    assert GRAPH_FEATURES["array graphs that broadcast"] >= GRAPHS_CHECKED["array graphs"] // 4
