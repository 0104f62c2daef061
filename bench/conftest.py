"""Print the machine once, before the first benchmark, and the summary of every figure after the last one
(also written to ``bench/RESULTS.md``): numbers mean little without the machine they came from."""

from __future__ import annotations

import os

import pytest

from tests.soak._support import machine_summary

from . import _results


def _load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "Load:    unknown"
    return f"Load:    {one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min) when the run started: other work shares the cores"


@pytest.fixture(scope="session", autouse=True)
def _machine(request: pytest.FixtureRequest) -> None:
    rule = "=" * 100
    machine = f"{machine_summary()}\n{_load()}"
    print(f"\n{rule}\nVoice Desktop benchmarks: numbers to read, not pass/fail.\n{machine}\n{rule}")
    yield
    if not _results.FIGURES:
        return
    print(f"\n{rule}\n{machine}\n{_results.render_table()}\n{rule}")
    if not request.config.getoption("keyword"):  # a focused run (-k) must not overwrite the full run's file
        _results.RESULTS_PATH.write_text(_results.render_markdown(machine))
        print(f"written: {_results.RESULTS_PATH}")


from tests.pulse import pulse  # noqa: E402, F401 - the private PulseAudio fixture, for the app benchmarks
