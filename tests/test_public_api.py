"""The package-level API: every advertised name resolves, and the light packages never import torch."""

import importlib
import pkgutil
import subprocess
import sys

import pytest

PACKAGES = [
    "curriscale.builders",
    "curriscale.curricula",
    "curriscale.fit",
    "curriscale.scorers",
    "curriscale.train",
]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves_to_its_definition(package):
    module = importlib.import_module(package)
    # Import every submodule first: a name equal to a submodule's would then resolve to the module.
    for info in pkgutil.iter_modules(module.__path__):
        importlib.import_module(f"{package}.{info.name}")
    assert module.__all__
    for name in module.__all__:
        obj = getattr(module, name)
        assert obj.__name__ == name and obj.__module__.startswith(package)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        module.nope  # noqa: B018


def test_importing_the_light_packages_does_not_import_torch():
    code = (
        "import sys, curriscale.builders, curriscale.curricula, curriscale.fit, curriscale.scorers, curriscale.train;"
        "from curriscale.curricula import CurriculumSampler;"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
