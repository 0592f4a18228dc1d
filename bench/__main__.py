"""Run every benchmark module (``bench_*.py``) in this folder, in name order."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path


def main() -> None:
    names = sorted(info.name for info in pkgutil.iter_modules([str(Path(__file__).parent)]))
    for name in names:
        if name.startswith("bench_"):
            print(f"== bench.{name}", flush=True)
            importlib.import_module(f"bench.{name}").main()


if __name__ == "__main__":
    main()
