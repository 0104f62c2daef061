"""One running app per user and settings file: a second launch shows the first window and exits.

Why: double-clicking the launcher twice must not start a second embedded
server, a second microphone capture and a second history writer on the same
files. The first instance listens on a :class:`QLocalServer` named after the
user and the settings file; a later launch connects, says ``activate`` and
exits 0.

A crash (``kill -9``) leaves the socket file behind. Nobody answers on it, so
the next launch removes it and listens itself. A :class:`QLockFile` around
"try to connect, else listen" keeps two launches started at the same moment
from both deciding they are first; Qt treats the lock of a dead process as
stale, so a crash cannot leave that blocking either.

Call :meth:`SingleInstance.claim` once at start-up, before the window exists
and before the event loop runs: it blocks for at most a few seconds.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QDir, QLockFile, QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

__all__ = ["SingleInstance", "instance_key"]

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_MS = 1000
ACK_TIMEOUT_MS = 3000
LOCK_TIMEOUT_MS = 10000
_ACTIVATE = b"activate\n"
_ACK = b"ok\n"
_MAX_REQUEST = 64  # bytes read from a client; anything longer is not ours


def _user() -> str:
    if hasattr(os, "getuid"):
        return str(os.getuid())
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "user"


def instance_key(settings_file: str | os.PathLike[str] | None) -> str:
    """The server name: per user, and per settings file (``--settings`` runs are separate apps)."""
    where = str(Path(settings_file).resolve()) if settings_file else "default"
    digest = hashlib.sha256(where.encode("utf-8")).hexdigest()[:16]
    return f"voice-desktop-{_user()}-{digest}"


class SingleInstance(QObject):
    """Claim the instance; then :attr:`activated` fires whenever another launch asks for the window."""

    activated = Signal()

    def __init__(self, key: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self._server: QLocalServer | None = None
        self._clients: set[QLocalSocket] = set()

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.isListening()

    def claim(self) -> bool:
        """True when this process is the first (it now listens); False when another one answered."""
        lock = QLockFile(os.path.join(QDir.tempPath(), f"{self.key}.lock"))
        if not lock.tryLock(LOCK_TIMEOUT_MS):
            # Another launch is deciding right now and did not finish in time: ask it anyway.
            log.warning("Start-up lock %s is busy; asking the running instance", lock.fileName())
        try:
            if self._ask_running_instance():
                return False
            return self._listen()
        finally:
            lock.unlock()

    def _ask_running_instance(self) -> bool:
        socket = QLocalSocket()
        socket.connectToServer(self.key)
        if not socket.waitForConnected(CONNECT_TIMEOUT_MS):
            return False  # nobody there, or a stale socket left by a crash
        socket.write(QByteArray(_ACTIVATE))
        socket.waitForBytesWritten(CONNECT_TIMEOUT_MS)
        # The answer only confirms; a busy first instance that is slow to answer still exists.
        if not socket.waitForReadyRead(ACK_TIMEOUT_MS):
            log.warning("The running instance did not confirm; it may be busy")
        socket.disconnectFromServer()
        log.info("Voice Desktop is already running; asked it to show its window")
        return True

    def _listen(self) -> bool:
        QLocalServer.removeServer(self.key)  # a stale socket from a crash would make listen() fail
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        server.newConnection.connect(self._on_new_connection)
        if not server.listen(self.key):
            # Still the only instance we know of: run without the single-instance guard rather than not at all.
            log.warning("Cannot listen for other launches (%s); a second launch will start a second window",
                        server.errorString())
            server.deleteLater()
            return True
        self._server = server
        log.info("Single instance: listening as %s", self.key)
        return True

    @Slot()
    def _on_new_connection(self) -> None:
        assert self._server is not None
        while (client := self._server.nextPendingConnection()) is not None:
            self._clients.add(client)
            client.readyRead.connect(lambda c=client: self._on_request(c))
            client.disconnected.connect(lambda c=client: self._forget(c))

    def _on_request(self, client: QLocalSocket) -> None:
        request = bytes(client.read(_MAX_REQUEST).data())
        if request.startswith(_ACTIVATE.strip()):
            log.info("Another launch asked for the window")
            client.write(QByteArray(_ACK))
            client.flush()
            self.activated.emit()
        client.disconnectFromServer()

    def _forget(self, client: QLocalSocket) -> None:
        self._clients.discard(client)
        client.deleteLater()

    def close(self) -> None:
        """Stop listening (at quit), so the next launch starts at once."""
        if self._server is not None:
            self._server.close()
            self._server = None
