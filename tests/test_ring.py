"""The single-producer/single-consumer ring between the audio callback and the inference thread."""
import threading
import time

import numpy as np

from rtdenoise.live.ring import SampleRing


def test_samples_come_out_in_order_across_the_wrap():
    ring = SampleRing(10)
    out = np.empty(4, np.float32)
    seq = np.arange(100, dtype=np.float32)
    got = []
    for i in range(0, 100, 4):
        assert ring.write(seq[i:i + 4]) == 4
        assert ring.read_into(out) == 4
        got.extend(out)
    assert np.array_equal(got, seq) and ring.overruns == ring.underruns == 0


def test_a_full_ring_drops_and_counts_what_does_not_fit():
    ring = SampleRing(8)
    assert ring.write(np.arange(6, dtype=np.float32)) == 6
    assert ring.write(np.arange(6, 12, dtype=np.float32)) == 2
    assert ring.overruns == 4 and ring.available() == 8 and ring.free() == 0
    assert np.array_equal(ring.read(100), np.arange(8))


def test_an_empty_ring_gives_zeros_and_counts_them_unless_told_not_to():
    ring = SampleRing(8)
    ring.write(np.ones(3, np.float32))
    out = np.full(5, 7.0, np.float32)
    assert ring.read_into(out) == 3
    assert np.array_equal(out, [1, 1, 1, 0, 0]) and ring.underruns == 2
    ring.read_into(out, count_underrun=False)
    assert ring.underruns == 2 and np.all(out == 0)


def test_an_underrun_keeps_time_the_missing_samples_are_dropped_when_they_arrive():
    ring = SampleRing(8)
    ring.write(np.ones(3, np.float32))
    out = np.zeros(5, np.float32)
    ring.read_into(out)                         # 2 samples short: zeros played in their place
    ring.write(np.array([2, 3, 4, 5], np.float32))
    one = np.zeros(2, np.float32)
    ring.read_into(one)
    assert np.array_equal(one, [4, 5])          # 2 and 3 came too late: dropped, not played late


def test_skip_sheds_the_oldest_samples():
    ring = SampleRing(8)
    ring.write(np.arange(5, dtype=np.float32))
    assert ring.skip(3) == 3
    assert np.array_equal(ring.read(5), [3, 4])


def test_one_producer_and_one_consumer_thread_pass_every_sample_once_in_order():
    ring = SampleRing(1000)
    total = 100_000
    sizes = np.random.default_rng(0).integers(1, 300, total)
    got = np.empty(total, np.float32)

    def produce():
        i, k = 0, 0
        while i < total:
            chunk = np.arange(i, min(i + sizes[k], total), dtype=np.float32)
            k += 1
            while ring.free() < len(chunk):
                time.sleep(0)                    # the test's producer waits; the callback never would
            i += ring.write(chunk)

    t = threading.Thread(target=produce)
    t.start()
    have = 0
    while have < total:
        n = ring.available()
        if n:
            got[have:have + n] = ring.read(n)
            have += n
        else:
            time.sleep(0)
    t.join()
    assert np.array_equal(got, np.arange(total, dtype=np.float32))
    assert ring.overruns == 0 and ring.underruns == 0


def test_samples_owed_to_an_underrun_do_not_count_as_queued():
    """After an underrun the late samples will be dropped on arrival: the producer must not take
    them for latency building up (and shed real hops because of them)."""
    r = SampleRing(64)
    out = np.zeros(10, np.float32)
    r.read_into(out)                                   # 10 samples owed
    r.write(np.ones(16, np.float32))
    assert r.available() == 16 and r.queued() == 6
    r.read_into(np.zeros(6, np.float32))
    assert r.available() == 0 and r.queued() == 0
