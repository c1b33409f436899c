"""docs/plugin_hooks.md and hookspecs.py agree: every hook documented with its exact signature and calling rule."""
from __future__ import annotations

import inspect
import re
from pathlib import Path

from nape_plugin import plugins
from nape_plugin.plugins import hookspecs

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugin_hooks.md"
TEXT = DOC.read_text()


def spec_line(name: str) -> tuple[bool, str]:
    """``(firstresult, "def name(arg: annotation, ...) -> return")`` of a hook, as hookspecs.py declares it."""
    spec = getattr(hookspecs, name)
    sig = inspect.signature(spec)
    args = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    firstresult = bool(getattr(spec, f"{hookspecs.PROJECT}_spec")["firstresult"])
    return firstresult, f"def {name}({args}) -> {sig.return_annotation}"


def test_every_hook_has_a_section_with_its_exact_signature():
    blocks = re.findall(r"^## (nape_\w+)\n\n```python\n@hookspec(\(firstresult=True\))?\n(def .+)\n```", TEXT, re.M)
    documented = {name: (bool(first), line) for name, first, line in blocks}
    assert set(documented) == set(plugins.HOOKS), "a hook is missing from docs/plugin_hooks.md, or documented twice"
    for name in plugins.HOOKS:
        assert documented[name] == spec_line(name), f"docs/plugin_hooks.md disagrees with hookspecs.py on {name}"


def test_the_summary_table_lists_every_hook_with_its_arguments_and_rule():
    rows = re.findall(r"^\| \[`(nape_\w+)\((.*?)\)`\]\(#(nape_\w+)\) \| [^|]+ \| ([^|]+) \|$", TEXT, re.M)
    assert [r[0] for r in rows] == [r[2] for r in rows]
    assert sorted(r[0] for r in rows) == sorted(plugins.HOOKS)
    for name, args, _, rule in rows:
        assert (args.split(", ") if args else []) == list(inspect.signature(getattr(hookspecs, name)).parameters)
        assert ("first non-None wins" in rule) == spec_line(name)[0], name
