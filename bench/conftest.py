"""Print the machine once, before the first benchmark, and the summary of every figure after the last one
(also written to ``bench/RESULTS.md``): numbers mean little without the machine they came from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.soak._support import machine_summary

from . import _results


def _load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "Load:    unknown"
    busy = ": other work shares the cores" if one >= 0.5 else ""  # 2 cores: half of one is already felt
    return f"Load:    {one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min) when the run started{busy}"


def _whole_run(config: pytest.Config) -> bool:
    """Whether this run is every benchmark (``make bench``), not one file or a ``-k`` selection."""
    here = Path(__file__).parent.resolve()
    asked = {Path(arg.split("::")[0]).resolve() for arg in config.args}
    return not config.getoption("keyword") and asked == {here}


@pytest.fixture(scope="session", autouse=True)
def _machine(request: pytest.FixtureRequest) -> None:
    rule = "=" * 100
    machine = f"{machine_summary()}\n{_load()}"
    print(f"\n{rule}\nVoice Desktop benchmarks: numbers to read, not pass/fail.\n{machine}\n{rule}")
    yield
    if not _results.FIGURES:
        return
    print(f"\n{rule}\n{machine}\n{_results.render_table()}\n{rule}")
    if _whole_run(request.config):  # one file or -k must not overwrite the full run's figures
        _results.RESULTS_PATH.write_text(_results.render_markdown(machine))
        print(f"written: {_results.RESULTS_PATH}")


from tests.isolation import isolated_home  # noqa: E402, F401 - the app probes' settings and history stay private
from tests.pulse import pulse, pulse_server  # noqa: E402, F401 - the private PulseAudio, for the app benchmarks
