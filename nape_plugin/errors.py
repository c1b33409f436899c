"""One exception hierarchy for everything nape-plugin rejects.

Every message names the offending object and says what to do about it. Each class also derives from the builtin
exception a Python user would expect (``ValueError``, ``TypeError``, ``KeyError``), so generic handlers keep working;
:class:`NotFittedError` also derives from scikit-learn's, so scikit-learn's tools recognise it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

#: The longest message an error keeps: one quoting a huge input is cut in the middle.
MAX_MESSAGE = 2000


class NapeError(Exception):
    """Root of all nape-plugin errors."""

    def __init__(self, *args: object) -> None:
        if args and isinstance(args[0], str) and len(args[0]) > MAX_MESSAGE:
            text = args[0]
            args = (f"{text[:MAX_MESSAGE - 400]} ...[{len(text) - MAX_MESSAGE + 300:,} characters cut]... "
                    f"{text[-300:]}", *args[1:])
        super().__init__(*args)


class GraphError(NapeError, ValueError):
    """A computation graph is malformed."""


class CyclicGraphError(GraphError):
    """A computation graph has a cycle or an edge against topological order."""


class DisconnectedGraphError(GraphError):
    """A node cannot be reached from the input or does not reach the output."""


class ConversionError(NapeError, TypeError):
    """No converter knows how to turn an object into a computation graph."""


class TraceError(NapeError, RuntimeError):
    """torch.fx could not trace a module."""


class ShapeError(NapeError, ValueError):
    """Shapes do not propagate through a module or graph."""


class EncodingError(NapeError, ValueError):
    """An architecture encoding is malformed or unknown to its search space."""


class SpaceTooLargeError(NapeError, ValueError):
    """An operation needs a search space small enough to enumerate."""


class UnknownNameError(NapeError, KeyError):
    """A registry (spaces, pretrained models, predictors) does not know a name."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


class DataError(NapeError, ValueError):
    """Training or evaluation data is unusable."""


class EmptyBatchError(DataError):
    """A call got no graphs at all."""


class LabelError(DataError):
    """Labels are NaN, infinite, or of the wrong shape."""


class LengthMismatchError(DataError):
    """Graphs and labels (or two label vectors) differ in length."""


class WeightsError(NapeError, ValueError):
    """A weight file is corrupted, truncated or not a nape-plugin file."""


class NonFiniteError(NapeError, ArithmeticError):
    """A computation gave NaN or infinite values (e.g. predictions of weights that no longer fit the inputs)."""


class ParameterError(NapeError, ValueError):
    """An argument is out of its range or not one of its choices (a batch size of 0, an unknown mode)."""


class PathError(NapeError, OSError):
    """A path cannot be used as asked: an input that is not a readable file, an output that is not a regular,
    writable file."""


class MissingFileError(PathError, FileNotFoundError):
    """A file a call reads does not exist."""


class PluginError(NapeError, RuntimeError):
    """A plugin is broken: a bad hook implementation or registration."""


if TYPE_CHECKING:
    from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

    class NotFittedError(NapeError, _SklearnNotFittedError):
        """An estimator was used before it was fitted or loaded."""


def __getattr__(name: str) -> Any:
    # NotFittedError derives from scikit-learn's, whose import (scipy and all) would double the time of
    # ``import nape_plugin``: the class is made on first use; every estimator imports scikit-learn anyway.
    if name != "NotFittedError":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from sklearn.exceptions import NotFittedError as base

    cls = type("NotFittedError", (NapeError, base),
               {"__module__": __name__, "__doc__": "An estimator was used before it was fitted or loaded."})
    globals()[name] = cls
    return cls
