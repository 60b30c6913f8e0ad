"""Recipes, pacing, manifests, the manifest reader, and the synthetic task spectrum.

`CurriculumDataset` (torch) and `CurriculumSampler` / `iter_curriculum` (plain Python) are loaded on
first use, so importing this package never pulls in torch.
"""

_LAZY = {
    "CurriculumDataset": "curriscale.curricula.dataset",
    "CurriculumSampler": "curriscale.curricula.sampler",
    "iter_curriculum": "curriscale.curricula.sampler",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'curriscale.curricula' has no attribute {name!r}")
