"""Trim a built one-folder bundle: drop shared libraries nothing loads, optionally stub ICU's data.

Why after PyInstaller: its analysis also collects the dependencies of plugins the spec then filters out
(libqgtk3 brought cairo, pango, gdk-pixbuf, gio ...). Here a library in ``_internal/`` stays only when a kept
binary needs it (ELF ``NEEDED``, followed to a fixed point) or it is loaded by name at run time (KEEP).

``--icu-stub``: replace the 31 MB ``libicudata`` with ICU's own *stub data* (an empty data table, as ICU's
``stubdata`` library). Qt Core links ICU but uses it only for collation, locale-specific case mapping and a
few codecs the app does not use; its CLDR locale data and Unicode tables are its own. The self-test builds the
real window afterwards, so a bundle this breaks does not pass.

    python packaging/prune_bundle.py dist/voice-desktop [--icu-stub]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: Loaded with dlopen/ctypes by name, so no NEEDED entry points at them.
KEEP = ("libportaudio", "libpython", "libasound", "libjack", "libxcb-cursor", "libdbus-1", "libicu")

_STUB_C = r"""
/* ICU stub data: a table of contents with no entries (what ICU's own stubdata library provides). */
#include <stdint.h>
typedef struct {
    uint16_t headerSize; uint8_t magic1, magic2;
    struct { uint16_t size, reservedWord; uint8_t isBigEndian, charsetFamily, sizeofUChar, reservedByte;
             uint8_t dataFormat[4], formatVersion[4], dataVersion[4]; } info;
    char padding[8]; uint32_t count, reserved; struct { uint32_t nameOffset, dataOffset; } toc[1];
} ICU_Data_Header;
__attribute__((visibility("default"))) const ICU_Data_Header SYMBOL = {
    32, 0xda, 0x27, {20, 0, 0, 0, 2, 0, {0x54, 0x6f, 0x43, 0x50}, {1, 0, 0, 0}, {0, 0, 0, 0}},
    {0}, 0, 0, {{0, 0}}
};
"""


def needed(path: Path) -> set[str]:
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True).stdout
    return set(re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out))


def prune(bundle: Path) -> list[str]:
    internal = bundle / "_internal"
    top = {p.name: p for p in internal.iterdir() if ".so" in p.name and p.is_file() and not p.is_symlink()}
    roots = [p for p in internal.rglob("*") if p.is_file() and not p.is_symlink() and ".so" in p.name
             and p.parent != internal]
    roots += [p for name, p in top.items() if ".cpython-" in name or name.startswith(KEEP)]
    roots.append(bundle / "voice-desktop")
    wanted: set[str] = set()
    todo = list(roots)
    while todo:
        for name in needed(todo.pop()):
            if name not in wanted:
                wanted.add(name)
                if name in top:
                    todo.append(top[name])
    removed = []
    for name, path in top.items():
        if name not in wanted and ".cpython-" not in name and not name.startswith(KEEP):
            path.unlink()
            removed.append(name)
    for link in internal.iterdir():  # PyInstaller's top-level symlinks to what is gone
        if link.is_symlink() and not link.exists():
            link.unlink()
    return sorted(removed)


def stub_icu(bundle: Path) -> str | None:
    data = next((p for p in (bundle / "_internal").rglob("libicudata.so.*") if not p.is_symlink()), None)
    if data is None or shutil.which("gcc") is None:
        return None
    version = re.search(r"libicudata\.so\.(\d+)", data.name).group(1)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "icustub.c"
        source.write_text(_STUB_C.replace("SYMBOL", f"icudt{version}_dat"))
        built = Path(tmp) / data.name
        subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-s", f"-Wl,-soname,{data.name}", "-o", str(built),
                        str(source)], check=True)
        saved = data.stat().st_size
        shutil.copyfile(built, data)
    return f"{data.name}: {saved / 1e6:.0f} MB -> {data.stat().st_size / 1e3:.0f} kB (stub data)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--icu-stub", action="store_true")
    args = parser.parse_args(argv)
    removed = prune(args.bundle)
    print(f"prune: removed {len(removed)} unneeded libraries: {' '.join(removed)}")
    if args.icu_stub:
        print(f"prune: {stub_icu(args.bundle) or 'ICU data left as is (no gcc or no ICU)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
