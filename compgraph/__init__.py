"""compgraph: computational graphs that show backpropagation as the chain rule, step by step.

    import compgraph as cg
    x = cg.Input("x")
    f = cg.exp(cg.sin(x ** 2), name="f")
    g = cg.Graph(f)
    g.forward(x=0.5); g.backward(); g.grad(x)
"""

from . import limits, nn, plots
from .check import check_answer, gradcheck, numeric_grad, relative_error
from .errors import (CompgraphError, DomainError, InputError, InputTypeError, OrderError,
                     ShapeError, SizeError)
from .functions import (add, append_one, binary_cross_entropy, copy, cos, div, exp, log, matmul,
                        mean, mul, new_op, power, relu, sigmoid, sin, square, squared_error, sub,
                        sum, tanh)
from .graph import Graph, Gradients, Path
from .nodes import Const, Input, Node, Param
from .ops import OPS, Op
from .render import GraphvizMissing, Picture, legend, render
from .trace import BackwardStep, ForwardStep, TangentStep, Trace, fmt, forward_mode_trace, trace
from .widgets import PathExplorer, Stepper, TrainingExplorer, export_html

# The graph's methods that belong to later stages of the pipeline live in their own modules.
Graph.trace = trace                        # graph.trace(**inputs): the steps, as data
Graph.forward_mode_trace = forward_mode_trace
Graph.render = render                      # graph.render(trace, step, rankdir=...): a picture

__version__ = "0.1.0"

__all__ = [
    "limits", "nn", "plots", "check_answer", "gradcheck", "numeric_grad", "relative_error",
    "CompgraphError", "DomainError", "InputError", "InputTypeError", "OrderError", "ShapeError",
    "SizeError",
    "add", "append_one", "binary_cross_entropy", "copy", "cos", "div", "exp", "log", "mean", "mul",
    "new_op", "power", "relu", "sigmoid", "sin", "square", "squared_error", "sub", "sum", "tanh",
    "matmul",
    "Const", "Graph", "Gradients", "Input", "Node", "Param", "Path", "OPS", "Op",
    "BackwardStep", "ForwardStep", "TangentStep", "Trace", "fmt", "forward_mode_trace", "trace",
    "GraphvizMissing", "Picture", "legend", "render", "PathExplorer", "Stepper",
    "TrainingExplorer", "export_html",
]
