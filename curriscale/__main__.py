"""`python -m curriscale ...`: the CLI, e.g. under `torchrun --nproc_per_node N -m curriscale train ...`."""

from curriscale.cli.app import main

main()
