"""Run the benchmarks (``bench_*.py`` here) in name order, or only those named: ``python -m bench flags``."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> None:
    names = sorted(info.name for info in pkgutil.iter_modules([str(Path(__file__).parent)]))
    modules = [name for name in names if name.startswith("bench_")]
    wanted = [f"bench_{name.removeprefix('bench_')}" for name in sys.argv[1:]]
    if unknown := sorted(set(wanted) - set(modules)):
        raise SystemExit(f"no such benchmark: {', '.join(unknown)} (there are: {', '.join(modules)})")
    for name in wanted or modules:
        print(f"== bench.{name}", flush=True)
        importlib.import_module(f"bench.{name}").main()


if __name__ == "__main__":
    main()
