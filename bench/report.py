"""The results table: one row per path and backend, each figure beside its same-run baseline and goal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    what: str
    backend: str
    figure: float | None  # None: the row was skipped, `note` says why
    unit: str
    detail: str = ""  # latencies, sizes: what the figure alone does not say
    baseline_name: str = ""
    baseline: float | None = None
    baseline_unit: str = ""  # when it differs from `unit`
    goal: str = "—"
    met: bool | None = None  # None: no goal, or none that can be checked here
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.figure is None or not self.baseline:
            return None
        return self.figure / self.baseline


def number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def cells(row: Row) -> list[str]:
    if row.figure is None:
        figure = f"skipped: {row.note}"
    else:
        figure = f"{number(row.figure)} {row.unit}" + (f" ({row.detail})" if row.detail else "")
    baseline = (
        "—" if row.baseline is None else f"{row.baseline_name}: {number(row.baseline)} {row.baseline_unit or row.unit}"
    )
    ratio = "—" if row.ratio is None else f"{row.ratio:.3g}×"
    met = {True: "yes", False: "no", None: "—"}[row.met]
    note = row.note if row.figure is not None else ""
    return [row.what, row.backend, figure, baseline, ratio, row.goal, met, note]


HEADER = ["path", "backend", "figure", "baseline (same run)", "ratio", "goal", "met", "note"]


def text_table(rows: Sequence[Row]) -> str:
    table = [HEADER, *(cells(row) for row in rows)]
    widths = [max(len(line[column]) for line in table) for column in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in table]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def markdown_table(rows: Sequence[Row]) -> str:
    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(value.replace("|", "\\|") for value in values) + " |"

    return "\n".join([line(HEADER), line(["---"] * len(HEADER)), *(line(cells(row)) for row in rows)])
