import pytest
import torch

from rnnops.errors import ConfigError
from rnnops.models import ARCHITECTURES, CELLS, build_model
from rnnops.models.build import check_model_config
from rnnops.models.io import load_model, save_model
from tests.conftest import model_config

L, H = 12, 6


def model(architecture="direct", **options):
    options.setdefault("hidden_size", 8)
    return build_model(model_config(architecture=architecture, **options), 3, 2, H, L, [0, 2])


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_every_cell_forecasts(cell):
    assert model(name=cell, num_layers=2)(torch.randn(4, L, 3)).shape == (4, H, 2)


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
@pytest.mark.parametrize("norm", ["last", "revin", "none"])
@pytest.mark.parametrize("channel_independent", [False, True])
def test_every_architecture_with_every_frame_option(architecture, norm, channel_independent):
    m = model(architecture, norm=norm, channel_independent=channel_independent,
               segment_length=4)
    x, y = torch.randn(4, L, 3), torch.randn(4, H, 2)
    m.train()
    out = m(x, y)
    assert out.shape == (4, H, 2)
    torch.nn.functional.mse_loss(out, y).backward()
    m.eval()
    with torch.no_grad():
        out = m(x)
        # translation equivariance: a level shift of the window shifts the forecast
        if norm != "none":
            torch.testing.assert_close(m(x + 5.0), out + 5.0, atol=1e-4, rtol=1e-4)


def test_last_value_norm_starts_at_the_last_value():
    m = model("direct", name="gru")
    x = torch.randn(3, L, 3)
    torch.testing.assert_close(m(x), x[:, -1:, [0, 2]].expand(-1, H, -1))


def test_revin_is_scale_equivariant():
    m = model("direct", norm="revin").eval()
    x = torch.randn(3, L, 3)
    with torch.no_grad():
        torch.testing.assert_close(m(x * 4.0 + 1.0), m(x) * 4.0 + 1.0, atol=1e-4, rtol=1e-4)


def test_channel_independence_forecasts_each_channel_alone():
    m = model("direct", channel_independent=True, norm="none").eval()
    x = torch.randn(2, L, 3)
    changed = x.clone()
    changed[:, :, 1] += torch.randn(2, L)  # a channel that is not a target
    with torch.no_grad():
        torch.testing.assert_close(m(x), m(changed))
        dependent = model("direct", norm="none").eval()
        assert not torch.allclose(dependent(x), dependent(changed))


def test_attention_weights_sum_to_one_over_encoder_steps():
    m = model("seq2seq").eval()
    out, details = m.forward_with_details(torch.randn(4, L, 3))
    attention = details["attention"]
    assert attention.shape == (4, H, L)
    torch.testing.assert_close(attention.sum(-1), torch.ones(4, H))
    m_ci = model("seq2seq", channel_independent=True).eval()
    _, details = m_ci.forward_with_details(torch.randn(4, L, 3))
    assert details["attention"].shape == (4, 3, H, L)  # per channel


def test_teacher_forcing_follows_its_schedule():
    m = model("seq2seq", teacher_forcing=1.0, teacher_forcing_decay=0.5)
    x, y = torch.randn(2, L, 3), torch.randn(2, H, 2)
    m.train()
    m.set_epoch(0)
    assert m.core.teacher_forcing_ratio() == 1.0
    forced = m(x, y)
    # full teacher forcing: the step-t output depends on the true value at t-1, not on the
    # model's own forecast, so changing y[:, 2] changes step 3 but not steps 0..2
    y2 = y.clone()
    y2[:, 2] += 1.0
    again = m(x, y2)
    torch.testing.assert_close(again[:, :3], forced[:, :3])
    assert not torch.allclose(again[:, 3], forced[:, 3])
    m.set_epoch(3)
    assert m.core.teacher_forcing_ratio() == 0.125
    m.eval()
    torch.testing.assert_close(m(x, y), m(x))  # no forcing outside training


def test_segment_model_has_one_value_per_horizon_step_and_channel():
    for lookback, horizon, w in ((96, 24, 12), (104, 26, 12)):  # the second pads and cuts
        m = build_model(model_config(architecture="segrnn", name="gru", hidden_size=16,
                                    segment_length=w, channel_independent=True),
                        7, 7, horizon, lookback)
        assert m(torch.randn(2, lookback, 7)).shape == (2, horizon, 7)
    joint = build_model(model_config(architecture="segrnn", hidden_size=16, segment_length=4),
                        3, 1, 8, 16, [2])
    assert joint(torch.randn(2, 16, 3)).shape == (2, 8, 1)


def test_segment_model_without_channel_embedding_treats_channels_alike():
    """channel_embedding=false (the authors' channel_id 0): the queries are the position
    embedding alone, so two channels with the same history get the same forecast; with the
    embedding they differ."""
    x = torch.randn(2, 48, 1).expand(2, 48, 3)  # three identical channels
    for embedded in (False, True):
        torch.manual_seed(0)
        m = build_model(model_config(architecture="segrnn", name="gru", hidden_size=16,
                                    segment_length=12, channel_independent=True,
                                    channel_embedding=embedded), 3, 3, 24, 48).eval()
        y = m(x)
        assert y.shape == (2, 24, 3)
        gap = (y[..., 0] - y[..., 2]).abs().max().item()
        assert gap > 1e-3 if embedded else gap < 1e-5  # rows of one batch may round apart
        names = {n.split(".")[-1] for n, _ in m.named_parameters()}
        assert ("channel" in names) == embedded


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match="model.name.*unknown cell 'lstmm'.*rnn, lstm, "):
        model(name="lstmm")
    with pytest.raises(ConfigError, match="model.architecture.*unknown.*direct, seq2seq"):
        model("transformer")
    with pytest.raises(ConfigError, match="model.weight_drop.*mingru has no recurrent"):
        model(name="mingru", weight_drop=0.5)
    with pytest.raises(ConfigError, match="model.bidirectional"):
        model("segrnn", bidirectional=True)
    # checked before any work too (a sweep would otherwise fail every trial on it)
    with pytest.raises(ConfigError, match="model.bidirectional.*segrnn decodes forward"):
        check_model_config(model_config(name="gru", architecture="segrnn", bidirectional=True))
    with pytest.raises(ConfigError, match="model.implementation.*lstm has no implementation "
                       "'loop'; choose one of default, auto, fused"):
        model(name="lstm", implementation="loop")


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_save_and_load_round_trip(tmp_path, architecture):
    m = model(architecture, name="peephole_lstm", norm="revin", segment_length=4).eval()
    save_model(m, tmp_path / "m.pt")
    again = load_model(tmp_path / "m.pt")
    x = torch.randn(2, L, 3)
    with torch.no_grad():
        torch.testing.assert_close(m(x), again(x))
