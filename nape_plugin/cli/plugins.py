"""``nape plugins``: every plugin, where it came from, its hooks, the registries they fill, and blocked names."""
from __future__ import annotations

import argparse
import json

from .. import plugins, spaces
from ..convert.opmap import op_mappings


class Plugins:
    """``nape plugins``: every plugin, where it came from, its hooks, and the registries they fill."""

    @staticmethod
    def add_arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="print the listing as JSON")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        rows = plugins.describe()
        modules, functions, methods = op_mappings()
        registries = {"spaces": spaces.names(), "predictors": sorted(plugins.predictors()),
                      "pretrained": sorted(plugins.pretrained()), "commands": list(plugins.commands()),
                      "op_mappings": {"module classes": len(modules), "functions": len(functions),
                                      "tensor methods": len(methods)}}
        blocked = plugins.get_plugin_manager().blocked
        if args.json:
            print(json.dumps({"plugins": rows, "registered": registries, "blocked": blocked}, indent=2))
            return 0
        for row in rows:
            print(f"{row['name']}  ({row['source']})")
            print(f"    hooks:       {', '.join(row['hooks']) or 'none'}")
            for key, value in row["provides"].items():
                label = key.replace("_", " ") + ":"
                print(f"    {label:<12} {', '.join(value) if isinstance(value, list) else value}")
        print()
        for key in ("spaces", "predictors", "pretrained", "commands"):
            names = registries[key]
            print(f"{key} ({len(names)}): {', '.join(names) or 'none'}")
        counts = registries["op_mappings"]
        print(f"op mappings: {sum(counts.values())} ({', '.join(f'{v} {k}' for k, v in counts.items())})")
        if blocked:
            print(f"blocked ({plugins.BLOCK_ENV}): {', '.join(blocked)}")
        return 0
