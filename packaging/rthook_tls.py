"""PyInstaller runtime hook: verify wss:// with the bundled certifi roots where the system has none.

Why: the bundled OpenSSL looks for CA certificates where the build machine keeps them; another
distribution may keep them elsewhere (or not at all), and then every wss:// connection would fail.
SSL_CERT_FILE set by the user always wins.
"""

import os
import ssl
import sys
from pathlib import Path

_bundled = Path(getattr(sys, "_MEIPASS", "")) / "certifi" / "cacert.pem"
if "SSL_CERT_FILE" not in os.environ and _bundled.is_file():
    if not ssl.create_default_context().cert_store_stats().get("x509_ca"):
        os.environ["SSL_CERT_FILE"] = str(_bundled)
