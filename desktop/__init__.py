"""Voice Desktop: a desktop voice assistant talking to voice servers over WebSockets."""

__version__ = "0.1.0"
