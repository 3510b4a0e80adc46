"""Systems chain tasks into stages (a single task is a one-stage system)."""

from dipsys.systems.system import Stage, StageResult, System

__all__ = ["Stage", "StageResult", "System"]
