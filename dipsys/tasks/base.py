"""The base LightningModule every decomposition task derives from.

A task is a set of DIP generators, each fed a fixed noise image z_g, whose outputs are combined
into layers and recomposed into the input. The training step lives here, once:

    layers = decompose({g: G_g(T_k z_g + σ_t·f_g·ε)}),   Î = composite(layers),
    L = Σ_i w_i · term_i(layers, Î, T_k I)

A subclass says how generator outputs become layers (``decompose``), how layers recombine
(``composite``), which loss terms apply (``loss_terms``) and how the best layers become the
final, original-size result (``export``).

Best-result tracking (:mod:`dipsys.tasks.best_result`): every ``select_every`` steps, when the
subclass's ``selectable(step)`` allows it, the canonical-orientation layers of the step with
the best reconstruction PSNR are kept, and carried by every checkpoint.

The per-step perturbation ε is drawn from a generator seeded by (seed, step, generator index),
so a resumed run draws the same noise as an uninterrupted one.

Speed options (none changes the model; see README "Speed and scale"): ``fuse_generators`` runs
same-shaped generators as one grouped pass (:mod:`dipsys.nn.fused`), ``channels_last`` stores
weights and activations NHWC (faster convolutions, batch norms and upsampling on CPU and with
cuDNN), ``compile`` runs the generator pass through ``torch.compile`` (eager where that fails).
Under mixed precision only the generators run in low precision: layers, compositing and every
loss term are computed in float32 with autocast off (reciprocals such as the binary-mask term and
the ~1e-7 products of the exclusion term are not representable in fp16).

Shape:
    - batch: ``target`` (n, 3, h, w), ``k`` list of n dihedral indices, ``sigma`` (), ``step``
      and ``last`` (see SingleImageDataModule); n transforms of the working image as one batch.
    - layers: name → (n, C, h', w') in the batch's orientation ((h', w') = (w, h) for odd k).
    - ``best``: name → (1, C, h, w), canonical orientation, working size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pytorch_lightning as pl
import torch
import torch.distributed as dist
from torch import Tensor, nn

from dipsys.errors import InputError
from dipsys.losses.weighted import WeightedSum
from dipsys.nn.batch_norm import BatchNorm2d
from dipsys.nn.compile import CompiledOrEager
from dipsys.nn.fused import fused_forward, fusion_groups
from dipsys.nn.noise import NoiseSpec, step_noise
from dipsys.ops.dihedral import dihedral_stack
from dipsys.tasks.best_result import BestResult

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]


def _default_optimizer(params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=1e-3)


class LayerDecomposition(BestResult, pl.LightningModule):
    """Generators + fixed inputs + weighted losses + best-result tracking.

    Args:
        generators: name → generator network.
        inputs: name → NoiseSpec of that generator's fixed input (one per generator).
        size: working size (h, w); the fixed inputs are drawn at this size.
        loss_weights: loss-term name → weight (terms with weight 0 are reported, not summed).
        perturb: name → factor f_g of σ_t for that generator's input (missing: 1).
        optimizer: factory taking the parameters (Hydra ``_partial_``); default Adam(lr=1e-3).
        select_every: steps between best-result checks.
        seed: seed of the fixed input noise.
        image_conditioned: generators whose input is the (augmented) target stacked on their
            noise, ``[T_k I, T_k z_g + σ_t·f_g·ε]``; their ``in_channels`` must count the
            image's 3 channels. A mask generator that sees the image can label regions by their
            appearance, including regions no hint touches.
        fuse_generators: run generators of one architecture as one grouped pass.
        channels_last: keep generator weights and inputs in channels-last memory format.
        compile: run the generator pass through ``torch.compile`` (eager where unavailable).
    """

    #: name of the layer compared with ``data.gt`` (None: the task has no image ground truth).
    gt_layer: str | None = None

    def __init__(
        self,
        generators: Mapping[str, nn.Module],
        inputs: Mapping[str, NoiseSpec],
        size: tuple[int, int],
        loss_weights: Mapping[str, float],
        perturb: Mapping[str, float] | None = None,
        optimizer: OptimizerFactory | None = None,
        select_every: int = 8,
        seed: int = 0,
        image_conditioned: Iterable[str] = (),
        fuse_generators: bool = False,
        channels_last: bool = False,
        compile: bool = False,
    ) -> None:
        super().__init__()
        missing = sorted(set(generators) - set(inputs))
        if missing:
            raise InputError(f"no input noise configured for generator(s): {', '.join(missing)}")
        self.size = (int(size[0]), int(size[1]))
        for name, net in generators.items():
            multiple = getattr(net, "multiple", 1)
            if self.size[0] % multiple or self.size[1] % multiple:
                raise InputError(
                    f"generator '{name}' needs sides divisible by {multiple}, but the working size "
                    f"is {self.size[1]}×{self.size[0]}: set data.multiple={multiple}"
                )
            smallest = getattr(net, "min_side", 1)
            if min(self.size) < smallest:
                raise InputError(
                    f"generator '{name}' needs sides of at least {smallest} pixels, but the "
                    f"working size is {self.size[1]}×{self.size[0]}: raise data.max_side"
                )
        self.generators = nn.ModuleDict(dict(generators))
        self.image_conditioned = frozenset(image_conditioned)
        unknown = sorted(self.image_conditioned - set(self.generators))
        if unknown:
            raise InputError(f"image_conditioned names unknown generator(s): {', '.join(unknown)}")
        self.seed = int(seed)
        gen = torch.Generator().manual_seed(self.seed)
        for name in self.generators:
            self.register_buffer(f"z_{name}", inputs[name].make(*self.size, generator=gen))
        self.perturb = {name: float((perturb or {}).get(name, 1.0)) for name in self.generators}
        self.loss = WeightedSum(dict(loss_weights))
        self.optimizer_factory = optimizer or _default_optimizer
        self.select_every = max(1, int(select_every))
        self.init_best_result()
        #: prefix of every logged tag (a system sets ``stage_<i>/`` so stages sit side by side)
        self.log_prefix = ""
        names = list(self.generators)
        self.fusion = fusion_groups(self.generators) if fuse_generators else [[n] for n in names]
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.generators.to(memory_format=self.memory_format)
        self._generate = CompiledOrEager(self.run_generators) if compile else self.run_generators

    # -- what a subclass defines -------------------------------------------------------------
    def decompose(self, outputs: dict[str, Tensor], batch: dict[str, Any]) -> dict[str, Tensor]:
        """Generator outputs → named layers, each (n, C, h, w) in the batch's orientation."""
        return dict(outputs)

    def composite(self, layers: dict[str, Tensor]) -> Tensor:
        """Layers → reconstruction of the target, (n, 3, h, w)."""
        raise NotImplementedError

    def loss_terms(
        self, layers: dict[str, Tensor], recon: Tensor, batch: dict[str, Any]
    ) -> dict[str, Tensor]:
        """Unweighted loss terms by name (their weights come from ``loss_weights``)."""
        raise NotImplementedError

    def export(self, original: Tensor) -> dict[str, Tensor]:
        """Best layers → final layers at the original size, each (C, H, W) in [0, 1]."""
        raise NotImplementedError

    def baselines(self, original: Tensor) -> dict[str, Tensor]:
        """Classical baselines to report beside the result: name → (3, H, W) estimate."""
        return {}

    def selectable(self, step: int) -> bool:
        """Whether the result of ``step`` may become the best one (e.g. not during warm-up)."""
        return True

    # -- several processes: one batch ------------------------------------------------------------
    def on_fit_start(self) -> None:
        """Under DDP, the generators' batch norms share statistics across the ranks, so that the
        ranks' shares of a step's augmentations normalise as one batch (see
        :meth:`dipsys.data.SingleImageDataModule._shard`)."""
        distributed = self.trainer.world_size > 1 and dist.is_available() and dist.is_initialized()
        self._set_batch_norm_group(dist.group.WORLD if distributed else None)

    def teardown(self, stage: str) -> None:
        # after fit, also one that stopped on an error: a process group neither pickles nor
        # deep-copies
        self._set_batch_norm_group(None)

    def _set_batch_norm_group(self, group: object | None) -> None:
        for module in self.modules():
            if isinstance(module, BatchNorm2d):
                module.group = group

    # -- the training step, once ---------------------------------------------------------------
    def generator_code(self, name: str, ks: list[int]) -> Tensor:
        """T_k z_g for each k of the batch: ``(len(ks), D, h', w')``."""
        return dihedral_stack(getattr(self, f"z_{name}"), ks)

    def generator_input(
        self,
        name: str,
        index: int,
        ks: list[int],
        sigma: Tensor,
        step: int = 0,
        shard: tuple[int, int] = (0, 1),
    ) -> Tensor:
        """The code of :meth:`generator_code`, perturbed by σ_t·f_g·ε.

        ε ~ N(0, 1) is drawn from a generator seeded by (seed, step, index of the generator),
        for the whole step: with ``shard = (r, N)`` (rank r of N holds ``ks``, every N-th
        transform of the step from the r-th) it is drawn for N·len(ks) transforms and sliced,
        so the ranks together perturb exactly as one process.
        """
        z = self.generator_code(name, ks)
        factor = self.perturb[name]
        if factor == 0.0:
            return z
        noise = step_noise(tuple(z.shape), (self.seed, step, index), shard, z.device, z.dtype)
        return z + (sigma * factor).to(z.dtype) * noise

    def forward(
        self,
        ks: list[int],
        sigma: Tensor,
        step: int = 0,
        target: Tensor | None = None,
        shard: tuple[int, int] = (0, 1),
    ) -> dict[str, Tensor]:
        """Run every generator on its (augmented, perturbed) input.

        ``target`` (n, 3, h, w), the batch's augmented image, is required when a generator is
        image-conditioned; ``shard`` is this rank's share of the step (see
        :meth:`generator_input`).
        """
        inputs = {}
        for index, name in enumerate(self.generators):
            z = self.generator_input(name, index, ks, sigma, step, shard)
            if name in self.image_conditioned:
                if target is None:
                    raise ValueError(f"generator '{name}' is image-conditioned: pass the target")
                z = torch.cat([target.to(z), z], dim=1)
            inputs[name] = z.contiguous(memory_format=self.memory_format)
        return self._generate(inputs)

    def run_generators(self, inputs: dict[str, Tensor]) -> dict[str, Tensor]:
        """Each generator on its input, same-architecture ones fused when ``fuse_generators``.

        Shape:
            - inputs: name → (n, C_in, h, w); outputs: name → (n, C_out, h, w)
        """
        outputs = {}
        for group in self.fusion:
            nets = [self.generators[name] for name in group]
            results = fused_forward(nets, [inputs[name] for name in group])
            outputs.update(zip(group, results, strict=True))
        return outputs

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        shard = batch.get("shard", (0, 1))
        outputs = self(batch["k"], batch["sigma"], batch["step"], batch["target"], shard)
        # Layers, compositing and losses in float32 with autocast off: smoothness terms of a
        # smooth map are ~1e-6, below bf16's resolution near 0.5, and autocast would otherwise
        # run the exclusion term's einsum (products ~1e-7, subnormal in fp16) in low precision.
        with torch.autocast(self.device.type, enabled=False):
            layers = {
                name: x.float().contiguous() for name, x in self.decompose(outputs, batch).items()
            }
            recon = self.composite(layers)
            total, terms = self.loss(self.loss_terms(layers, recon, batch))
        prefix = self.log_prefix
        self.log_dict({f"{prefix}loss/{name}": value for name, value in terms.items()})
        self.log(f"{prefix}loss/total", total)
        self.log(f"{prefix}sigma", batch["sigma"])
        layers = {name: layer.detach() for name, layer in layers.items()}
        recon = recon.detach()
        self.latest = {"layers": layers, "recon": recon, "target": batch["target"], "k": batch["k"]}
        selectable = batch["step"] % self.select_every == 0 or batch["last"]
        if selectable and self.selectable(batch["step"]):
            self._track_best(layers, recon, batch)
        return total

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.optimizer_factory(self.parameters())
