"""The networks of the seed design: shapes, sizes, the latent z, and virtual batch norm."""
import pytest
import torch

from rtdenoise.model.config import ModelConfig, preset, PRESETS
from rtdenoise.model.seed import count_parameters, Discriminator, NoiseCanceler


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_maps_a_window_to_a_window_and_a_pair_to_a_score(name):
    cfg = PRESETS[name]
    g = NoiseCanceler(cfg)
    d = Discriminator(cfg.discriminator(), torch.randn(2, 2, cfg.window))
    with torch.no_grad():
        assert g(torch.randn(2, 1, cfg.window)).shape == (2, 1, cfg.window)
        assert d(torch.randn(3, 2, cfg.window)).shape == (3, 1)


def test_seed_preset_is_the_seed_design():
    cfg = preset("seed")
    assert cfg.channels == (16, 32, 32, 64, 64, 128, 128, 256, 256, 512, 1024)
    assert (cfg.window, cfg.kernel, cfg.sample_rate, cfg.bottleneck) == (16384, 32, 16000, (1024, 8))
    g = NoiseCanceler(cfg)
    assert abs(count_parameters(g) - 58.7e6) < 0.05e6
    assert [c.in_channels for c in g.encoder][:3] == [1, 16, 32]
    assert all(c.kernel_size == (32,) and c.stride == (2,) and c.padding == (15,) for c in g.encoder)
    # decoder mirrors the encoder; from its second layer on, inputs are doubled by the skips
    assert [c.out_channels for c in g.decoder] == [512, 256, 256, 128, 128, 64, 64, 32, 32, 16, 1]
    assert [c.in_channels for c in g.decoder] == [1024, 1024, 512, 512, 256, 256, 128, 128, 64, 64, 32]
    d = Discriminator(cfg.discriminator(), torch.zeros(2, 2, cfg.window))
    assert len(d.convs) == 10 and d.linear.in_features == 16 and d.act.negative_slope == 0.3


def test_presets_shrink_from_seed_to_realtime_sizes():
    sizes = [count_parameters(NoiseCanceler(PRESETS[n])) for n in ("seed", "half", "small", "tiny")]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[2] < 3e6


def test_latent_z_is_optional_and_off_by_default():
    cfg = PRESETS["tiny"]
    assert not cfg.latent
    x = torch.randn(1, 1, cfg.window)
    with pytest.raises(ValueError):
        NoiseCanceler(cfg)(x, z=torch.randn(1, *cfg.bottleneck))
    g = NoiseCanceler(ModelConfig.from_dict({**cfg.to_dict(), "latent": True}))
    assert g.decoder[0].in_channels == 2 * cfg.channels[-1]
    with torch.no_grad():
        z = torch.randn(1, *cfg.bottleneck)
        assert torch.equal(g(x, z), g(x, z))
        assert not torch.equal(g(x), g(x)), "without a given z, a fresh one is drawn"


def test_config_rejects_windows_the_encoder_cannot_halve():
    with pytest.raises(ValueError):
        ModelConfig(window=1000)
    with pytest.raises(ValueError):
        preset("huge")


class TestVirtualBatchNorm:
    def setup_method(self):
        torch.manual_seed(0)
        self.cfg = PRESETS["tiny"]
        self.ref = torch.randn(6, 2, self.cfg.window)
        self.d = Discriminator(self.cfg.discriminator(), self.ref)

    def test_no_statistics_are_left_over_between_calls(self):
        self.d(torch.randn(4, 2, self.cfg.window))
        assert self.d.pending_statistics() == 0

    def test_a_score_does_not_depend_on_the_rest_of_its_batch(self):
        a, b, c = torch.randn(3, 1, 2, self.cfg.window)
        s1 = self.d(torch.cat([a, b]))[0]
        s2 = self.d(torch.cat([a, c, c]))[0]
        s3 = self.d(a)[0]
        assert torch.allclose(s1, s2, atol=1e-6) and torch.allclose(s1, s3, atol=1e-6)

    def test_the_reference_batch_sets_the_normalisation(self):
        x = torch.randn(2, 2, self.cfg.window)
        before = self.d(x)
        self.d.set_reference(3 * torch.randn(6, 2, self.cfg.window))
        assert not torch.allclose(before, self.d(x))

    def test_first_layer_is_normalised_with_reference_statistics(self):
        x = torch.randn(3, 2, self.cfg.window)
        seen = {}
        self.d.norms[0].register_forward_hook(lambda m, i, o: seen.setdefault("out", []).append(o.detach()))
        self.d(x)
        conv = self.d.convs[0]
        with torch.no_grad():
            r, h = conv(self.ref), conv(x)
            expected = (h - r.mean(0, keepdim=True)) / torch.sqrt(r.var(0, keepdim=True) + 1e-5)
        assert torch.allclose(seen["out"][1], expected, atol=1e-5)  # scale 1, bias 0 at init

    def test_reference_is_part_of_the_saved_state(self):
        other = Discriminator(self.cfg.discriminator())
        other.load_state_dict(self.d.state_dict())
        assert torch.equal(other.reference, self.ref)

    def test_a_reference_of_one_sample_is_refused(self):
        with pytest.raises(ValueError):
            self.d.set_reference(torch.randn(1, 2, self.cfg.window))
