"""The real app as a separate process (``python -m desktop``), with its log lines read as they come."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

__all__ = ["AppProcess"]

EXIT_TIMEOUT = 60.0


class AppProcess:
    """``python -m desktop ARGS`` with stderr (the log) collected line by line on a thread."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, command: list[str] | None = None,
                 cwd: str | None = None) -> None:
        argv = [*(command or [sys.executable, "-m", "desktop"]), *args]
        self.proc = subprocess.Popen(argv, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for_line(self, text: str, timeout: float = 60.0) -> str:
        """The first output line containing ``text``; fails (with the output) if the process ends first."""
        def found() -> str | None:
            return next((line for line in self.lines if text in line), None)

        with self._changed:
            self._changed.wait_for(lambda: found() is not None or not self._reader.is_alive(), timeout=timeout)
            line = found()
        if line is None:
            telling = [line for line in self.lines if "DEBUG websockets" not in line and "qasync" not in line]
            raise AssertionError(f"no line with {text!r} (exit status {self.proc.poll()}); output:\n"
                                 + "\n".join(telling)[-6000:])
        return line

    def wait(self, timeout: float = EXIT_TIMEOUT) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return code

    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def kill(self) -> None:
        """``kill -9``: no clean-up of any kind, as in a crash."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.wait()
