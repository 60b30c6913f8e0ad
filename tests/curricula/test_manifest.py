"""Manifest schema validation, round-trip, path safety and version errors."""

from __future__ import annotations

import copy
import json

import jsonschema
import numpy as np
import pytest

from curriscale.curricula.manifest import load_manifest, manifest_schema, write_manifest
from curriscale.errors import CurriscaleError

SHA = "0" * 64


def small_manifest() -> dict:
    """A valid two-tier manifest with a schedule that moves from tier 0 to both tiers."""
    file = {"path": "tier=00/part-00000.parquet", "rows": 2, "bytes": 10, "sha256": SHA}
    return {
        "format": "curriscale.manifest",
        "version": 1,
        "name": "tiny",
        "created_by": "curriscale test",
        "seed": 0,
        "difficulty": {"columns": {"reading_age": 1.0}, "normalise": "none"},
        "tiers": [
            {
                "index": 0,
                "name": "tier=00",
                "bounds": [1.0, 5.0],
                "label": None,
                "documents": 2,
                "tokens": 20,
                "files": [file],
            },
            {
                "index": 1,
                "name": "tier=01",
                "bounds": [5.0, 9.0],
                "label": None,
                "documents": 2,
                "tokens": 20,
                "files": [dict(file, path="tier=01/part-00000.parquet")],
            },
        ],
        "token_unit": "whitespace",
        "pacing": {
            "kind": "linear",
            "params": {},
            "unit": "tokens",
            "total": 100,
            "sampling": "cumulative",
            "tier_weights": "size",
        },
        "schedule": [
            {"start": 0, "end": 50, "weights": [1.0, 0.0]},
            {"start": 50, "end": 100, "weights": [0.5, 0.5]},
        ],
        "lr_schedule": None,
        "consumption": [
            {"tier": 0, "expected_tokens": 75.0, "epochs": 3.75},
            {"tier": 1, "expected_tokens": 25.0, "epochs": 1.25},
        ],
        "divergence_from_static": 0.25,
        "rejected": {"documents": 0, "reasons": {}, "files": []},
        "inputs": [{"path": "scored/part-0.parquet", "documents": 4, "sha256": SHA}],
        "scorers": [{"name": "reading_age", "version": "1", "params": {}}],
        "recipe": {"name": "tiny"},
        "recipe_hash": SHA,
    }


def test_schema_is_valid_draft_2020_12_and_accepts_example():
    jsonschema.Draft202012Validator.check_schema(manifest_schema())
    jsonschema.Draft202012Validator(manifest_schema()).validate(small_manifest())


def test_round_trip_and_weights_at(tmp_path):
    written = write_manifest(tmp_path, small_manifest())
    text = (tmp_path / "manifest.json").read_text()
    assert list(json.loads(text)) == sorted(json.loads(text))  # key-sorted
    loaded = load_manifest(tmp_path)
    assert loaded.data == written.data == small_manifest()
    assert loaded.root == tmp_path.resolve()
    assert np.allclose(loaded.weights_at(0.0), [1.0, 0.0])
    assert np.allclose(loaded.weights_at(0.49), [1.0, 0.0])
    assert np.allclose(loaded.weights_at(0.5), [0.5, 0.5])
    assert np.allclose(loaded.weights_at(1.0), [0.5, 0.5])
    assert loaded.tier_files(1) == [tmp_path.resolve() / "tier=01/part-00000.parquet"]


@pytest.mark.parametrize("bad_path", ["../outside.parquet", "/etc/passwd", "tier=00/../../x.parquet"])
def test_escaping_path_refused_naming_it(tmp_path, bad_path):
    data = small_manifest()
    data["tiers"][1]["files"][0]["path"] = bad_path
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(CurriscaleError, match=r"tiers\.1\.files\.0\.path: .*escapes"):
        load_manifest(tmp_path / "manifest.json")


def test_unknown_version_is_a_clear_error(tmp_path):
    data = small_manifest()
    data["version"] = 2
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(CurriscaleError, match="unsupported manifest version 2"):
        load_manifest(tmp_path)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["pacing"].update(unit="epochs"), r"pacing\.unit"),
        (lambda d: d["schedule"][1].update(weights=[0.5, 0.6]), r"schedule\.1\.weights: must sum to 1"),
        (lambda d: d["schedule"][1].update(start=60), r"schedule\.1: intervals must be contiguous"),
        (lambda d: d["schedule"][1].update(end=90), "ends at 90"),
        (lambda d: d["tiers"][0].pop("files"), r"tiers\.0"),
    ],
)
def test_schema_and_consistency_errors_name_the_field(tmp_path, mutate, message):
    data = copy.deepcopy(small_manifest())
    mutate(data)
    with pytest.raises(CurriscaleError, match=message):
        write_manifest(tmp_path, data)
    assert not (tmp_path / "manifest.json").exists()


def test_symlink_leaving_the_folder_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "cur"
    root.mkdir()
    (root / "tier=01").symlink_to(outside, target_is_directory=True)
    (root / "manifest.json").write_text(json.dumps(small_manifest()))
    with pytest.raises(
        CurriscaleError, match=r"tiers\.1\.files\.0\.path: 'tier=01/part-00000.parquet' escapes"
    ):
        load_manifest(root)


def test_extra_top_level_fields_are_kept(tmp_path):
    data = dict(small_manifest(), recommendation={"curriculum": "tiny"})
    write_manifest(tmp_path, data)
    assert load_manifest(tmp_path).data["recommendation"] == {"curriculum": "tiny"}
