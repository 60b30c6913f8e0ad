#!/bin/sh
# Prepare the external-trainer grid in DIR: a copy of GRID.yaml and of the plain PyTorch trainer,
# the spectrum data and two manifests.
# Usage: sh examples/grid_external/prepare.sh DIR
set -e
dir=${1:?usage: prepare.sh DIR}
here=$(dirname "$0")
mkdir -p "$dir"
cp "$here/GRID.yaml" "$here/../train_plain_pytorch.py" "$here/../grid/static-levels.yaml" "$dir/"
curriscale generate spectrum --out "$dir/spectrum" --docs 2000 --format parquet
curriscale build "$dir/spectrum/train.parquet" --recipe task-ladder --out "$dir/curricula/ladder"
curriscale build "$dir/spectrum/train.parquet" --recipe "$dir/static-levels.yaml" --out "$dir/curricula/static"
