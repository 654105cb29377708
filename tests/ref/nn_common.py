"""Shared by the tests/ref/torch_*.py fixture generators: the splitmix64 generator of io/base/rng.h and
the deterministic ResNet-18 weight pattern of resnet18_init_pattern() (core/models/resnet18.h).

splitmix64 is counter based: draw k (0-based) of rng_seeded(seed) is mix(seed + (k+1)*G mod 2^64),
so a whole tensor of draws is one vectorised numpy expression that matches the C stream bit for bit.
"""
import numpy as np

G = np.uint64(0x9E3779B97F4A7C15)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)


def splitmix_u64(seed, start, count):
    """Draws start .. start+count-1 of rng_seeded(seed) as uint64."""
    with np.errstate(over="ignore"):
        k = np.arange(start + 1, start + count + 1, dtype=np.uint64)
        z = np.uint64(seed) + k * G
        z = (z ^ (z >> np.uint64(30))) * M1
        z = (z ^ (z >> np.uint64(27))) * M2
        return z ^ (z >> np.uint64(31))


def uniform(seed, start, count):
    """rng_uniform: (u64 >> 40) * 2^-24 as float32 in [0, 1)."""
    return ((splitmix_u64(seed, start, count) >> np.uint64(40)).astype(np.float64) * 2.0**-24).astype(np.float32)


def uniform_range(seed, start, count, lo, hi):
    """rng_uniform_range: float(lo + (hi - lo) * u) with lo, hi float32 and the arithmetic in double."""
    lo, hi = float(np.float32(lo)), float(np.float32(hi))
    u = uniform(seed, start, count).astype(np.float64)
    return (lo + (hi - lo) * u).astype(np.float32)


class Stream:
    """A sequential rng_seeded(seed) stream (one draw per uniform)."""

    def __init__(self, seed):
        self.seed, self.pos = seed, 0

    def uniform_range(self, shape, lo, hi):
        n = int(np.prod(shape))
        v = uniform_range(self.seed, self.pos, n, lo, hi).reshape(shape)
        self.pos += n
        return v


def resnet18_pattern_state(state_dict_shapes, seed):
    """resnet18_init_pattern(): {key: float32 array} for the state_dict keys (num_batches_tracked skipped)."""
    s = Stream(seed)
    out = {}
    for key, shape in state_dict_shapes:
        if key.endswith("num_batches_tracked"):
            continue
        leaf = key.rsplit(".", 1)[1]
        if len(shape) == 4:
            b = np.float32(np.sqrt(6.0 / (shape[1] * shape[2] * shape[3])))
            lo, hi = -b, b
        elif key.startswith("fc."):
            b = np.float32(1.0 / np.sqrt(512.0))
            lo, hi = -b, b
        elif leaf in ("weight", "running_var"):
            lo, hi = 0.5, 1.5
        else:
            lo, hi = -0.2, 0.2
        out[key] = s.uniform_range(shape, lo, hi)
    return out
