"""Run every benchmark module in bench/ (bench_*.py, each exposing `main() -> None`).

`python -m bench` runs them all; `python -m bench arrivals latency` runs only those whose name contains a word given.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import bench


def modules(wanted: list[str]) -> list[str]:
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    if wanted:
        names = [n for n in names if any(w in n for w in wanted)]
    return names


def main(argv: list[str]) -> int:
    names = modules(argv)
    if not names:
        print(f"no benchmark matches {argv}", file=sys.stderr)
        return 2
    for name in names:
        started = time.perf_counter()
        print(f"== {name}", file=sys.stderr)
        importlib.import_module(f"bench.{name}").main()
        print(f"== {name} done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
