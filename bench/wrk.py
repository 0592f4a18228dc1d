"""Read load with Debian's wrk: a bounded run, requests per second and latency percentiles from --latency."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass

from bench.processes import BenchError

MISSING = "wrk not found: install with apt-get install wrk; read rows skipped"
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
_PERCENTILE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors:.*")


@dataclass(frozen=True, slots=True)
class Result:
    rate: float
    p50_ms: float
    p99_ms: float
    errors: str  # empty when every response was 2xx or 3xx and no socket failed

    def detail(self) -> str:
        text = f"p50 {self.p50_ms:.2f} ms, p99 {self.p99_ms:.2f} ms"
        return f"{text}, {self.errors}" if self.errors else text


def available() -> bool:
    return shutil.which("wrk") is not None


def parse(output: str) -> Result:
    rate = _RATE.search(output)
    percentiles = {share: float(value) * _UNITS[unit] for share, value, unit in _PERCENTILE.findall(output)}
    if rate is None or set(percentiles) != {"50", "99"}:
        raise BenchError(f"unexpected wrk output: {output.strip()[-400:]}")
    errors = []
    if (bad := _NON_2XX.search(output)) is not None:
        errors.append(f"{bad.group(1)} non-2xx/3xx")
    if (sockets := _SOCKET_ERRORS.search(output)) is not None:
        errors.append(sockets.group(0).strip())
    return Result(float(rate.group(1)), percentiles["50"], percentiles["99"], "; ".join(errors))


async def run(
    url: str, *, seconds: int, threads: int, connections: int, headers: Mapping[str, str] | None = None
) -> Result:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError(MISSING)
    args = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    process = await asyncio.create_subprocess_exec(
        *args, url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), seconds + 30)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise BenchError(f"wrk on {url} did not finish") from None
    return parse(out.decode("utf-8", "replace"))
