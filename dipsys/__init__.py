"""dipsys: unsupervised image layer decomposition with coupled Deep Image Priors."""

from dipsys.api import Decomposition, decompose
from dipsys.config import register_resolvers

__version__ = "0.1.0"
__all__ = ["Decomposition", "decompose"]

register_resolvers()
