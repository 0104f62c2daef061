"""Reference-like test servers, one per wire protocol; each runs standalone from the project root,
e.g. ``python -m tests.servers.adk_server --port 8000``."""
