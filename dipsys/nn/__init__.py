"""Generator networks and their fixed input codes."""

from dipsys.nn.noise import NoiseSpec, make_noise
from dipsys.nn.skip import SkipGenerator, count_parameters

__all__ = ["NoiseSpec", "SkipGenerator", "count_parameters", "make_noise"]
