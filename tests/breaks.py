"""Deliberate defects for checking that the quality tests can fail (a pytest plugin).

``DIPSYS_BREAK=<kind>[:<args>] python -m pytest -p tests.breaks <test>`` runs a test against a
broken dipsys; ``scripts/check_quality_tests.py`` runs every quality test under its break and
reports whether each one fails, as it must. Without ``DIPSYS_BREAK`` the plugin does nothing.

Kinds:
    skip:<g1>,<g2>  the named generators' outputs replaced by a constant 0.5 (they learn nothing)
    handoff         iterative dehazing hands every stage the original image instead of the last
                    clean layer
    median          restarts merge by the sum of the runs' layers instead of their median
    sigma           the per-step input perturbation σ·f·ε dropped
    unspent         a system that stops early drops the steps of the stages that did not run
    affine          the single-image logo removal returns its input as the removal
    strength        the single-image logo removal applies every removal that passes its check
                    at full strength
    gamut           the single-image outline fit keeps its opacity when its colour lies beyond
                    white (the colour alone clipped)
    polarity        the single-image logo removal never takes the dark reading (light logos only)
    lean            the single-image logo removal takes a light reading whose outline's steps
                    lean away from white as readily as any other
    parts           the logo removals (one photo, a stack) keep the opened footprint alone (the
                    parts of the cut around its cores are not taken back)
"""

from __future__ import annotations

import os


def _skip(names: set[str]) -> None:
    from dipsys.tasks.base import LayerDecomposition

    run_generators = LayerDecomposition.run_generators

    def broken(self, inputs):
        outputs = run_generators(self, inputs)
        return {k: v * 0 + 0.5 if k in names else v for k, v in outputs.items()}

    LayerDecomposition.run_generators = broken


def _handoff() -> None:
    from dipsys.systems.iterative_dehazing import IterativeDehazing

    handoff = IterativeDehazing.handoff

    def broken(self, result):
        given = handoff(self, result)
        given["data"]["image"] = result.datamodule.original
        return given

    IterativeDehazing.handoff = broken


def _median() -> None:
    import dipsys.systems.restarts as restarts

    restarts.median_layers = lambda results: {
        name: sum(result[name] for result in results) for name in results[0]
    }


def _sigma() -> None:
    from dipsys.tasks.base import LayerDecomposition

    def broken(self, name, index, ks, sigma, step=0, shard=(0, 1)):
        return self.generator_code(name, ks)

    LayerDecomposition.generator_input = broken


def _unspent() -> None:
    from dipsys.systems.system import System

    System._extend = lambda self, index, stage, handoff, result, unspent: result


def _affine() -> None:
    import dipsys.ops.watermark_polarity as polarity
    import dipsys.ops.watermark_single as single

    remove_logo = single.remove_logo

    def broken(crop, **options):
        return {**remove_logo(crop, **options), "result": crop, "kept_input": False}

    # both readings (light, and dark on the negative) return their input
    single.remove_logo = polarity.remove_logo = broken


def _strength() -> None:
    import dipsys.ops.watermark_single as single

    single.removal_strength = lambda ratio, max_ratio, full_ratio=0.5: float(ratio <= max_ratio)


def _gamut() -> None:
    import dipsys.ops.watermark_outline as outline

    outline.GAMUT = float("inf")


def _parts() -> None:
    import dipsys.ops.watermark_single as single

    single.whole_parts = lambda opened, cut: opened


def _polarity() -> None:
    import dipsys.ops.watermark_polarity as polarity

    polarity.DARK_SHARE = 0.0
    _lean()


def _lean() -> None:
    import dipsys.ops.watermark_polarity as polarity

    polarity.LIGHT_Z = -float("inf")


def pytest_configure(config) -> None:
    spec = os.environ.get("DIPSYS_BREAK", "")
    if not spec:
        return
    kind, _, args = spec.partition(":")
    if kind == "skip":
        _skip(set(args.split(",")))
    else:
        breaks = {
            "handoff": _handoff,
            "median": _median,
            "sigma": _sigma,
            "unspent": _unspent,
            "affine": _affine,
            "strength": _strength,
            "parts": _parts,
            "gamut": _gamut,
            "polarity": _polarity,
            "lean": _lean,
        }
        breaks[kind]()
