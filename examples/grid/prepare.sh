#!/bin/sh
# Prepare the example grid in DIR: a copy of GRID.yaml, the spectrum data and two manifests.
# Usage: sh examples/grid/prepare.sh DIR
set -e
dir=${1:?usage: prepare.sh DIR}
here=$(dirname "$0")
mkdir -p "$dir"
cp "$here/GRID.yaml" "$here/static-levels.yaml" "$dir/"
curriscale generate spectrum --out "$dir/spectrum" --docs 2000 --format parquet
curriscale build "$dir/spectrum/train.parquet" --recipe task-ladder --out "$dir/curricula/ladder"
curriscale build "$dir/spectrum/train.parquet" --recipe "$dir/static-levels.yaml" --out "$dir/curricula/static"
