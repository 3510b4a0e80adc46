"""Systems chain tasks into stages (a single task is a one-stage system)."""

from dipsys.systems.iterative_dehazing import IterativeDehazing, step_schedule
from dipsys.systems.system import Stage, StageResult, System

__all__ = ["IterativeDehazing", "Stage", "StageResult", "System", "step_schedule"]
