"""Python's cyclic garbage collector runs on the GUI thread only.

Why: CPython runs an automatic collection in whichever thread happens to allocate when the counters overflow:
a PortAudio callback, the history writer, an ``asyncio.to_thread`` worker, the test suite's PulseAudio feeder.
If that collection frees a QObject caught in a reference cycle (a closed qasync loop's timer object, a
controller, a widget and its lambdas), shiboken runs the C++ destructor on that thread. Qt cannot stop a
timer from another thread ("Timers cannot be stopped from another thread"), so the GUI thread's event
dispatcher keeps the timer of a freed object and the next time it fires the process dies with a segmentation
fault inside ``QApplication.exec()`` (seen in a full test run: qasync's ``run_forever`` crashed while the
PulseAudio feeder thread was running).

So :func:`install` turns the automatic collector off and the GUI thread collects instead, with the
interpreter's own generation thresholds (the remedy PyQt/pyqtgraph use, there with a timer). The check runs
whenever the GUI thread's event loop is about to sleep (``aboutToBlock``), not on a timer: idle costs nothing,
and any thread's allocations come with work that wakes the loop anyway. :func:`collect_if_due` is the same
check by hand, for the GUI thread while no Qt event loop runs (the test suite between tests).
Non-cyclic garbage is unaffected: reference counting still frees it at once, wherever it drops.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QObject, QThread

__all__ = ["collect_if_due", "install", "installed"]

_collector: _GuiThreadCollector | None = None
_thresholds = gc.get_threshold()  # the interpreter's cadence, read again at install


class _GuiThreadCollector(QObject):
    """Holds the connection; parented to the application, so it lives on the GUI thread."""

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__(app)
        dispatcher = app.eventDispatcher()
        if dispatcher is None:
            raise RuntimeError("qt_gc.install() needs the application's event dispatcher")
        dispatcher.aboutToBlock.connect(self.check)

    def check(self) -> None:
        collect_if_due()


def install(app: QCoreApplication) -> None:
    """From the GUI thread, once the QApplication exists: collect cycles only there from now on.

    Idempotent; lasts as long as the process (the collector is the application's child)."""
    global _collector, _thresholds
    if QThread.currentThread() is not app.thread():
        raise RuntimeError("qt_gc.install() must be called on the GUI thread")
    if _collector is not None:
        return
    _thresholds = gc.get_threshold()
    _collector = _GuiThreadCollector(app)
    gc.disable()


def installed() -> bool:
    """True once :func:`install` has moved collection to the GUI thread."""
    return _collector is not None


def collect_if_due() -> int:
    """On the GUI thread: collect the generations the interpreter would have collected by now.

    Returns the number of unreachable objects found (0 when nothing was due or nothing is installed)."""
    if _collector is None:
        return 0
    count0, count1, count2 = gc.get_count()
    threshold0, threshold1, threshold2 = _thresholds
    if threshold0 == 0 or count0 <= threshold0:  # a zero threshold means collection was switched off
        return 0
    # As the automatic collector does: the oldest generation whose count is over its threshold, and with it
    # every younger one (gc.collect(n) resets their counts and bumps the next one's).
    generation = 2 if count2 > threshold2 else 1 if count1 > threshold1 else 0
    return gc.collect(generation)
