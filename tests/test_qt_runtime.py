"""Guards against known-broken Qt bindings: these failures crash the app hours later, not at once."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    level = Signal(float)


def test_signal_emit_keeps_reference_counts(qapp):
    # PySide6 6.12.0 on Python 3.11 dropped a reference to True on every emit(); the level meter emits
    # 50 times a second, so the interpreter aborted after a while ("bool_dealloc").
    emitter = _Emitter()
    emitter.level.connect(lambda value: None)
    before = sys.getrefcount(True)
    for _ in range(2000):
        emitter.level.emit(-20.0)
    assert sys.getrefcount(True) >= before - 10
