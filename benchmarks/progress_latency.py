"""What a user watching a long command sees (docs/results.md, "Hardening"): the time to its first progress output and
its longest silence, run cold (a fresh graph cache) with ``NAPE_PROGRESS=1`` into a pipe, as in a log.

    python benchmarks/progress_latency.py                       # nape evaluate nb201 and nape search, cold
    python benchmarks/progress_latency.py --python-path OTHER   # the same commands with another checkout's code

Each output chunk of stderr is time-stamped; the silences are the gaps between chunks (and before the first one,
which includes Python's start and the imports, measured alone as ``import_s``).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

COMMANDS = {"evaluate": ["evaluate", "nb201"], "search": ["search", "--space", "nb201", "--budget", "1000"]}


def watch(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    """Seconds to the first stderr output, the longest gap between outputs, and the whole run."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    stamps = []
    while chunk := os.read(proc.stderr.fileno(), 65536):
        stamps.append(time.perf_counter() - start)
        del chunk
    proc.wait()
    end = time.perf_counter() - start
    points = [0.0, *stamps, end]
    return {"first_output_s": round(stamps[0], 1) if stamps else None,
            "longest_silence_s": round(max(b - a for a, b in zip(points, points[1:])), 1),
            "total_s": round(end, 1), "status": proc.returncode}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python-path", default=None, help="PYTHONPATH of the code to run (default: as now)")
    args = parser.parse_args()
    env = {**os.environ, "NAPE_PROGRESS": "1", "OMP_NUM_THREADS": "1"}
    if args.python_path:
        env["PYTHONPATH"] = args.python_path
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import nape_plugin.cli.evaluate, nape_plugin.gennape.pretrained"],
                   env=env, check=True)
    out = {"import_s": round(time.perf_counter() - t, 1)}
    for name, cmd in COMMANDS.items():
        with tempfile.TemporaryDirectory() as cache:
            out[name] = watch([sys.executable, "-m", "nape_plugin.cli", *cmd], {**env, "NAPE_CACHE_DIR": cache})
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
