"""The real app in a child process, driven by a scenario, for the history's fault tests.

Run as ``python -m tests.history.app_child SCENARIO SETTINGS_FILE``. It builds the
real :class:`desktop.app.App` (window offscreen, embedded echo server, no audio),
types into it the way the window's text box does, and prints one JSON line per
thing the test checks (``{"notice": …}``, ``{"turns": …}``). Scenarios:

* ``kill-mid-reply``: two turns complete and written, a third message sent,
  then SIGKILL while its reply is streaming in.
* ``restart``: start, print the conversation shown again, quit.
* ``chat N``: type N messages, wait for every reply, print notices and turns, quit.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TIMEOUT = 30


def say(**record) -> None:
    print(json.dumps(record), flush=True)


async def until(predicate, timeout: float = TIMEOUT) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def replies(app) -> list:
    return [t for t in app.transcript.turns if t.speaker == "model" and t.state == "complete"]


async def scenario(app, name: str, argument: str) -> None:
    await app.history.start()
    say(started=True, restored=[t.text for t in app.transcript.turns])
    if name == "restart":
        return
    await app.controller.apply(app._endpoint)
    await until(lambda: app.controller.session is not None and app.controller.session.connected)
    if name == "kill-mid-reply":
        before = len(replies(app))
        app.window.text_submitted.emit("remember the walrus")
        await until(lambda: len(replies(app)) == before + 1)
        writer = app.history.history.writer
        await until(writer.idle)  # a completed turn is committed by the writer thread, just after it completes

        def kill_when_streaming(turn, is_new):
            if turn.speaker == "model" and turn.is_open:
                os.kill(os.getpid(), signal.SIGKILL)

        app.transcript.subscribe(kill_when_streaming)
        app.window.text_submitted.emit("this reply is cut off")
        await asyncio.sleep(TIMEOUT)
        say(error="the reply never streamed")
        return
    if name == "chat":
        for n in range(int(argument)):
            app.window.text_submitted.emit(f"message {n} " + "padding " * 200)
            await until(lambda n=n: len(replies(app)) >= n + 1)
        writer = app.history.history.writer
        if writer is not None:
            await until(writer.idle)
        await asyncio.sleep(0.3)  # let queued notices reach the window
        say(turns=[t.text[:12] for t in app.transcript.turns])


def main() -> int:
    import qasync
    from PySide6.QtWidgets import QApplication

    from desktop.app import App, build_parser

    name, settings_file, *rest = sys.argv[1:]
    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    app = App(qapp, build_parser().parse_args(["--no-audio", "--processor", "echo", "--settings", settings_file]))
    # Connected after the window's own slot, so it reports what the window shows by then.
    app.history.notice.connect(lambda text: say(notice=text, shown=app.window.status.message.text()))
    try:
        with loop:
            loop.run_until_complete(scenario(app, name, rest[0] if rest else ""))
            loop.run_until_complete(app.controller.shutdown())
            loop.run_until_complete(app.history.close())
    finally:
        app.window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
