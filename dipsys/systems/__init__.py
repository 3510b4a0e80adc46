"""Systems chain tasks into stages (a single task is a one-stage system)."""

from dipsys.systems.iterative_dehazing import IterativeDehazing, step_schedule
from dipsys.systems.restarts import Restarts, median_layers
from dipsys.systems.stage import Stage, StageResult
from dipsys.systems.system import System
from dipsys.systems.three_layer import ThreeLayerSegmentation

__all__ = [
    "IterativeDehazing",
    "Restarts",
    "Stage",
    "StageResult",
    "System",
    "median_layers",
    "ThreeLayerSegmentation",
    "step_schedule",
]
