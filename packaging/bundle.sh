#!/usr/bin/env bash
# Build the one-folder bundle and its tarball: dist/voice-desktop/ and dist/voice-desktop-<version>-linux-<arch>.tar.gz
#   packaging/bundle.sh [PYTHON]      PYTHON: the venv's python that has the app and pyinstaller installed
set -euo pipefail
cd "$(dirname "$0")/.."
py=${1:-.venv/bin/python}
version=$("$py" -c 'import desktop; print(desktop.__version__)')
arch=$(uname -m)
"$py" -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller \
  packaging/voice-desktop.spec
# Symbols only a debugger needs out (dynamic ones stay); never in auditwheel-repaired folders (numpy.libs ...): strip breaks their patched headers.
if command -v strip >/dev/null; then
  find dist/voice-desktop -type f \( -name '*.so' -o -name '*.so.*' \) -not -path '*.libs/*' \
    -exec strip --strip-unneeded {} + 2>/dev/null || true
fi
# Libraries only the left-out plugins needed, and ICU's data (see packaging/prune_bundle.py); VD_BUNDLE_ICU=full keeps it.
"$py" packaging/prune_bundle.py dist/voice-desktop $([ "${VD_BUNDLE_ICU:-stub}" = stub ] && echo --icu-stub)
cp LICENSE README.md dist/voice-desktop/ 2>/dev/null || true
tarball="dist/voice-desktop-${version}-linux-${arch}.tar.gz"
tar -C dist -czf "$tarball" voice-desktop
mib=$(du -s --block-size=1M --apparent-size dist/voice-desktop | cut -f1)
echo "bundle: dist/voice-desktop (${mib} MiB unpacked), $tarball ($(du -m --apparent-size "$tarball" | cut -f1) MiB)"
