"""A minimal XEmbed system-tray host (the freedesktop System Tray protocol), for tests under Xvfb.

Owns ``_NET_SYSTEM_TRAY_S0`` so Qt's ``QSystemTrayIcon.isSystemTrayAvailable()`` is true on xcb, and docks
the icons that ask (``SYSTEM_TRAY_REQUEST_DOCK``) by reparenting them into its own window. Prints
``ready`` once it owns the selection and ``docked <window id>`` for every icon. Run: ``python tray_host.py``
with DISPLAY set; it runs until killed.
"""

from __future__ import annotations

import sys

from Xlib import X, display
from Xlib.protocol import event

REQUEST_DOCK = 0


def main() -> int:
    d = display.Display()
    screen = d.screen()
    host = screen.root.create_window(0, 0, 200, 32, 0, screen.root_depth, X.InputOutput, X.CopyFromParent,
                                     background_pixel=screen.black_pixel,
                                     event_mask=X.StructureNotifyMask | X.SubstructureNotifyMask)
    host.map()
    selection = d.intern_atom(f"_NET_SYSTEM_TRAY_S{d.get_default_screen()}")
    opcode = d.intern_atom("_NET_SYSTEM_TRAY_OPCODE")
    orientation = d.intern_atom("_NET_SYSTEM_TRAY_ORIENTATION")
    host.change_property(orientation, d.intern_atom("CARDINAL"), 32, [0])
    host.set_selection_owner(selection, X.CurrentTime)
    d.sync()
    if d.get_selection_owner(selection) != host:
        print("could not own the tray selection", flush=True)
        return 1
    manager = d.intern_atom("MANAGER")
    announce = event.ClientMessage(window=screen.root, client_type=manager,
                                   data=(32, [X.CurrentTime, selection, host.id, 0, 0]))
    screen.root.send_event(announce, event_mask=X.StructureNotifyMask)
    d.flush()
    print("ready", flush=True)
    x = 0
    while True:
        ev = d.next_event()
        if ev.type == X.ClientMessage and ev.client_type == opcode and ev.data[1][1] == REQUEST_DOCK:
            icon = d.create_resource_object("window", ev.data[1][2])
            icon.reparent(host, x, 0)
            icon.configure(width=32, height=32)
            icon.map()
            x += 32
            d.flush()
            print(f"docked {icon.id}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
