"""Keep secrets out of logs.

websockets logs every handshake line at DEBUG: the request path (with our
``?token=``) and every header (``Authorization``, ``x-goog-api-key``). The
filter here rewrites those records before any handler sees them.
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactSecrets", "install", "redact"]

SECRET_HEADERS = frozenset({"authorization", "x-goog-api-key", "x-api-key", "cookie", "proxy-authorization"})
_QUERY_SECRET = re.compile(r"(?i)([?&](?:token|key|api_key|access_token)=)[^&#\s'\"]+")


def redact(text: str) -> str:
    """``text`` with secret query parameters replaced by ``***``."""
    return _QUERY_SECRET.sub(r"\1***", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args:
            if len(args) == 2 and str(args[0]).lower() in SECRET_HEADERS:
                record.args = (args[0], "<redacted>")
            else:
                record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install(*logger_names: str) -> None:
    """Add the filter to these loggers (default: websockets' client and server), once each."""
    for name in logger_names or ("websockets.client", "websockets.server"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
