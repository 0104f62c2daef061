"""Print the machine once, before the first benchmark: numbers mean little without it."""

from __future__ import annotations

import pytest

from tests.soak._support import machine_summary


@pytest.fixture(scope="session", autouse=True)
def _machine() -> None:
    rule = "=" * 100
    print(f"\n{rule}\nVoice Desktop benchmarks: numbers to read, not pass/fail. Ratios compare runs made in this "
          f"same process, minutes apart.\n{machine_summary()}\n{rule}")
