#!/usr/bin/env bash
# A virtual speaker and microphone for machines without a sound card (CI, Xvfb, containers).
#
#   tools/pulse-up.sh [up]   start PulseAudio (or reuse ours) with two null sinks; safe to run again
#   tools/pulse-up.sh status show the server, sinks and sources
#   tools/pulse-up.sh down   stop what `up` started
#
# `vd_speaker` is the default sink (what the app plays; listen with `parec -d vd_speaker.monitor`) and
# `vd_mic.monitor` the default source (the app's microphone; speak into it with `paplay -d vd_mic x.wav`).
# PortAudio reaches it through ALSA's `default`/`pulse` devices (libasound2-plugins, pulled in by pulseaudio).
# The daemon uses the default runtime path, so the app finds it without any environment variable.
# It works as root, without systemd or dbus. A sound server that is already running with real devices is
# left alone unless VD_PULSE_FORCE=1. Needs: apt-get install pulseaudio pulseaudio-utils.
# Tests do not use this script: tests/pulse.py starts a private daemon of its own.
set -euo pipefail

RATE="${VD_PULSE_RATE:-48000}"
SINKS=(vd_speaker vd_mic)

die() { echo "pulse-up: $*" >&2; exit 1; }
have_sink() { pactl list short sinks 2>/dev/null | cut -f2 | grep -qx "$1"; }
running() { pactl info >/dev/null 2>&1; }

keepalive_running() {  # a silent client per sink keeps it rendering in small blocks (else 2 s blocks)
  pactl list sink-inputs 2>/dev/null | grep -q "media.name = \"vd-keepalive-$1\""
}

up() {
  for tool in pulseaudio pactl pacat parec; do
    command -v "$tool" >/dev/null || die "$tool not found: apt-get install pulseaudio pulseaudio-utils"
  done
  if [ ! -e /etc/alsa/conf.d/99-pulse.conf ] && [ ! -e /usr/share/alsa/alsa.conf.d/pulse.conf ]; then
    echo "pulse-up: warning: ALSA's pulse plugin config is missing (apt-get install libasound2-plugins);" \
         "PortAudio will not see these devices" >&2
  fi
  local fresh=0
  if ! running; then
    pulseaudio -D --system=false --exit-idle-time=-1 -n --log-target=syslog \
      -L module-native-protocol-unix 2>/dev/null || die "pulseaudio did not start"
    for _ in $(seq 50); do running && break; sleep 0.1; done
    running || die "pulseaudio started but does not answer"
    fresh=1
  elif ! have_sink vd_speaker && [ "${VD_PULSE_FORCE:-0}" != 1 ]; then
    echo "pulse-up: a sound server is already running; leaving it alone (VD_PULSE_FORCE=1 adds the virtual devices)"
    return 0
  fi
  for sink in "${SINKS[@]}"; do
    have_sink "$sink" || pactl load-module module-null-sink sink_name="$sink" rate="$RATE" channels=1 \
      sink_properties=device.description="$sink" >/dev/null
  done
  pactl set-default-sink vd_speaker
  pactl set-default-source vd_mic.monitor
  pactl unload-module module-suspend-on-idle 2>/dev/null || true  # else ~1 s of delay when output starts
  for sink in "${SINKS[@]}"; do
    keepalive_running "$sink" && continue
    setsid pacat --playback --device="$sink" --latency-msec=10 --raw --format=s16le --rate=8000 --channels=1 \
      --client-name=vd-keepalive --stream-name="vd-keepalive-$sink" </dev/zero >/dev/null 2>&1 &
  done
  if [ "$fresh" = 1 ]; then  # the first record stream of a fresh daemon stalls ~2 s: take that hit now
    timeout 5 parec --device=vd_mic.monitor --raw --format=s16le --rate=16000 --channels=1 2>/dev/null \
      | head -c 3200 >/dev/null || true
  fi
  echo "pulse-up: $(pactl info | sed -n 's/^Server String: //p'): speaker vd_speaker, microphone vd_mic.monitor"
}

status() {
  running || { echo "pulse-up: no sound server"; return 1; }
  pactl info | grep -E '^(Server String|Default Sink|Default Source):'
  pactl list short sinks
  pactl list short sources
}

down() {
  running || { echo "pulse-up: no sound server"; return 0; }
  have_sink vd_speaker || die "the running sound server is not ours; not stopping it"
  pulseaudio -k  # the keep-alive clients exit with it
  echo "pulse-up: stopped"
}

case "${1:-up}" in
  up) up ;;
  status) status ;;
  down) down ;;
  *) die "usage: $0 [up|status|down]" ;;
esac
