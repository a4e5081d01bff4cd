#!/usr/bin/env bash
# A private virtual audio stack, no sound card needed: D-Bus, PipeWire, WirePlumber and pipewire-pulse
# under $AUD_DIR, with four virtual nodes that PortAudio (sounddevice) reaches by name through ALSA:
#   mic_feed  a sink: what is played here is heard on noisy_mic
#   noisy_mic a virtual microphone (a remapped source on mic_feed's monitor)
#   denoised  a sink: what is played here is heard on clean_mic
#   clean_mic a virtual microphone (a remapped source on denoised's monitor)
# The live tests and the live benchmark use it; so can anyone who wants to try `rtdenoise live` on a
# machine without audio hardware.
#
#   scripts/virtual-audio.sh install        apt packages (root; quick when already installed)
#   scripts/virtual-audio.sh missing        print the apt packages not installed yet (none: prints nothing)
#   scripts/virtual-audio.sh start [RATE]   (re)start everything, graph clock fixed at RATE (default 16000)
#   scripts/virtual-audio.sh stop           stop what start started, by PID
#   scripts/virtual-audio.sh status         exit 0 when the stack under $AUD_DIR answers
#   eval "$(scripts/virtual-audio.sh env)"  the variables a client needs
#
# State (sockets, logs, PID files, configs) lives in $AUD_DIR (default ${TMPDIR:-/tmp}/rtdenoise-audio),
# so several stacks can run side by side in different directories.
#
# Why these choices (measured on Debian 12, PipeWire 0.3.65):
# - The graph clock is fixed at the rate tests assert on: a 48 kHz graph under a 16 kHz stream
#   resamples, and samples are no longer exact.
# - Virtual microphones are null sinks plus module-remap-source on their monitor: a null sink with
#   media.class=Audio/Source/Virtual got no audio, and many programs hide monitor sources.
# - WirePlumber (which links streams to their target nodes) needs a session D-Bus: a private one here.
# - PortAudio lists ALSA PCMs, not PipeWire nodes: the named PCMs in $AUD_DIR/asound.conf (through the
#   pipewire ALSA plugin, picked up via ALSA_CONFIG_PATH) make the four nodes devices sounddevice can open.
set -u
AUD=${AUD_DIR:-${TMPDIR:-/tmp}/rtdenoise-audio}
PACKAGES="libportaudio2 pipewire pipewire-bin pipewire-pulse pipewire-alsa wireplumber dbus pulseaudio-utils"
DAEMONS="dbus pipewire wireplumber pipewire-pulse"   # start order; stop goes in reverse
ALSA_TOP=${ALSA_CONFIG_DIR:-/usr/share/alsa}/alsa.conf

die() { echo "virtual-audio: $*" >&2; exit 1; }

# What a client needs, as `export` lines. XDG_CONFIG_HOME and XDG_STATE_HOME are only for the daemons
# (they keep the stack's config and WirePlumber's remembered state private), so they are not here.
vars() {
  printf 'export %s=%q\n' \
    XDG_RUNTIME_DIR "$AUD/run" \
    PIPEWIRE_RUNTIME_DIR "$AUD/run" \
    DBUS_SESSION_BUS_ADDRESS "unix:path=$AUD/run/bus" \
    ALSA_CONFIG_PATH "$ALSA_TOP:$AUD/asound.conf" \
    PULSE_SERVER "unix:$AUD/run/pulse/native" \
    PIPEWIRE_LOG_SYSTEMD false
}
eval "$(vars)"
unset PIPEWIRE_REMOTE   # an inherited remote would point our daemons and pactl at someone else's server

alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null); [ -n "$st" ] && [[ $st != Z* ]]; }  # a zombie has exited
# The PID file's process, if it still runs the program we started (PIDs get reused).
ours() {
  local pid comm
  pid=$(cat "$AUD/$1.pid" 2>/dev/null) || return 1
  comm=$(ps -o comm= -p "$pid" 2>/dev/null) || return 1
  [[ $comm == "${1%-daemon}"* ]] && echo "$pid"
}
wait_for() {  # wait_for TENTHS COMMAND...: true once COMMAND succeeds
  local n=$1; shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  "$@" >/dev/null 2>&1
}
wait_up() {  # wait_up NAME TENTHS COMMAND...: like wait_for, but gives up at once if daemon NAME exited
  local name=$1 n=$2 pid; shift 2
  pid=$(cat "$AUD/$name.pid")
  for _ in $(seq "$n"); do
    "$@" >/dev/null 2>&1 && return 0
    alive "$pid" || return 1
    sleep 0.1
  done
  "$@" >/dev/null 2>&1
}
fail_start() {
  echo "virtual-audio: $* (logs in $AUD)" >&2
  for s in $DAEMONS; do [ -s "$AUD/$s.log" ] && { echo "--- $s.log" >&2; tail -n 8 "$AUD/$s.log" >&2; }; done
  do_stop
  exit 1
}
do_stop() {
  local s pid
  for s in pipewire-pulse wireplumber pipewire dbus; do
    if pid=$(ours "$s"); then
      kill -TERM "$pid" 2>/dev/null
      for _ in $(seq 30); do alive "$pid" || break; sleep 0.1; done
      if alive "$pid"; then
        kill -KILL "$pid" 2>/dev/null
        for _ in $(seq 30); do alive "$pid" || break; sleep 0.1; done
      fi
    fi
    rm -f "$AUD/$s.pid"
  done
}
spawn() {  # spawn NAME COMMAND...: start a daemon in the background, its PID in NAME.pid
  local name=$1; shift
  XDG_CONFIG_HOME=$AUD/config XDG_STATE_HOME=$AUD/state "$@" >"$AUD/$name.log" 2>&1 &
  echo $! >"$AUD/$name.pid"
}

missing_packages() {
  local p
  for p in $PACKAGES; do dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || echo "$p"; done
}

case "${1:-}" in
missing)
  command -v dpkg >/dev/null || die "dpkg not found: this script knows Debian/Ubuntu packages only"
  m=$(missing_packages); [ -z "$m" ] || echo $m ;;
install)
  missing=$(missing_packages)
  [ -z "$missing" ] && exit 0
  missing=$(echo $missing)
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    die "needs root and apt-get to install: $missing (as root: apt-get install $missing)"
  fi
  echo "virtual-audio: installing $missing" >&2
  apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null \
    || die "apt-get install $missing failed" ;;
start)
  R=${2:-16000}
  [[ $R =~ ^[0-9]+$ ]] && [ "$R" -ge 8000 ] && [ "$R" -le 192000 ] || die "RATE must be a sample rate in Hz, not '$R'"
  for b in dbus-daemon pipewire wireplumber pipewire-pulse pactl; do
    command -v "$b" >/dev/null || die "$b not found: run '$0 install' (as root) first"
  done
  compgen -G "/usr/lib*/alsa-lib/libasound_module_pcm_pipewire.so" >/dev/null \
    || compgen -G "/usr/lib/*/alsa-lib/libasound_module_pcm_pipewire.so" >/dev/null \
    || die "the pipewire ALSA plugin is missing: run '$0 install' (as root) first"
  [ -f "$ALSA_TOP" ] || die "$ALSA_TOP not found (is libasound2 installed?)"
  do_stop   # start means a fresh stack: stop whatever an earlier start left in this directory
  rm -rf "$AUD/run"
  mkdir -p "$AUD/run" "$AUD/state" "$AUD/config/pipewire/pipewire.conf.d" || die "cannot create $AUD"
  chmod 700 "$AUD/run"
  cat > "$AUD/config/pipewire/pipewire.conf.d/10-rtdenoise.conf" <<CONF
context.properties = {
    default.clock.rate = $R
    default.clock.allowed-rates = [ $R ]
    default.clock.quantum = $(( R / 50 ))
    default.clock.min-quantum = 64
}
CONF
  cat > "$AUD/asound.conf" <<'CONF'
pcm.mic_feed  { type pipewire; playback_node "mic_feed" }
pcm.noisy_mic { type pipewire; capture_node "noisy_mic" }
pcm.denoised  { type pipewire; playback_node "denoised" }
pcm.clean_mic { type pipewire; capture_node "clean_mic" }
CONF
  spawn dbus dbus-daemon --session --nofork --nopidfile --address="$DBUS_SESSION_BUS_ADDRESS"
  wait_up dbus 50 test -S "$AUD/run/bus" || fail_start "dbus-daemon did not start"
  spawn pipewire pipewire
  wait_up pipewire 50 test -S "$AUD/run/pipewire-0" || fail_start "pipewire did not start"
  spawn wireplumber wireplumber
  spawn pipewire-pulse pipewire-pulse
  wait_up pipewire-pulse 100 pactl info || fail_start "pipewire-pulse does not answer"
  for s in $DAEMONS; do ours "$s" >/dev/null || fail_start "$s exited"; done
  m() { pactl load-module "$@" >/dev/null || fail_start "pactl load-module $* failed"; }
  mono="rate=$R channels=1 channel_map=mono"
  m module-null-sink sink_name=mic_feed $mono sink_properties=device.description=MicFeed
  m module-remap-source source_name=noisy_mic master=mic_feed.monitor $mono source_properties=device.description=NoisyMic
  m module-null-sink sink_name=denoised $mono sink_properties=device.description=Denoised
  m module-remap-source source_name=clean_mic master=denoised.monitor $mono source_properties=device.description=CleanMic
  has_nodes() { local l; l=$(pactl list short sources) && grep -qw noisy_mic <<<"$l" && grep -qw clean_mic <<<"$l"; }
  wait_for 50 has_nodes || fail_start "the virtual devices did not appear"
  # WirePlumber links a stream to its target only once it knows the node: wait until it has seen them.
  wait_for 50 pactl set-default-source noisy_mic || fail_start "cannot make noisy_mic the default source"
  wait_for 50 pactl set-default-sink denoised || fail_start "cannot make denoised the default sink"
  echo "virtual-audio: running at $R Hz in $AUD" >&2 ;;
stop)
  do_stop ;;
status)
  pactl info >/dev/null 2>&1 || { echo "virtual-audio: not running in $AUD" >&2; exit 1; }
  echo "virtual-audio: running in $AUD" >&2 ;;
env)
  vars ;;
*)
  echo "usage: $0 install | missing | start [RATE] | stop | status | env   (state in \$AUD_DIR, now $AUD)" >&2; exit 2 ;;
esac
