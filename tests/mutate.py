"""Byte mutations for the seeded fuzzers: flip, cut, insert, repeat, and the fields a format cares about."""

from __future__ import annotations

import random
from collections.abc import Callable

Special = Callable[[random.Random, bytearray], None]


def mutate_bytes(rng: random.Random, data: bytes, special: Special | None = None) -> bytes:
    """One to four random edits of `data`; `special` (if given) is one more kind of edit, as likely as each."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5 if special else 4)
        if op == 0 and out:
            out[rng.randrange(len(out))] = rng.randrange(256)  # a byte flipped
        elif op == 1 and out:
            del out[rng.randrange(len(out)) :]  # cut short
        elif op == 2:
            out.insert(rng.randrange(len(out) + 1), rng.randrange(256))  # a byte too many
        elif op == 3 and out:
            i = rng.randrange(len(out))
            out[i:i] = out[i : i + rng.randint(1, 8)]  # a run repeated
        elif special is not None:
            special(rng, out)
    return bytes(out)
