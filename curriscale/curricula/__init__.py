"""Recipes, pacing, manifests, the manifest reader, and the synthetic task spectrum.

    from curriscale.curricula import load_manifest, CurriculumDataset
    manifest = load_manifest("curriculum/manifest.json")

`CurriculumDataset` (torch) and `CurriculumSampler` / `iter_curriculum` (plain Python) are loaded on
first use, so importing this package never pulls in torch.
"""

from curriscale.lazy import lazy_exports

_EXPORTS = {
    "load_recipe": "curriscale.curricula.recipe",
    "load_manifest": "curriscale.curricula.manifest",
    "CurriculumDataset": "curriscale.curricula.dataset",
    "CurriculumSampler": "curriscale.curricula.sampler",
    "iter_curriculum": "curriscale.curricula.sampler",
    "SpectrumConfig": "curriscale.curricula.spectrum",
    "write_spectrum": "curriscale.curricula.spectrum",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = list(_EXPORTS)
