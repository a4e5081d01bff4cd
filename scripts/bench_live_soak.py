"""A long run of `rtdenoise live` through a private PipeWire server: what a user of the clean microphone
would hear over minutes, with a core kept busy and with events, as figures.

    .venv/bin/python scripts/bench_live_soak.py --minutes 10 --busy 1        # one core kept busy throughout
    .venv/bin/python scripts/bench_live_soak.py --minutes 10 --events 30     # an event every 30 s

A private server at 48 kHz (scripts/virtual-audio.sh, as the tests use it); speech-like sound in noise
is played into `noisy_mic` for the whole run; `rtdenoise live -i noisy_mic -o denoised` (the default
model) denoises it; one recorder process records `noisy_mic` and `clean_mic` (what reached
`denoised`) with PortAudio's capture timestamps. Printed:

* silences on the clean microphone after start-up (runs of exact zeros: the model's output of
  speech in noise never holds one), their count over 10 ms and the longest;
* the engine's own counters (late hops, xruns, dry-filled samples) from its exit line;
* the delay through rtdenoise every 5 s (where the two recordings match, by cross-correlation,
  timed by PortAudio's capture timestamp of each block, so a block a recorder stream loses does not
  shift it): at the start, at the end, and every change over 5 ms;
* with ``--events``: what each event did (default source or sink changed and back, the input
  stopped and started again, a second rtdenoise started and stopped) and whether live still ran.

Run it with nothing else on the machine (it starts its own busy loops).
"""
from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import audio_server as aud  # noqa: E402

RATE = 48000


def speech_in_noise(seconds: float, seed: int = 0) -> np.ndarray:
    """Voiced syllables (harmonic series, each with its own pitch from 100 to 250 Hz, 0.1 to 0.3 s
    long, at random onsets: so the delay found by cross-correlation is not off by a pitch period)
    in noise at about 10 dB SNR; never an exact zero."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    f0 = np.zeros(n)
    envelope = np.zeros(n)
    at = 0
    while at < n:
        at += int(rng.uniform(0.05, 0.5) * RATE)
        length = int(rng.uniform(0.1, 0.3) * RATE)
        end = min(n, at + length)
        f0[at:end] = rng.uniform(100, 250)
        envelope[at:end] = np.sin(np.pi * np.arange(end - at) / length) ** 2
        at = end
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    voice = sum(np.sin(h * phase) / h for h in range(1, 20))
    noise = 0.02 * rng.standard_normal(n)
    return (0.15 * voice * envelope + noise).astype(np.float32)


RECORDER = """
import sys, time, numpy as np, sounddevice as sd
seconds, out = float(sys.argv[1]), sys.argv[2]
rate, n = 48000, int(float(sys.argv[1]) * 48000)
data = {d: np.zeros(n, np.float32) for d in ("noisy_mic", "clean_mic")}
pos = {d: 0 for d in data}
stamps = {d: np.zeros((n // 480 + 64, 2)) for d in data}   # (sample index, ADC time) of each block
blocks = {d: 0 for d in data}
flags = []
def make(d):
    def cb(i, f, t, s):
        if s: flags.append(f"{d} at {pos[d]}: {s}")
        if blocks[d] < len(stamps[d]):
            stamps[d][blocks[d]] = (pos[d], t.inputBufferAdcTime); blocks[d] += 1
        k = min(f, n - pos[d]); data[d][pos[d]:pos[d] + k] = i[:k, 0]; pos[d] += k
    return cb
streams = [sd.InputStream(device=d, samplerate=rate, channels=1, dtype="float32", blocksize=480, latency=0.04,
                          callback=make(d)) for d in data]
for s in streams: s.start()
while min(pos.values()) < n: time.sleep(0.2)
for s in streams: s.stop()
np.savez(out, noisy=data["noisy_mic"], clean=data["clean_mic"], stamps_noisy=stamps["noisy_mic"][:blocks["noisy_mic"]],
         stamps_clean=stamps["clean_mic"][:blocks["clean_mic"]])
print("\\n".join(flags[:50]))
"""


def delays(noisy: np.ndarray, clean: np.ndarray, stamps_noisy: np.ndarray, stamps_clean: np.ndarray,
           every: float = 5.0) -> list[tuple[float, float]]:
    """(time s, delay ms) every ``every`` seconds: where a 2 s stretch of ``noisy`` best matches
    ``clean`` (cross-correlation, searched up to 400 ms after the same moment), as the difference of
    the two samples' capture times. The times come from PortAudio's timestamp of each block, so a
    block one recorder stream lost does not shift the figure (counting samples from a common start
    did: over 10 minutes under load it drifted below the engine's own latency)."""
    from scipy.signal import correlate
    time_noisy = lambda i: float(np.interp(i, stamps_noisy[:, 0], stamps_noisy[:, 1]))
    time_clean = lambda i: float(np.interp(i, stamps_clean[:, 0], stamps_clean[:, 1]))
    out = []
    span, reach = 2 * RATE, int(0.4 * RATE)
    for start in range(RATE, len(noisy) - span - reach, int(every * RATE)):
        at = int(np.interp(time_noisy(start), stamps_clean[:, 1], stamps_clean[:, 0]))   # the same moment in clean
        ref = noisy[start:start + span].astype(np.float64)
        seg = clean[at:at + span + reach].astype(np.float64)
        if len(seg) < span + reach:
            break
        lag = int(np.argmax(correlate(seg, ref, mode="valid", method="fft")))
        out.append((start / RATE, 1000 * (time_clean(at + lag) - time_noisy(start))))
    return out


def zero_runs(x: np.ndarray, at_least: int) -> list[tuple[int, int]]:
    """(start, length) of the runs of exact zeros in ``x`` at least ``at_least`` long."""
    z = np.concatenate([[0], (x == 0).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(z))
    return [(int(a), int(b - a)) for a, b in zip(edges[::2], edges[1::2]) if b - a >= at_least]


def silences(noisy: np.ndarray, clean: np.ndarray, delay: int, at_least: int) -> tuple[list[int], int]:
    """Lengths of the silences on the clean microphone that its input did not have (runs of exact
    zeros in ``clean`` where ``noisy``, ``delay`` samples earlier, was mostly not silent: while the
    input is stopped, silence out is right), and how many silences were the input's own."""
    own, theirs = [], 0
    for start, length in zero_runs(clean, at_least):
        before = noisy[max(0, start - delay):max(0, start - delay + length)]
        if len(before) and np.mean(before == 0) > 0.5:
            theirs += 1
        else:
            own.append(length)
    return own, theirs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--busy", type=int, default=0, help="busy-looping processes to run alongside (0, 1 or 2 on 2 cores)")
    p.add_argument("--events", type=float, default=0.0, help="seconds between events (0: none)")
    p.add_argument("--model", default=None)
    p.add_argument("--verbose", action="store_true", help="run live with -v and print its debug lines about delay")
    a = p.parse_args()
    seconds = 60 * a.minutes
    work = Path(tempfile.mkdtemp(prefix="rtdenoise-soak-"))
    server = aud.start(work / "server", RATE)
    procs: list[subprocess.Popen] = []
    try:
        feed_file = work / "feed.raw"
        speech_in_noise(seconds + 30).tofile(feed_file)
        # The harness's own streams are pinned too, so that an event moving the defaults cannot move
        # them (the feed or the recorder following a default sink or source is not rtdenoise's doing).
        feed_cmd = ["pacat", "--playback", "--raw", "--device=mic_feed", "--format=float32le", f"--rate={RATE}",
                    "--channels=1", "--property=node.dont-reconnect=true", str(feed_file)]
        feed = subprocess.Popen(feed_cmd, env=server.env)
        procs.append(feed)
        live_cmd = [sys.executable, "-m", "rtdenoise", "live", "-i", "noisy_mic", "-o", "denoised", "--stats-every", "0"]
        live_cmd += (["-m", a.model] if a.model else []) + (["-v"] if a.verbose else [])
        live = subprocess.Popen(live_cmd, env=server.env, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        procs.append(live)
        ready = ""
        while "Hz; latency" not in ready:
            line = live.stderr.readline()
            if not line:
                raise SystemExit("rtdenoise live did not start")
            ready = line
        print("ready:", ready.strip())
        busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(a.busy)]
        procs += busy
        rec_out = work / "rec.npz"
        recorder = subprocess.Popen([sys.executable, "-c", aud.REALTIME + textwrap.dedent(RECORDER), str(seconds), str(rec_out)],
                                    env={**server.env, "PIPEWIRE_PROPS": "{ node.dont-reconnect=true }"},
                                    stdout=subprocess.PIPE, text=True)
        procs.append(recorder)
        t0 = time.monotonic()
        events: list[str] = []
        kinds = ["default source", "default sink", "input restarted", "second instance"]
        k = 0
        while recorder.poll() is None:
            time.sleep(0.5)
            if a.events and time.monotonic() - t0 >= (k + 1) * a.events and time.monotonic() - t0 < seconds - 10:
                kind = kinds[k % len(kinds)]
                k += 1
                if kind == "default source":
                    before = server.pactl("get-default-source").strip()
                    server.pactl("set-default-source", "clean_mic")
                    time.sleep(2)
                    server.pactl("set-default-source", before)
                elif kind == "default sink":
                    before = server.pactl("get-default-sink").strip()
                    server.pactl("set-default-sink", "mic_feed")
                    time.sleep(2)
                    server.pactl("set-default-sink", before)
                elif kind == "input restarted":
                    feed.kill()
                    feed.wait()
                    time.sleep(1)
                    feed = subprocess.Popen(feed_cmd, env=server.env)
                    procs.append(feed)
                else:
                    second = subprocess.Popen([sys.executable, "-m", "rtdenoise", "live", "--virtual-mic",
                                               "--virtual-mic-name", "second", "--stats-every", "0"],
                                              env=server.env, stderr=subprocess.DEVNULL, cwd=ROOT)
                    time.sleep(6)
                    second.send_signal(signal.SIGINT)
                    second.wait(timeout=60)
                events.append(f"{time.monotonic() - t0:6.1f} s  {kind:16s}  live {'running' if live.poll() is None else 'EXITED'}")
        flags = recorder.stdout.read().strip()
        for b in busy:
            b.kill()
        live.send_signal(signal.SIGINT)
        err = live.stderr.read()
        code = live.wait(timeout=60)
        leftovers = [n for n in ("rtdenoise_mic", "second") if n in server.pactl("list", "short", "sources")]
    finally:
        for q in procs:
            if q.poll() is None:
                q.kill()
        aud.stop(server)
    rec = np.load(rec_out)
    clean = rec["clean"]
    start = int(2 * RATE)                                    # start-up: the model's first hops and the devices
    d = delays(rec["noisy"], clean, rec["stamps_noisy"], rec["stamps_clean"])
    typical = int(np.median([ms for _, ms in d]) * RATE / 1000) if d else 0
    runs, inputs = silences(rec["noisy"][start:], clean[start:], typical, int(0.010 * RATE))
    print(f"\n{a.minutes:g} min at {RATE} Hz, {a.busy} busy loop(s), events every {a.events:g} s; live exit code {code}")
    print(f"silences over 10 ms on the clean microphone after start-up: {len(runs)}"
          + (f", longest {1000 * max(runs) / RATE:.0f} ms" if runs else "")
          + (f" (and {inputs} where the input itself was silent)" if inputs else ""))
    summary = [line for line in err.splitlines() if line.startswith("hops ")]
    print("engine:", summary[-1] if summary else err.strip().splitlines()[-1:])
    if d:
        moves = [(t, ms) for (t, ms), (_, prev) in zip(d[1:], d[:-1]) if abs(ms - prev) > 5]
        print(f"delay through rtdenoise: start {d[0][1]:.1f} ms, end {d[-1][1]:.1f} ms, min {min(x for _, x in d):.1f}, "
              f"max {max(x for _, x in d):.1f}; changes over 5 ms: "
              + (", ".join(f"{ms:.0f} ms at {t:.0f} s" for t, ms in moves) or "none"))
    stated = re.search(r"latency (\d+) ms", ready)
    if stated and d:
        print(f"stated latency {stated.group(1)} ms; measured at start {d[0][1]:.1f} ms")
    if a.verbose:
        print("\n".join(line for line in err.splitlines() if "delay" in line))
    for e in events:
        print("event:", e)
    print("recorder flags:", flags.replace("\n", "; ") or "none")
    print("left behind after exit:", leftovers or "nothing")


if __name__ == "__main__":
    main()
