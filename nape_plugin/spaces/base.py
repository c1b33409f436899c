"""What every search space provides."""
from __future__ import annotations

import random
from abc import ABC, abstractmethod
from typing import Any, Hashable, Iterator

from torch import nn

from ..errors import SpaceTooLargeError, UnknownNameError
from ..graph import CompGraph


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
