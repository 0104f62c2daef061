"""The app's log file is private: created 0600 (rotated files too), in a 0700 directory."""

from __future__ import annotations

import logging
import os
import stat

from desktop.app import PrivateRotatingFileHandler, setup_logging


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_log_and_its_rotations_are_readable_by_their_owner_only(tmp_path):
    root = logging.getLogger()
    before = list(root.handlers), root.level
    old_umask = os.umask(0o022)  # the usual umask would make a plain file 0644
    try:
        path = setup_logging(verbose=False)
        handler = next(h for h in root.handlers if isinstance(h, PrivateRotatingFileHandler))
        logging.getLogger("desktop").info("connecting to ws://127.0.0.1:1")
        handler.flush()
        assert path is not None and "connecting" in path.read_text()
        assert mode(path) == 0o600 and mode(path.parent) == 0o700
        handler.doRollover()
        logging.getLogger("desktop").info("after the rollover")
        handler.flush()
        assert mode(path) == 0o600 and mode(f"{path}.1") == 0o600
    finally:
        os.umask(old_umask)
        for h in root.handlers[:]:
            if h not in before[0]:
                root.removeHandler(h)
                h.close()
        root.setLevel(before[1])


def test_an_old_world_readable_log_is_narrowed_when_reopened(tmp_path):
    path = tmp_path / "old.log"
    path.write_text("old\n")
    path.chmod(0o644)
    handler = PrivateRotatingFileHandler(path, maxBytes=1000, backupCount=1, encoding="utf-8")
    try:
        assert mode(path) == 0o600
    finally:
        handler.close()
