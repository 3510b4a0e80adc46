"""Systems chain tasks into stages (a single task is a one-stage system)."""

from dipsys.systems.iterative_dehazing import IterativeDehazing, step_schedule
from dipsys.systems.system import Stage, StageResult, System
from dipsys.systems.three_layer import ThreeLayerSegmentation

__all__ = [
    "IterativeDehazing",
    "Stage",
    "StageResult",
    "System",
    "ThreeLayerSegmentation",
    "step_schedule",
]
