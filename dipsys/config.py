"""OmegaConf resolvers used by the shipped configs (registered when dipsys is imported)."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf

#: the checkout holding conf/, assets/ and train.py
REPO_ROOT = Path(__file__).resolve().parents[1]


def sample_gt(image: str, sample_image: str, sample_gt: str) -> str | None:
    """The bundled sample's ground truth while ``data.image`` is that sample, else None.

    Lets a task default to its sample *with* ground truth, while ``data.image=photo.jpg`` alone
    runs without one (no stale ground truth of another image).
    """
    same = os.path.realpath(str(image)) == os.path.realpath(str(sample_image))
    return sample_gt if same else None


def if_null(value: object, when_null: object, otherwise: object) -> object:
    """``when_null`` while ``value`` is null, else ``otherwise``.

    Lets a default depend on whether an option is set, e.g. ``watermark_multi``'s step budget:
    ``${if_null:${task.bbox},1500,100}`` (with a box the DIPs' fit does not enter the result).
    An explicit ``trainer.max_steps=...`` replaces the whole expression, so it always wins.

    Example:
        >>> if_null(None, 1500, 100), if_null([0, 0, 8, 8], 1500, 100)
        (1500, 100)
    """
    return when_null if value is None else otherwise


def if_equal(value: object, target: object, then: object, otherwise: object) -> object:
    """``then`` while ``value == target``, else ``otherwise``.

    ``watermark``'s step budget: ``${if_equal:${task.removal},dip,1500,100}``.

    Example:
        >>> if_equal("dip", "dip", 1500, 100), if_equal("affine", "dip", 1500, 100)
        (1500, 100)
    """
    return then if value == target else otherwise


def register_resolvers() -> None:
    OmegaConf.register_new_resolver("sample_gt", sample_gt, replace=True)
    # ``${len:${data.images}}``: a task sized by how many images it is given
    OmegaConf.register_new_resolver("len", lambda items: len(items), replace=True)
    OmegaConf.register_new_resolver("if_null", if_null, replace=True)
    OmegaConf.register_new_resolver("if_equal", if_equal, replace=True)


def compose_config(overrides: list[str] | None = None, output_dir: str | None = None):
    """Compose ``conf/train.yaml`` as ``train.py`` would, for scripts and tests.

    Sets Hydra's runtime config, so ``${hydra:...}`` interpolations resolve, and points
    ``paths.output_dir`` at ``output_dir`` (when given).
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    os.environ.setdefault("DIPSYS_ROOT", str(REPO_ROOT))
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=overrides or [], return_hydra_config=True)
    GlobalHydra.instance().clear()
    HydraConfig.instance().set_config(cfg)
    if output_dir is not None:
        with open_dict(cfg):
            cfg.paths.output_dir = str(output_dir)
    return cfg
