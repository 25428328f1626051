"""Score detected reps against simulator ground truth (used by the benchmark and the tests)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calfsense.dsp.detect import Rep
from calfsense.dsp.simulate import TruthRep


@dataclass(frozen=True, slots=True)
class Match:
    """Detected reps paired with true ones by overlap; the leftovers are misses and false reps."""

    pairs: tuple[tuple[TruthRep, Rep], ...]
    missed: tuple[TruthRep, ...]
    false: tuple[Rep, ...]


def match_reps(truth: tuple[TruthRep, ...] | list[TruthRep], found: tuple[Rep, ...] | list[Rep]) -> Match:
    """Greedy one-to-one matching: a detected rep matches the true rep its top falls into."""
    used: set[int] = set()
    pairs: list[tuple[TruthRep, Rep]] = []
    false: list[Rep] = []
    for rep in found:
        mid = 0.5 * (rep.top_s + rep.lower_s)
        best = None
        for k, tr in enumerate(truth):
            if k in used:
                continue
            if tr.start_s - 0.3 <= mid <= tr.end_s + 0.3:
                best = k
                break
        if best is None:
            false.append(rep)
        else:
            used.add(best)
            pairs.append((truth[best], rep))
    missed = tuple(tr for k, tr in enumerate(truth) if k not in used)
    return Match(tuple(pairs), missed, tuple(false))


def set_counts(
    truth: tuple[TruthRep, ...] | list[TruthRep], found: tuple[Rep, ...] | list[Rep], n_sets: int
) -> list[tuple[int, int]]:
    """(true, detected) rep counts per true set; a detected rep belongs to the set it matched."""
    m = match_reps(truth, found)
    true_n = [0] * n_sets
    got = [0] * n_sets
    for tr in truth:
        true_n[tr.set_index] += 1
    for tr, _ in m.pairs:
        got[tr.set_index] += 1
    # False reps inside a set's span count against that set.
    for rep in m.false:
        for tr in truth:
            if tr.start_s - 3 <= rep.start_s <= tr.end_s + 3:
                got[tr.set_index] += 1
                break
    return list(zip(true_n, got, strict=True))


def sets_grouped_right(truth: tuple[TruthRep, ...] | list[TruthRep], found: tuple[Rep, ...] | list[Rep]) -> list[bool]:
    """Per true set: its matched reps are in one detected set, which holds no other true set's reps."""
    m = match_reps(truth, found)
    found_sets: dict[int, set[int]] = {}  # true set -> detected sets of its reps
    true_sets: dict[int, set[int]] = {}  # detected set -> true sets of its reps
    for tr, rep in m.pairs:
        found_sets.setdefault(tr.set_index, set()).add(rep.set_index)
        true_sets.setdefault(rep.set_index, set()).add(tr.set_index)
    n_sets = 1 + max((tr.set_index for tr in truth), default=-1)
    return [len(found_sets.get(k, ())) == 1 and len(true_sets[next(iter(found_sets[k]))]) == 1 for k in range(n_sets)]


def timing_errors(m: Match) -> np.ndarray:
    """Absolute start, top and end errors (s) of matched reps, flattened."""
    errs = [abs(r.start_s - t.start_s) for t, r in m.pairs]
    errs += [abs(r.top_s - t.top_s) for t, r in m.pairs]
    errs += [abs(r.end_s - t.end_s) for t, r in m.pairs]
    return np.array(errs)
