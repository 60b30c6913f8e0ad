"""LR schedules: warmup, end points and shapes of each kind."""

import numpy as np
import pytest

from curriscale.errors import CurriscaleError
from curriscale.train.schedules import SCHEDULES, LRSchedule, lr_array


def array(kind, **kw):
    return lr_array(LRSchedule(kind, lr=1.0, total_steps=100, warmup_fraction=0.1, min_lr_ratio=0.1, **kw))


@pytest.mark.parametrize("kind", SCHEDULES)
def test_warmup_rises_linearly_to_the_peak(kind):
    lrs = array(kind)
    assert lrs.shape == (100,)
    np.testing.assert_allclose(lrs[:10], np.arange(1, 11) / 10)
    assert lrs.max() == pytest.approx(1.0)


def test_cosine_and_linear_end_at_min_lr_and_decrease():
    for kind in ("cosine", "linear"):
        lrs = array(kind)
        assert lrs[-1] == pytest.approx(0.1)
        assert np.all(np.diff(lrs[10:]) <= 1e-12)
    cosine, linear = array("cosine"), array("linear")
    assert cosine[30] > linear[30]  # cosine stays high longer


def test_wsd_is_flat_then_decays_over_the_last_fifth():
    lrs = array("wsd", decay_fraction=0.2)
    assert np.all(lrs[10:80] == 1.0)
    assert lrs[80] < 1.0 and lrs[-1] == pytest.approx(0.1)


def test_step_drops_by_gamma_at_milestones_and_constant_stays():
    lrs = array("step", step_milestones=(0.5, 0.75), step_gamma=0.1)
    assert lrs[49] == 1.0 and lrs[50] == pytest.approx(0.1) and lrs[75] == pytest.approx(0.01)
    assert np.all(array("constant")[10:] == 1.0)


def test_unknown_schedule_names_the_option():
    with pytest.raises(CurriscaleError, match="--lr-schedule 'exp'"):
        LRSchedule("exp", 1.0, 10)
