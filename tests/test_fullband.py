"""Full band: a spectral model runs at 48 kHz natively (and 44.1 kHz through 48 kHz), keeps the band
above 8 kHz where it is speech and removes it where it is noise, with the latency it has at 16 kHz."""
import numpy as np
import pytest
import soundfile as sf

from rtdenoise import StreamingDenoiser, enhance
from rtdenoise.bench.peers import speech_like
from rtdenoise.data.speech import full_band_voice
from rtdenoise.errors import ParameterError
from rtdenoise.families import framing
from rtdenoise.live.builder import build_engine
from rtdenoise.model.pretrained import load_model
from rtdenoise.signal.offline import enhance_rows

FS = 48000


@pytest.fixture(scope="module")
def shipped():
    return load_model("rtdenoise-spectral", "cpu")


def band_energy(x: np.ndarray, lo: float, hi: float, rate: int = FS) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / rate)
    return float(spec[(f >= lo) & (f < hi)].sum())


def tone(hz: float, seconds: float, level: float, rate: int = FS) -> np.ndarray:
    return (level * np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def narrow_noise(hz: float, width: float, seconds: float, level: float, seed: int = 0) -> np.ndarray:
    """Noise in ``hz`` +- ``width``/2 only, at RMS ``level``."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / FS)
    spec[np.abs(f - hz) > width / 2] = 0
    x = np.fft.irfft(spec, n)
    return (level * x / np.sqrt(np.mean(x ** 2))).astype(np.float32)


def test_at_48k_a_spectral_model_frames_the_same_32_ms_with_three_times_the_samples(spectral_model):
    f16, f48 = framing(spectral_model), framing(spectral_model, rate=FS)
    assert (f48.window, f48.hop, f48.delay, f48.rate) == (1536, 768, 768, FS)
    assert f48.latency_ms == f16.latency_ms == 32.0


@pytest.mark.parametrize("chunk", [77, 1000, 9999])
def test_at_48k_offline_is_the_stream_sample_for_sample_for_any_chunking(spectral_model, chunk):
    x = (0.1 * np.random.default_rng(2).standard_normal(int(0.7 * FS))).astype(np.float32)
    offline = enhance_rows(spectral_model, x, backend="torch", rate=FS)[0]
    den = StreamingDenoiser(spectral_model, backend="torch", rate=FS)
    y = np.concatenate([den.push(x[i:i + chunk]) for i in range(0, len(x), chunk)] + [den.flush()])
    # The same frames through the same network; one FFT per hop against a batched FFT: fp32 rounding.
    np.testing.assert_allclose(y[den.delay:den.delay + len(x)], offline, atol=1e-6)


def test_a_12khz_tone_inside_speech_survives_where_a_12khz_noise_band_alone_is_removed(shipped):
    """The band above 8 kHz follows what the model keeps of its own top band (4 to 8 kHz): of a
    voice, nearly all; of noise alone, little."""
    speech = full_band_voice(3.0)
    whistle = tone(12000, 3.0, 0.01)
    out = enhance(shipped, speech + whistle, FS)
    core = slice(FS // 2, 5 * FS // 2)                      # past the first frames
    lost = 10 * np.log10(band_energy(out[core], 11900, 12100) / band_energy((speech + whistle)[core], 11900, 12100))
    assert lost > -6, f"the tone inside speech lost {-lost:.1f} dB"
    alone = narrow_noise(12000, 1000, 3.0, 0.02)
    removed = 10 * np.log10(band_energy(alone[core], 11000, 13000) /
                            band_energy(enhance(shipped, alone, FS)[core], 11000, 13000))
    assert removed > 20, f"a 12 kHz noise band alone lost only {removed:.1f} dB"


def test_a_48k_file_is_enhanced_at_48k_with_its_band_above_8khz_and_44k_through_48k(shipped):
    x = full_band_voice(2.0)
    y = enhance(shipped, x, FS)
    assert y.shape == x.shape and y.dtype == x.dtype
    kept = band_energy(y, 8000, 24000) / band_energy(x, 8000, 24000)
    assert kept > 10 ** (-6 / 10), f"the band above 8 kHz lost {-10 * np.log10(kept):.1f} dB"
    from rtdenoise.signal.audio import resample
    x44 = resample(x[:, None], FS, 44100)[:, 0]
    y44 = enhance(shipped, x44, 44100)
    assert y44.shape == x44.shape
    assert band_energy(y44, 8000, 22050, 44100) > 0.25 * band_energy(x44, 8000, 22050, 44100)


@pytest.mark.parametrize("rate", [8000, 96000, 44100, 0])
def test_a_stream_at_a_rate_the_model_does_not_run_at_is_one_clear_error(spectral_model, rate):
    with pytest.raises(ParameterError, match=f"rate {rate}: this model streams at 16000 or 32000 or 48000 Hz"):
        StreamingDenoiser(spectral_model, rate=rate)


def test_the_seed_family_streams_at_16khz_only_and_its_files_stay_band_limited(tiny_model):
    with pytest.raises(ParameterError, match="rate 48000: this model streams at 16000 Hz"):
        StreamingDenoiser(tiny_model, rate=FS)
    y = enhance(tiny_model, speech_like(FS, 1.0), FS)
    assert band_energy(y, 8500, 24000) < 1e-6 * band_energy(y, 0, 8000)


def test_enhance_refuses_a_rate_of_zero_in_one_line(spectral_model):
    with pytest.raises(ParameterError, match="rate must be a positive number of Hz, got 0"):
        enhance(spectral_model, np.zeros(1000, np.float32), 0)


@pytest.mark.parametrize("device_rate,model_rate,resampled", [(48000, 48000, False), (44100, 48000, True),
                                                                (32000, 32000, False), (16000, 16000, False)])
def test_the_live_engine_runs_a_spectral_model_at_the_device_rate_where_it_can(
        tiny_model_dir, monkeypatch, device_rate, model_rate, resampled):
    monkeypatch.setenv("RTDENOISE_MODELS", str(tiny_model_dir))
    engine = build_engine(device_rate, model="spectral-tiny", backend="torch")
    assert engine.model_rate == model_rate and engine.framing.latency_ms == 32.0
    assert (engine._resample_in is not None) == resampled


def test_live_in_file_at_48k_writes_48k_aligned_to_the_input(cli, tmp_path):
    x = speech_like(FS, seconds=1.0)
    sf.write(tmp_path / "in.wav", x, FS, subtype="FLOAT")
    r = cli("live", "--in-file", str(tmp_path / "in.wav"), "--out-file", str(tmp_path / "out.wav"), "-m", "spectral-tiny")
    assert r.returncode == 0, r.stderr
    assert "at 48000 Hz" in r.stderr
    y, rate = sf.read(tmp_path / "out.wav", dtype="float32")
    assert rate == FS and len(y) == len(x)
