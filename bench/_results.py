"""The headline figures of one ``make bench`` run: each benchmark records its own; the run prints them as one
table and writes ``bench/RESULTS.md`` (see ``bench/conftest.py``)."""

from __future__ import annotations

import dataclasses
import datetime
import math
from pathlib import Path

from tests.soak._support import table

__all__ = ["FIGURES", "Figure", "record", "render_markdown", "render_table"]

RESULTS_PATH = Path(__file__).with_name("RESULTS.md")


@dataclasses.dataclass(frozen=True)
class Figure:
    area: str  # the issue item it answers: "server", "client pipeline", "idle", "start", ...
    what: str
    value: float | str
    unit: str = ""
    target: str = ""  # in words, e.g. "<= 0.5x"; empty when there is none
    met: bool | None = None  # None: no target, or not decidable from this run


FIGURES: list[Figure] = []


def record(area: str, what: str, value: float | str, unit: str = "", target: str = "",
           met: bool | None = None) -> None:
    """Add one figure to this run's summary (benchmarks call it; nothing asserts on it)."""
    FIGURES.append(Figure(area, what, value, unit, target, met))


def _value(figure: Figure) -> str:
    if isinstance(figure.value, float):
        if math.isnan(figure.value):
            return "-"
        text = f"{figure.value:.3g}" if abs(figure.value) < 100 else f"{figure.value:,.0f}"
    else:
        text = str(figure.value)
    return f"{text} {figure.unit}".strip()


def _verdict(figure: Figure) -> str:
    return "" if figure.met is None else ("met" if figure.met else "NOT met")


def render_table() -> str:
    rows = [[f.area, f.what, _value(f), f.target, _verdict(f)] for f in FIGURES]
    return table(["area", "figure", "value", "target", ""], rows, title="Summary of this run")


def render_markdown(machine: str) -> str:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` on {stamp}. Figures from one run; the server ratios come from one interleaved",
        "run against genai-processors' own `live_server` (see `bench/test_vs_genai_processors.py`).",
        "",
        "```",
        machine,
        "```",
        "",
        "| area | figure | value | target | |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {f.area} | {f.what} | {_value(f)} | {f.target} | {_verdict(f)} |" for f in FIGURES]
    return "\n".join(lines) + "\n"
