"""The numpy IIR filters equal scipy.signal's, on the detector's filters and on awkward lengths."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from calfsense.dsp.iir import Filter, butter2_lowpass, lfilter, lfilter_zi


@pytest.mark.parametrize(("hz", "fs"), [(2.5, 50.0), (6.0, 50.0), (0.15, 50.0), (20.0, 200.0), (24.0, 50.0)])
def test_butterworth_design_and_steady_state_match_scipy(hz: float, fs: float) -> None:
    b, a = butter2_lowpass(hz, fs)
    ref_b, ref_a = signal.butter(2, hz, fs=fs)
    np.testing.assert_allclose(b, ref_b, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(a, ref_a, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(lfilter_zi(b, a), signal.lfilter_zi(ref_b, ref_a), rtol=1e-9, atol=1e-12)


def _designs() -> list[tuple[np.ndarray, np.ndarray]]:
    first = (np.array([0.3]), np.array([1.0, -0.7]))
    high = (np.array([0.95, -0.95]), np.array([1.0, -0.9]))
    # The lift's filter: a high-pass and two leaky integrators, order 3 with poles near 1.
    third_b = np.convolve(np.convolve(high[0], [0.02]), [0.02])
    third = (third_b, np.convolve(np.convolve(high[1], [1, -0.98]), [1, -0.98]))
    return [butter2_lowpass(2.5, 50.0), butter2_lowpass(0.15, 50.0), first, high, third]


@pytest.mark.parametrize("design", range(5))
@pytest.mark.parametrize("n", [1, 2, 9, 31, 32, 33, 64, 65, 100, 1000, 5003])
def test_filtering_matches_scipy_from_any_state(design: int, n: int) -> None:
    b, a = _designs()[design]
    rng = np.random.default_rng(n * 10 + design)
    k = max(len(a), len(b)) - 1
    for shape in ((n, 3), (n,)):
        x = rng.normal(0.0, 100.0, shape)
        zi = rng.normal(0.0, 50.0, (k, *shape[1:]))
        y, zf = lfilter(b, a, x, zi)
        ref_y, ref_zf = signal.lfilter(b, a, x, axis=0, zi=zi)
        assert y.shape == ref_y.shape and zf.shape == ref_zf.shape
        scale = 1.0 + np.abs(ref_y).max()
        np.testing.assert_allclose(y, ref_y, rtol=0, atol=1e-9 * scale)
        np.testing.assert_allclose(zf, ref_zf, rtol=0, atol=1e-9 * scale)


def test_blocks_in_any_split_continue_one_another() -> None:
    b, a = butter2_lowpass(2.5, 50.0)
    f = Filter(b, a)
    x = np.random.default_rng(3).normal(0.0, 100.0, (777, 3))
    whole, _ = f.run(x, f.zi[:, None] * x[:1])
    parts, z = [], f.zi[:, None] * x[:1]
    for lo, hi in [(0, 1), (1, 40), (40, 41), (41, 500), (500, 777)]:
        y, z = f.run(x[lo:hi], z)
        parts.append(y)
    np.testing.assert_allclose(np.concatenate(parts), whole, rtol=0, atol=1e-9)


def test_an_empty_block_keeps_the_state_and_a_corner_past_nyquist_is_refused() -> None:
    b, a = butter2_lowpass(2.5, 50.0)
    zi = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    y, zf = lfilter(b, a, np.zeros((0, 3)), zi)
    assert y.shape == (0, 3)
    np.testing.assert_array_equal(zf, zi)
    with pytest.raises(ValueError, match="low-pass corner"):
        butter2_lowpass(30.0, 50.0)
