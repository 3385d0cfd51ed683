"""Independent, reproducible random streams keyed by what they make.

Every random stream is derived from the user's seed plus a key naming its purpose
(``"raw", night, exposure, ifu``), so a file's pixels do not depend on the order in
which files, IFUs or threads are processed: the same arguments give the same bytes.
"""

from __future__ import annotations

import zlib

import numpy as np


def _word(part: int | str) -> int:
    if isinstance(part, str):
        return zlib.crc32(part.encode())
    if part < 0:
        raise ValueError(f"seed key parts must be >= 0, got {part}")
    return int(part)


def bitgen(seed: int, *parts: int | str) -> np.random.BitGenerator:
    """A fast bit generator (SFC64) for ``seed`` and the key ``parts``."""
    return np.random.SFC64(np.random.SeedSequence([_word(seed), *map(_word, parts)]))


def rng(seed: int, *parts: int | str) -> np.random.Generator:
    """A numpy Generator for ``seed`` and the key ``parts``."""
    return np.random.Generator(bitgen(seed, *parts))
