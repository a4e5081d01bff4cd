"""What the demo and the tests may rely on from the offline speech synthesiser."""
import numpy as np
import pytest

pytest.importorskip("espeakng_loader", reason="espeak-ng comes with the 'demo' extra")

from rtdenoise.data.tts import SpeechSynthesisError, synthesize, VOICES

SENTENCE = "The quick brown fox jumps over the lazy dog, then runs back into the forest."


def test_a_sentence_becomes_a_few_seconds_of_audible_float32_speech():
    audio, rate = synthesize(SENTENCE)
    assert rate > 8000
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert 1.0 < len(audio) / rate < 10.0
    assert np.all(np.abs(audio) <= 1.0)
    assert np.sqrt(np.mean(audio**2)) > 0.01


def test_different_sentences_give_different_audio():
    short, rate = synthesize("Hello.")
    long, long_rate = synthesize(SENTENCE)
    assert rate == long_rate
    assert len(short) < len(long)


def test_voices_give_different_audio_for_the_same_text():
    assert len(VOICES) >= 2
    clips = [synthesize(SENTENCE, voice=voice)[0] for voice in VOICES]
    for i, a in enumerate(clips):
        for b in clips[i + 1:]:
            assert len(a) != len(b) or not np.allclose(a, b)


def test_rate_controls_the_length():
    slow, _ = synthesize(SENTENCE, rate_wpm=120)
    fast, _ = synthesize(SENTENCE, rate_wpm=240)
    assert len(fast) < 0.75 * len(slow)


@pytest.mark.parametrize("voice", ["no-such-language", "en+no-such-variant"])
def test_an_unknown_voice_raises_a_one_line_runtime_error(voice):
    with pytest.raises(SpeechSynthesisError, match="unknown espeak-ng voice") as info:
        synthesize(SENTENCE, voice=voice)
    assert isinstance(info.value, RuntimeError) and "\n" not in str(info.value)


def test_text_with_nothing_to_say_raises():
    with pytest.raises(SpeechSynthesisError):
        synthesize("")
