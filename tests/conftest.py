"""Shared fixtures: the private sound server, a qasync loop, and isolation from the user's config."""

from __future__ import annotations

import asyncio
import gc
import os
import sys

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# isolation: out of the real config, state, history and keyring; llm_server: a real llama.cpp server (SmolLM2)
pytest_plugins = ["tests.isolation", "tests.pulse", "tests.llm_server"]


def _memory_keyring_class():
    from keyring.backend import KeyringBackend

    class _MemoryKeyring(KeyringBackend):
        priority = 1

        def __init__(self):
            super().__init__()
            self.store: dict[tuple[str, str], str] = {}

        def get_password(self, service, username):
            return self.store.get((service, username))

        def set_password(self, service, username, password):
            self.store[(service, username)] = password

        def delete_password(self, service, username):
            self.store.pop((service, username), None)

    return _MemoryKeyring


@pytest.fixture(autouse=True)
def memory_keyring():
    """An in-memory keyring for every test: none reads or writes the real keyring of whoever runs them, and
    what a test stores is gone after it. Ask for it by name to look inside (``.store``)."""
    import keyring

    previous = keyring.get_keyring()
    backend = _memory_keyring_class()()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def qloop(qapp):
    """A qasync event loop on the test's QApplication, closed at the end of the test."""
    import qasync

    from desktop import qt_gc
    from desktop.app import worker_pool

    qt_gc.install(qapp)  # as the app does: a cycle holding a QObject must never be freed off the GUI thread
    loop = qasync.QEventLoop(qapp)
    loop.set_default_executor(worker_pool())  # as the app does: not qasync's QThread executor
    asyncio.set_event_loop(loop)
    yield loop
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()
    asyncio.set_event_loop(None)
    # qasync's close() only marks its timer object stopped: timers still pending (a ping, a backoff) stay
    # registered with Qt until they fire. Kill them, then collect the loop's cycles here, at a safe point,
    # rather than whenever a later collection happens to run inside Qt's timer dispatch (a crash).
    timer = getattr(loop, "_timer", None)
    for timer_id in list(getattr(timer, "_SimpleTimer__callbacks", {})):
        timer.killTimer(timer_id)
    gc.collect()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    """Once a QApplication exists, garbage collection moves to the GUI thread (qt_gc), for Qt tests without
    qloop too; collect between tests on this thread (the GUI thread): tests that run no Qt loop would otherwise
    never collect a cycle."""
    qtcore = sys.modules.get("PySide6.QtCore")
    if qtcore is None:
        return
    from desktop import qt_gc

    app = qtcore.QCoreApplication.instance()
    if app is not None:
        qt_gc.install(app)
    qt_gc.collect_if_due()
