"""dipsys: unsupervised image layer decomposition with coupled Deep Image Priors."""

__version__ = "0.1.0"
