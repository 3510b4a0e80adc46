"""Pure tensor functions: compositing equations, guided filter, dark channel, resizing.

Nothing here knows about networks or Lightning; every function is batched and device-agnostic.
"""

from dipsys.ops.dark_channel import (
    dark_channel,
    dcp_dehaze,
    default_dcp_radius,
    estimate_airlight,
)
from dipsys.ops.dihedral import (
    NUM_DIHEDRAL,
    dihedral,
    dihedral_inverse,
    dihedral_shape,
    dihedral_stack,
    dihedral_unstack,
)
from dipsys.ops.guided_filter import effective_radius, guided_filter, guided_filter_torch
from dipsys.ops.haze import add_haze, remove_haze
from dipsys.ops.resize import resize

__all__ = [
    "NUM_DIHEDRAL",
    "add_haze",
    "dihedral",
    "dihedral_inverse",
    "dihedral_shape",
    "dihedral_stack",
    "dihedral_unstack",
    "dark_channel",
    "dcp_dehaze",
    "default_dcp_radius",
    "effective_radius",
    "estimate_airlight",
    "guided_filter",
    "guided_filter_torch",
    "remove_haze",
    "resize",
]
