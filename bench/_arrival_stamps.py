"""A WebSocket server in its own process that notes when each audio frame reached it, for capture -> wire.

``python -m bench._arrival_stamps``: prints its URL, then, once the one client has closed, one line
``arrivals [t, ...]`` and exits. ``t`` is when the kernel received the last bytes of each live_server audio
frame (``SO_TIMESTAMPNS``, the system's real-time clock, in seconds): the moment the frame was on the wire,
not the moment this process got round to reading it. Its own process, so receiving never waits for the
measured client's GIL. Frames are parsed by websockets' sans-I/O server protocol.
"""

from __future__ import annotations

import json
import socket
import struct

from websockets.frames import Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux's value; Python names it from 3.12 on
_CMSG_SPACE = socket.CMSG_SPACE(struct.calcsize("qq"))


def serve_one() -> list[float]:
    listener = socket.create_server(("127.0.0.1", 0))
    print(f"ws://127.0.0.1:{listener.getsockname()[1]}/", flush=True)
    conn, _ = listener.accept()
    listener.close()
    conn.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    protocol = ServerProtocol(max_size=None)
    arrivals: list[float] = []
    while True:
        data, ancillary, _flags, _addr = conn.recvmsg(1 << 16, _CMSG_SPACE)
        if not data:
            break
        received = next((struct.unpack("qq", cdata[:16]) for level, kind, cdata in ancillary
                         if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS), None)
        protocol.receive_data(data)
        for event in protocol.events_received():
            if isinstance(event, Request):
                protocol.send_response(protocol.accept(event))
            elif event.opcode is Opcode.TEXT and b'"inline_data"' in event.data and received is not None:
                arrivals.append(received[0] + received[1] * 1e-9)
        for chunk in protocol.data_to_send():
            if chunk:
                conn.sendall(chunk)
        if protocol.close_expected():
            break
    conn.close()
    return arrivals


if __name__ == "__main__":
    print("arrivals " + json.dumps(serve_one()), flush=True)
