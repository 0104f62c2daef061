"""``voice-desktop-server``: run the embedded live_server-compatible server on its own.

The first line on stdout is the exact URL a client should open; logs go to
stderr. Runs until SIGINT/SIGTERM, then closes its sessions and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys

from desktop.processors import PROCESSORS, UnknownProcessor, get_factory

from .live_server import DEFAULT_MAX_SIZE, LiveServer

__all__ = ["build_parser", "main"]

log = logging.getLogger("desktop.server")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voice-desktop-server", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default)")
    parser.add_argument("--processor", default="echo", choices=sorted(PROCESSORS),
                        help="what answers the client (default: echo)")
    auth = parser.add_mutually_exclusive_group()
    auth.add_argument("--token", help="token clients must send as ?token= (default: a fresh random one)")
    auth.add_argument("--no-auth", action="store_true",
                      help="accept clients without a token (for stock live_server clients); INSECURE")
    parser.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                        help="a browser Origin to accept, e.g. https://aistudio.google.com (repeatable)")
    parser.add_argument("--max-size", type=int, default=DEFAULT_MAX_SIZE, help="largest frame in bytes")
    parser.add_argument("--no-uvloop", action="store_true",
                        help="run on asyncio's own event loop, as the app's embedded server does (for benchmarks)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    return parser


async def _serve(args: argparse.Namespace) -> int:
    try:
        factory = get_factory(args.processor)
    except UnknownProcessor as exc:
        print(f"voice-desktop-server: {exc}", file=sys.stderr)
        return 2
    if args.processor == "local":
        await _load_offline_models()
    server = LiveServer(factory, host=args.host, port=args.port, token=args.token,
                        require_token=not args.no_auth, allowed_origins=args.allow_origin,
                        max_size=args.max_size)
    try:
        await server.start()
    except OSError as exc:
        print(f"voice-desktop-server: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    gc.freeze()  # what start-up loaded lives as long as the process: keep the collector from rescanning it
    print(server.url, flush=True)  # only now: a client may signal us as soon as it reads this
    await stop.wait()
    log.info("Stopping: closing sessions")
    await server.close()
    return 0


async def _load_offline_models() -> None:
    """Load the offline speech models before listening, so the first question never waits for them.

    A missing extra or a broken model is said on stderr; the server still runs (typed turns work).
    """
    from desktop.processors.local import models

    def progress(done: int, total: int, what: str) -> None:
        if done < total:
            log.info("Loading offline speech… %d of %d (%s)", done + 1, total, what)

    loaded = await models.preload(progress)
    if loaded.message:
        print(f"voice-desktop-server: {loaded.message}", file=sys.stderr, flush=True)
    else:
        log.info("Offline speech ready (%.1f s)", models.status().seconds or 0.0)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return _run(_serve(args), uvloop_allowed=not args.no_uvloop)


def _run(main_coroutine, *, uvloop_allowed: bool) -> int:
    """Run on uvloop where it is installed (about 30% less CPU per frame, bench/); asyncio's loop otherwise."""
    uvloop = None
    if uvloop_allowed:
        try:
            import uvloop
        except ImportError:  # Windows has no uvloop
            uvloop = None
    return uvloop.run(main_coroutine) if uvloop is not None else asyncio.run(main_coroutine)


if __name__ == "__main__":
    sys.exit(main())
