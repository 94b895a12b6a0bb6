"""How every pass is checked: one numpy error state per pass, so an array op that overflows,
divides by zero or makes a NaN raises at the op that did it, and the exceptions the passes use to
say which result was not finite. graph.py turns them into errors that name the node and the op."""

from __future__ import annotations

from typing import Any

import numpy as np

# Every pass runs under one np.errstate: an array op that overflows, divides by zero or makes a
# NaN raises FloatingPointError at the op that did it. Underflow to 0 is a fine result.
RAISE = {"over": "raise", "divide": "raise", "invalid": "raise", "under": "ignore"}


class Raising:
    """np.errstate(**RAISE) for one pass. numpy 2 keeps its error state in a context variable;
    setting it to a state made once costs a fraction of building np.errstate at every pass
    (which shows in a training step of a small network). Older numpy: np.errstate itself."""

    __slots__ = ("_token", "_fallback")

    try:
        from numpy._core._ufunc_config import _extobj_contextvar as _var
        from numpy._core.umath import _make_extobj
        _state = _make_extobj(**RAISE)
    except (ImportError, AttributeError, TypeError):  # pragma: no cover - numpy < 2
        _var = None

    def __enter__(self) -> None:
        if self._var is not None:
            self._token = self._var.set(self._state)
        else:  # pragma: no cover
            self._fallback = np.errstate(**RAISE)
            self._fallback.__enter__()

    def __exit__(self, *exc: Any) -> None:
        if self._var is not None:
            self._var.reset(self._token)
        else:  # pragma: no cover
            self._fallback.__exit__(*exc)


# What ops raise on bad values: numpy under RAISE (FloatingPointError), math on floats
# (OverflowError, ValueError "math domain error"), float division (ZeroDivisionError), and numpy
# on shapes it cannot combine (ValueError, TypeError).
OP_ERRORS = (ArithmeticError, ValueError, TypeError)


class NotFinite(ArithmeticError):
    """A plain-float result that is inf or NaN (Python floats set no numpy flags)."""


class BadTotal(ArithmeticError):
    """The summed gradient of a node (its position in args[0]) is not finite."""
