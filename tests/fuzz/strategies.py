"""Property-based fuzzing of everything that reads outside input: the hypothesis profiles, and strategies for
hostile input (junk of every Python/JSON type, valid inputs with a few mutations).

Two profiles: ``ci`` (the default) runs a fixed, derandomised set of cases per target, so CI is deterministic and the
whole fuzz suite takes well under a minute; ``NAPE_FUZZ_EXAMPLES=N`` switches to ``long``: N random cases per target
(``pytest tests/fuzz --hypothesis-show-statistics`` prints how many each ran).
"""
from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("NAPE_FUZZ_EXAMPLES", "0") or 0)
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("long", deadline=None, print_blob=True, suppress_health_check=list(HealthCheck))
settings.load_profile("long" if EXAMPLES else "ci")


def examples(n: int) -> settings:
    """Settings of a target that runs ``n`` cases in CI (and ``NAPE_FUZZ_EXAMPLES`` in a long run)."""
    return settings(max_examples=EXAMPLES or n)

#: Scalars a parser may meet: huge and negative ints, NaN and infinities, empty, odd and long text.
scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-3, max_value=10)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30)
           | st.sampled_from(["", "|", "~", "+", "nan", "Infinity", "1e999", "[", "{", "(", "Genotype(", "none",
                              "input", "output", "cell/0_1", "normal/op_2_0", "range(0, 10**12)"])
           | st.integers(4301, 5000).map(lambda n: "9" * n))

#: Nested junk: lists, tuples and dicts of scalars (and of junk), a little deep.
junk = st.recursive(scalars, lambda inner: st.lists(inner, max_size=8) | st.tuples(inner, inner)
                    | st.dictionaries(st.text(max_size=12) | st.integers(), inner, max_size=8), max_leaves=25)


@st.composite
def mutated(draw: st.DrawFn, value: Any, depth: int = 0) -> Any:
    """``value`` with a few changes: a replaced, deleted or added part somewhere inside, or text edits."""
    choice = draw(st.integers(0, 9))
    if choice == 0 or depth > 4:
        return draw(junk)
    if isinstance(value, str):
        text = value
        for _ in range(draw(st.integers(1, 3))):
            i = draw(st.integers(0, len(text)))
            edit = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
            piece = draw(st.text(max_size=4) | st.sampled_from(["|", "~", "+", ",", "[", "]", "0", "9", "-1"]))
            if edit == "insert":
                text = text[:i] + piece + text[i:]
            elif edit == "delete":
                text = text[:i] + text[i + draw(st.integers(1, 5)):]
            elif edit == "replace":
                text = text[:i] + piece + text[i + len(piece):]
            else:
                text = text + text[i:]
        return text
    if isinstance(value, dict) and value:
        d = dict(value)
        key = draw(st.sampled_from(sorted(d, key=repr)))
        op = draw(st.sampled_from(["mutate", "delete", "add"]))
        if op == "mutate":
            d[key] = draw(mutated(d[key], depth + 1))
        elif op == "delete":
            del d[key]
        else:
            d[draw(st.text(max_size=12) | st.sampled_from([f"{key}x", key.upper() if isinstance(key, str) else 7]))] \
                = draw(junk)
        return d
    if isinstance(value, (list, tuple)) and value:
        items = list(value)
        i = draw(st.integers(0, len(items) - 1))
        op = draw(st.sampled_from(["mutate", "delete", "add"]))
        if op == "mutate":
            items[i] = draw(mutated(items[i], depth + 1))
        elif op == "delete":
            del items[i]
        else:
            items.insert(i, draw(junk))
        return type(value)(items) if isinstance(value, tuple) and not hasattr(value, "_fields") else items
    return draw(junk)
