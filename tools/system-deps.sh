#!/usr/bin/env bash
# Install the system packages Voice Desktop needs, when missing.
# As root it installs them with apt-get; otherwise it prints the exact apt line and fails.
#   tools/system-deps.sh run    what the app needs (PortAudio, Qt's X/EGL libraries)
#   tools/system-deps.sh test   that plus Xvfb, a sound server for audio tests, speech synthesis
set -euo pipefail

run_pkgs=(
  libportaudio2
  libegl1 libgl1 libxkbcommon0 libfontconfig1 libfreetype6 libdbus-1-3 libglib2.0-0
  libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
  libxcb-render-util0 libxcb-shape0 libxcb-xfixes0 libxcb-sync1 libxcb-shm0 libxcb-xkb1 libxcb-util1 libx11-xcb1
  xvfb xauth  # so the fix `make run` names on a machine without a display (xvfb-run) works
)
test_pkgs=(pulseaudio pulseaudio-utils alsa-utils libasound2-plugins espeak-ng
  iproute2  # tc, ip for tests/net
  xdotool)  # presses the global talk key on Xvfb in tests/desktop

case "${1:-run}" in
  run) wanted=("${run_pkgs[@]}") ;;
  test) wanted=("${run_pkgs[@]}" "${test_pkgs[@]}") ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

command -v dpkg-query >/dev/null 2>&1 || { echo "system-deps: not a Debian-like system; install PortAudio and Qt's xcb libraries yourself" >&2; exit 0; }

missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages. Run as root:  sudo apt-get update && sudo $line" >&2
  exit 1
fi
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
$line -qq
