"""Low-order IIR filters (design, steady state, filtering) in numpy alone, equal to scipy.signal's.

Why not scipy.signal: importing it takes 0.6-0.7 s (it pulls in scipy.stats and scipy.interpolate), more
than detecting a one-hour session takes, and every `calfsense replay` and `live` paid it. The detector
needs three things from it, for filters of order 3 at most; they are here, checked against scipy.signal
in tests/test_iir.py.

Filtering runs the direct-form-II-transposed recursion in blocks: within a block the output is the
input convolved with the impulse response (one matrix product) plus the block's starting state carried
forward; the states at block starts come from a prefix scan. That is exact (no truncated responses) and
runs at C speed however long the input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

_BLOCK = 32  # samples per block: a longer block costs more per sample, a shorter one more scan work

Coeffs = tuple[NDArray[np.float64], NDArray[np.float64]]


def butter2_lowpass(hz: float, fs: float) -> Coeffs:
    """A 2nd-order Butterworth low-pass at `hz` for sample rate `fs`: scipy.signal.butter(2, hz, fs=fs)."""
    if not 0.0 < hz < fs / 2.0:
        raise ValueError(f"a low-pass corner of {hz} Hz needs 0 < hz < {fs / 2.0} (half of {fs} Hz)")
    # The analog prototype's corner prewarped so that the bilinear transform puts it at `hz` exactly.
    k = math.tan(math.pi * hz / fs)
    norm = 1.0 + math.sqrt(2.0) * k + k * k
    b0 = k * k / norm
    b = np.array([b0, 2.0 * b0, b0])
    a = np.array([1.0, 2.0 * (k * k - 1.0) / norm, (1.0 - math.sqrt(2.0) * k + k * k) / norm])
    return b, a


@dataclass(frozen=True, slots=True, eq=False)
class _Plan:
    """A filter's block matrices (direct form II transposed, state z, y = b0 x + z[0])."""

    order: int
    d: float  # b0
    step: NDArray[np.float64]  # (k, k): the state's own step
    drive: NDArray[np.float64]  # (k,): how an input moves the state
    carry: NDArray[np.float64]  # (L, L) lower-triangular impulse-response matrix
    seen: NDArray[np.float64]  # (L, k): the output from a block's starting state
    push: NDArray[np.float64]  # (k, L): a block's end state from its inputs
    powers: NDArray[np.float64]  # (L + 1, k, k): the state step to the power 0..L


def _normalised(b: NDArray[np.float64], a: NDArray[np.float64]) -> Coeffs:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or b.ndim != 1 or len(a) == 0 or len(b) == 0 or a[0] == 0.0:
        raise ValueError("filter coefficients must be 1-D with a[0] != 0")
    n = max(len(a), len(b))
    a_n = np.zeros(n)
    b_n = np.zeros(n)
    a_n[: len(a)] = a / a[0]
    b_n[: len(b)] = b / a[0]
    return b_n, a_n


@lru_cache(maxsize=64)
def _plan(b_key: tuple[float, ...], a_key: tuple[float, ...]) -> _Plan:
    b, a = np.array(b_key), np.array(a_key)
    k = len(a) - 1
    step = np.zeros((k, k))
    step[:, 0] = -a[1:]
    step[np.arange(k - 1), np.arange(1, k)] = 1.0
    drive = b[1:] - a[1:] * b[0]
    powers = np.empty((_BLOCK + 1, k, k))
    powers[0] = np.eye(k)
    for i in range(1, _BLOCK + 1):
        powers[i] = step @ powers[i - 1]
    # Impulse response h[0] = b0, h[m] = (step^(m-1) drive)[0].
    h = np.empty(_BLOCK)
    h[0] = b[0]
    h[1:] = (powers[: _BLOCK - 1] @ drive)[:, 0]
    lag = np.arange(_BLOCK)[:, None] - np.arange(_BLOCK)[None, :]
    carry = np.where(lag >= 0, h[np.clip(lag, 0, None)], 0.0)
    seen = powers[:_BLOCK, 0, :]
    push = (powers[_BLOCK - 1 :: -1] @ drive).T  # column j: step^(L-1-j) drive
    return _Plan(k, float(b[0]), step, drive, carry, seen, push, powers)


def lfilter_zi(b: NDArray[np.float64], a: NDArray[np.float64]) -> NDArray[np.float64]:
    """The state of a filter that has always seen 1.0 (scipy.signal.lfilter_zi)."""
    return Filter(b, a).zi


def lfilter(
    b: NDArray[np.float64], a: NDArray[np.float64], x: NDArray[np.float64], zi: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Filter `x` along axis 0 from state `zi`: (y, final state), as scipy.signal.lfilter(..., axis=0, zi=zi)."""
    return Filter(b, a).run(x, zi)


class Filter:
    """One designed filter, its block matrices built once: `run` it on any number of blocks."""

    __slots__ = ("_d", "_plan", "zi")

    def __init__(self, b: NDArray[np.float64], a: NDArray[np.float64]) -> None:
        b_n, a_n = _normalised(b, a)
        self._d = float(b_n[0])
        self._plan = _plan(tuple(b_n.tolist()), tuple(a_n.tolist())) if len(a_n) > 1 else None
        # The state of the filter after a constant 1.0 forever (scipy.signal.lfilter_zi): z = step z + drive.
        p = self._plan
        steady = np.zeros(0) if p is None else np.linalg.solve(np.eye(p.order) - p.step, p.drive)
        self.zi: NDArray[np.float64] = np.asarray(steady, dtype=np.float64)

    def run(self, x: NDArray[np.float64], zi: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Filter `x` along its first axis from state `zi` (k,) or (k, channels): (y, final state)."""
        x = np.asarray(x, dtype=np.float64)
        flat = x.ndim == 1
        x2 = x[:, None] if flat else x if x.ndim == 2 else x.reshape(len(x), math.prod(x.shape[1:]))
        p = self._plan
        if p is None:
            return x * self._d, np.asarray(zi, dtype=np.float64)
        k = p.order
        n, c = x2.shape
        z = np.asarray(zi, dtype=np.float64).reshape(k, -1)
        if z.shape[1] != c:
            z = np.broadcast_to(z, (k, c))
        if n <= _BLOCK:
            # One block (a streaming block, a short window): four small products.
            y = p.carry[:n, :n] @ x2 + p.seen[:n] @ z
            zf = p.powers[n] @ z + p.push[:, _BLOCK - n :] @ x2
        else:
            y, zf = _run_blocks(p, x2, z)
        y_out: NDArray[np.float64] = y[:, 0] if flat else y.reshape(x.shape)
        zf_out: NDArray[np.float64] = zf[:, 0] if flat else zf.reshape((k, *x.shape[1:]))
        return y_out, zf_out


def _run_blocks(
    p: _Plan, x2: NDArray[np.float64], z: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    n, c = x2.shape
    k = p.order
    nb = -(-n // _BLOCK)
    padded = np.zeros((nb * _BLOCK, c))
    padded[:n] = x2
    # Blocks side by side as columns (L, nb * c): each product below is one matrix multiplication.
    cols = padded.reshape(nb, _BLOCK, c).transpose(1, 0, 2).reshape(_BLOCK, nb * c)
    # Block i's end state: its own inputs' part, plus the state before it stepped L samples on. Block 0's
    # carries the start state; the sum over all earlier blocks is a prefix scan by doubling (log2(nb) matrix
    # products over all blocks at once, only positive powers of the step: no Python loop over blocks).
    ends = (p.push @ cols).reshape(k, nb * c)
    step = p.powers[_BLOCK]
    ends[:, :c] += step @ z
    shift = 1
    by_block = ends.reshape(k, nb, c)
    while shift < nb:
        # The product is a new array, taken before the in-place sum changes what it read.
        by_block[:, shift:] += (step @ ends[:, : (nb - shift) * c]).reshape(k, nb - shift, c)
        step = step @ step
        shift *= 2
    starts = np.empty((k, nb, c))
    starts[:, 0] = z
    starts[:, 1:] = by_block[:, :-1]
    y = (p.carry @ cols + p.seen @ starts.reshape(k, nb * c)).reshape(_BLOCK, nb, c).transpose(1, 0, 2)
    y = y.reshape(nb * _BLOCK, c)[:n]
    r = n - (nb - 1) * _BLOCK
    zf = p.powers[r] @ starts[:, -1] + p.push[:, _BLOCK - r :] @ padded[(nb - 1) * _BLOCK : n]
    return y, zf
