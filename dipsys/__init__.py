"""dipsys: unsupervised image layer decomposition with coupled Deep Image Priors."""

from dipsys.config import register_resolvers

__version__ = "0.1.0"

register_resolvers()
