"""What every search space provides."""
from __future__ import annotations

import ast
import json
import random
from abc import ABC, abstractmethod
from typing import Any, Collection, Hashable, Iterator, Mapping

from torch import nn

from ..errors import EncodingError, SpaceTooLargeError, UnknownNameError
from ..graph import CompGraph

#: The longest text a space parses as a literal: encodings are a few hundred characters, and a bound keeps a crafted
#: string from costing seconds and gigabytes before it is refused.
MAX_TEXT = 10_000


def literal(text: str, what: str) -> Any:
    """``text`` as a Python literal (JSON is one too, but for ``true``/``false``/``null``), parsed without ``eval``;
    ``EncodingError`` naming ``what`` when it is longer than :data:`MAX_TEXT` or not a literal."""
    if len(text) > MAX_TEXT:
        raise EncodingError(f"{what} is {len(text):,} characters long; encodings are far shorter (at most "
                            f"{MAX_TEXT:,}): {text[:80]!r}...")
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    raise EncodingError(f"{what} {text[:80]!r}{'...' if len(text) > 80 else ''} is neither JSON nor a Python literal")


def check_keys(d: Mapping, allowed: Collection[str], what: str) -> None:
    """The one rule of every space's dict encodings (NNI samples, NASLib specs, genotype and OFA dicts): a key the
    encoding does not define is an ``EncodingError``, never silently ignored. (Missing keys are for the caller to
    name.) Records that hold an encoding beside other fields (an NB101 statistics dict, a table row, NB301's full
    configuration) are read for the encoding's keys; unknown keys inside the encoding's own namespace are refused."""
    unknown = [k for k in d if k not in allowed]
    if unknown:
        shown = ", ".join(f"{k!r:.60}" for k in unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5
                                                                else "")
        raise EncodingError(f"{what} has unknown key(s) {shown}; remove them (its keys are "
                            f"{', '.join(sorted(allowed)[:8])}{' ...' if len(allowed) > 8 else ''})")


def as_rng(rng: random.Random | int | None) -> random.Random:
    """A ``random.Random`` from a seed, an existing generator, or fresh entropy."""
    return rng if isinstance(rng, random.Random) else random.Random(rng)


class SearchSpace(ABC):
    """A family of architectures: encodings in and out, reference modules, direct graph builders and moves.

    ``arch`` arguments accept every encoding the space knows (see :meth:`parse`); results of :meth:`sample`,
    :meth:`mutate` and :meth:`neighbours` are in the space's canonical, hashable encoding.
    """

    #: Registry name, e.g. ``"nb201"``.
    name: str = ""
    #: (C, H, W) of the inputs the benchmark trained on.
    input_shape: tuple[int, int, int] = (3, 32, 32)
    #: Number of outputs of the reference network.
    num_classes: int = 10
    #: Encoding formats :meth:`encode` can emit.
    formats: tuple[str, ...] = ()
    #: Those of :attr:`formats` that :meth:`parse` cannot read back (a hash names an architecture only in a table).
    one_way_formats: tuple[str, ...] = ()
    #: Tasks the benchmark trained every architecture on, each with its own network (e.g. TransNAS-Bench-101's);
    #: empty for single-task spaces.
    tasks: tuple[str, ...] = ()
    #: The task whose network :meth:`build` and :meth:`to_graph` make (None for single-task spaces).
    task: str | None = None

    @abstractmethod
    def parse(self, arch: Any) -> Hashable:
        """The canonical encoding of ``arch`` (any known encoding); raises ``EncodingError`` when malformed."""

    @abstractmethod
    def encode(self, arch: Any, fmt: str) -> Any:
        """``arch`` in encoding ``fmt`` (one of :attr:`formats`)."""

    @abstractmethod
    def to_graph(self, arch: Any) -> CompGraph:
        """The computation graph of ``arch``, built directly (equal to tracing :meth:`build`)."""

    @abstractmethod
    def build(self, arch: Any) -> nn.Module:
        """The reference ``torch.nn.Module`` the benchmark trained for ``arch``."""

    @abstractmethod
    def sample(self, rng: random.Random | int | None = None) -> Hashable:
        """A uniformly random valid architecture."""

    @abstractmethod
    def neighbours(self, arch: Any) -> list[Hashable]:
        """Every valid architecture one elementary change away from ``arch``."""

    def mutate(self, arch: Any, rng: random.Random | int | None = None) -> Hashable:
        """A random neighbour of ``arch``."""
        return as_rng(rng).choice(self.neighbours(arch))

    def enumerate(self) -> Iterator[Hashable]:
        """Every architecture of the space, where the space is small enough."""
        raise SpaceTooLargeError(f"space {self.name!r} is too large to enumerate; use sample() instead")

    def for_task(self, task: str) -> SearchSpace:
        """The same space with the networks the benchmark trained for ``task`` (one of :attr:`tasks`)."""
        raise UnknownNameError(f"space {self.name!r} has no task {task!r}; "
                               + (f"its tasks: {', '.join(self.tasks)}" if self.tasks else "it is a single-task space"))

    def arch_id(self, arch: Any) -> str:
        """A short string naming ``arch`` (for tables and caches)."""
        return str(self.parse(arch))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} input_shape={self.input_shape}>"
