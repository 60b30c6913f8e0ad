"""The scoring pipeline end to end: outputs, rejections, conservation, resume, executors, CLI."""

import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import dill
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from curriscale.builders.score import SlurmSubmission, score_corpus
from curriscale.cli.app import app
from curriscale.errors import CurriscaleError
from curriscale.scorers.base import Scorer


class Toy(Scorer):
    """A tiny scorer: length, distinct-character ratio (NaN on "<nan>"), a label; fails on "explode"."""

    name = "toy"
    version = "1"
    calls: list[int] = []  # batch sizes seen; class-level so it survives datatrove's per-task deepcopy
    longest: list[int] = []

    def columns(self):
        return {"n_chars": pa.int64(), "ratio": pa.float64(), "label": pa.string()}

    def score(self, texts):
        Toy.calls.append(len(texts))
        Toy.longest.append(max(len(t) for t in texts))
        if any("explode" in t for t in texts):
            raise ValueError("cannot score 'explode'")
        ratio = [np.nan if "<nan>" in t else len(set(t)) / len(t) for t in texts]
        return {
            "n_chars": np.array([len(t) for t in texts]),
            "ratio": np.array(ratio),
            "label": np.array(["long" if len(t) > 20 else "short" for t in texts]),
        }


@pytest.fixture(autouse=True)
def reset_toy():
    Toy.calls.clear()
    Toy.longest.clear()


def jsonl(path: Path, records: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def corpus(tmp_path: Path) -> list[Path]:
    """Three inputs of three formats: 9 JSONL lines (4 bad), 6 Parquet rows (1 bad), 2 text files."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    first = jsonl(
        tmp_path / "train.jsonl",
        [
            {"id": "t1", "text": "The cat sat on the mat.", "level": 0, "task": "simple_sentences"},
            '{"id": "t2", "text": "oops',
            {"id": "t3", "text": "   \n ", "level": 1},
            {
                "id": "t4",
                "text": "Where is Tom? garden",
                "level": 3,
                "task": "qa_fact",
                "prompt": "Where is Tom?",
            },
            {"id": "t5", "text": "\u0000\u0001\u0002\u0003junk\u0004\u0005", "level": 0},
            {"id": "t6", "text": "this one will explode", "level": 2},
            {"id": "t7", "text": "a <nan> maker", "level": 2},
            {"id": "t8", "text": "Mary went to the kitchen.", "level": 1, "task": "cloze"},
            {"id": "t9", "text": "Bob is in the hall.", "level": 1, "task": "cloze"},
        ],
    )
    texts = ["Row zero text.", "", "Row two text.", "Row three.", "Row four.", "Row five text."]
    pq.write_table(
        pa.table({"text": texts, "level": [5, 5, 4, 4, 3, 3]}), tmp_path / "rows.parquet", row_group_size=2
    )
    (tmp_path / "stories").mkdir(exist_ok=True)
    (tmp_path / "stories" / "a.txt").write_text("Once upon a time there was a fox.")
    (tmp_path / "stories" / "b.txt").write_text("The end.")
    return [first, tmp_path / "rows.parquet", tmp_path / "stories"]


def read_dir(out: Path, kind: str) -> pa.Table:
    return pa.concat_tables([pq.read_table(p) for p in sorted((out / kind).glob("part-*.parquet"))])


def hashes(out: Path) -> dict[str, str]:
    files = sorted([*out.glob("scored/*.parquet"), *out.glob("rejected/*.parquet"), out / "score_stats.json"])
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_every_document_scored_or_rejected_across_files_and_tasks(tmp_path):
    inputs = corpus(tmp_path / "in")
    stats = score_corpus(inputs, tmp_path / "out", [Toy()], tasks=3, workers=2, batch_size=4)
    assert (stats.documents_in, stats.scored, stats.rejected) == (17, 11, 6)
    assert stats.rejected_reasons == {
        "binary or invalid UTF-8": 1,
        "empty text": 2,
        "malformed JSON": 1,
        "toy: ValueError": 1,
        "toy: non-finite score": 1,
    }
    data = json.loads((tmp_path / "out" / "score_stats.json").read_text())
    assert [(i["format"], i["documents"]) for i in data["inputs"]] == [
        ("jsonl", 9),
        ("parquet", 6),
        ("folder", 2),
    ]
    assert [f["rows"] for f in data["files"]["scored"]] and len(data["files"]["scored"]) == 3
    assert data["scorers"] == [{"name": "toy", "version": "1", "params": {}}]

    scored = read_dir(tmp_path / "out", "scored")
    assert scored.column_names == [
        "id",
        "text",
        "level",
        "task",
        "prompt",
        "truncated",
        "n_chars",
        "ratio",
        "label",
    ]
    assert [scored.schema.field(n).type for n in ("level", "n_chars", "ratio", "label")] == [
        pa.int64(),
        pa.int64(),
        pa.float64(),
        pa.string(),
    ]
    # input order is kept: JSONL lines, then Parquet rows, then text files by name
    assert scored["id"].to_pylist() == [
        "t1",
        "t4",
        "t8",
        "t9",
        "rows-0",
        "rows-2",
        "rows-3",
        "rows-4",
        "rows-5",
        "a",
        "b",
    ]
    assert scored["n_chars"].to_pylist()[0] == len("The cat sat on the mat.")
    assert scored["prompt"].to_pylist()[:2] == [None, "Where is Tom?"]
    assert scored["label"].to_pylist()[-2:] == ["long", "short"]

    rejected = read_dir(tmp_path / "out", "rejected")
    assert rejected.column_names == ["id", "text", "reason", "source"]
    by_id = {r["id"]: r for r in rejected.to_pylist()}
    assert by_id["train-2"]["source"] == f"{inputs[0]}:2" and by_id["train-2"]["reason"].startswith(
        "malformed JSON: "
    )
    assert by_id["t3"]["reason"] == "empty text"
    assert by_id["t5"]["reason"] == "binary or invalid UTF-8"
    assert by_id["t6"]["reason"] == "toy: ValueError: cannot score 'explode'"
    assert by_id["t7"]["reason"] == "toy: non-finite score"
    assert by_id["rows-1"] == {"id": "rows-1", "text": "", "reason": "empty text", "source": f"{inputs[1]}:1"}


def test_spilling_to_disk_keeps_the_same_rows_and_schema(tmp_path, monkeypatch):
    inputs = corpus(tmp_path / "in")
    in_memory = score_corpus(inputs, tmp_path / "memory", [Toy()], batch_size=2)
    monkeypatch.setattr("curriscale.builders.score_shard.SPILL_BYTES", 1)  # spill after every batch
    spilled = score_corpus(inputs, tmp_path / "spilled", [Toy()], batch_size=2)
    assert spilled.scored == in_memory.scored == 11
    assert read_dir(tmp_path / "spilled", "scored").equals(read_dir(tmp_path / "memory", "scored"))
    assert list((tmp_path / "spilled" / "logs" / "spill").glob("*")) == []  # spills removed once written
    assert pq.ParquetFile(tmp_path / "spilled" / "scored" / "part-00000.parquet").num_row_groups > 1


def test_a_failing_batch_is_retried_per_document_and_only_the_culprit_rejected(tmp_path):
    texts = [f"document number {i}" for i in range(6)]
    texts[3] = "please explode"
    path = jsonl(tmp_path / "d.jsonl", [{"text": t} for t in texts])
    stats = score_corpus([path], tmp_path / "out", [Toy()], batch_size=6)
    assert (stats.scored, stats.rejected) == (5, 1)
    assert Toy.calls == [6, 1, 1, 1, 1, 1, 1]  # one batch call, then one call per document
    assert read_dir(tmp_path / "out", "rejected")["id"].to_pylist() == ["d-4"]


def test_invalid_utf8_binary_and_huge_documents(tmp_path):
    path = tmp_path / "odd.jsonl"
    huge = "word " * 2_000_000  # 10 MB in one document
    with open(path, "wb") as handle:
        handle.write(b'{"text": "bad \xc3\x28 bytes"}\n')
        handle.write(json.dumps({"text": huge}).encode() + b"\n")
        handle.write(
            json.dumps({"text": "Ceci n'est pas une pipe. \u4e2d\u6587\u6587\u672c"}).encode() + b"\n"
        )
    stats = score_corpus([path], tmp_path / "out", [Toy()], max_chars=100_000)
    assert (stats.scored, stats.rejected, stats.truncated) == (2, 1, 1)
    assert max(Toy.longest) == 100_000  # the scorer never saw more than the cap
    scored = read_dir(tmp_path / "out", "scored")
    assert scored["truncated"].to_pylist() == [True, False]
    assert len(scored["text"][0].as_py()) == len(huge)  # the full text is kept
    assert scored["n_chars"].to_pylist()[0] == 100_000
    rejected = read_dir(tmp_path / "out", "rejected").to_pylist()
    assert (
        rejected[0]["reason"].startswith("binary or invalid UTF-8") and rejected[0]["source"] == f"{path}:1"
    )


def test_rerun_resumes_only_unfinished_tasks_with_identical_bytes(tmp_path):
    inputs = corpus(tmp_path / "in")
    out = tmp_path / "out"
    score_corpus(inputs, out, [Toy()], tasks=3, batch_size=4)
    before = hashes(out)
    assert len(before) == 7
    # simulate task 1 interrupted: no completion marker, no output part
    (out / "logs" / "completions" / "00001").unlink()
    (out / "scored" / "part-00001.parquet").unlink()
    Toy.calls.clear()
    stats = score_corpus(inputs, out, [Toy()], tasks=3, batch_size=4)
    assert hashes(out) == before
    task1_rows = pq.read_metadata(out / "scored" / "part-00001.parquet").num_rows
    assert 0 < sum(Toy.calls) <= task1_rows + 2  # only task 1 ran again (plus per-document retries)
    assert stats.documents_in == 17
    Toy.calls.clear()
    score_corpus(inputs, out, [Toy()], tasks=3, batch_size=4)
    assert Toy.calls == [] and hashes(out) == before  # everything complete: nothing rescored


def test_rerun_with_other_settings_is_refused(tmp_path):
    inputs = corpus(tmp_path / "in")
    score_corpus(inputs, tmp_path / "out", [Toy()], tasks=2)
    with pytest.raises(CurriscaleError, match="different tasks"):
        score_corpus(inputs, tmp_path / "out", [Toy()], tasks=3)


def test_missing_input_is_named_before_any_work(tmp_path):
    good = jsonl(tmp_path / "ok.jsonl", [{"text": "fine"}])
    with pytest.raises(CurriscaleError, match="nowhere.jsonl: no such file"):
        score_corpus([good, tmp_path / "nowhere.jsonl"], tmp_path / "out", [Toy()])
    assert not (tmp_path / "out").exists() and Toy.calls == []


def test_slurm_dry_run_generates_the_submission_without_sbatch(tmp_path):
    inputs = corpus(tmp_path / "in")
    out = tmp_path / "out"
    result = score_corpus(
        inputs,
        out,
        [Toy()],
        tasks=4,
        workers=2,
        executor="slurm",
        executor_options={"partition": "cpu", "time": "01:30:00"},
        dry_run=True,
    )
    assert isinstance(result, SlurmSubmission) and result.dry_run
    # score array, its stats merge, the finalize job, its stats merge
    assert len(result.scripts) == 4
    script = result.scripts[0]
    assert script.startswith("#!/bin/bash\n")
    for line in (
        "#SBATCH --partition=cpu",
        "#SBATCH --time=01:30:00",
        "#SBATCH --array=0-3%2",
        "#SBATCH --job-name=curriscale-score",
    ):
        assert line in script
    assert f"launch_pickled_pipeline {out / 'logs' / 'executor.pik'}" in script
    assert (out / "logs" / "launch_script.slurm").read_text() == script
    assert "#SBATCH --array=0-0" in result.scripts[2] and "curriscale-score-finalize" in result.scripts[2]
    assert f"--dependency=afterok:{1}" in result.sbatch_args[2]  # finalize waits for the score array
    with open(out / "logs" / "executor.pik", "rb") as handle:
        executor = dill.load(handle)
    assert executor.world_size == 4 and [type(s).__name__ for s in executor.pipeline] == [
        "CorpusReader",
        "ScoreShard",
    ]
    assert json.loads((out / "logs" / "ranks_to_run.json").read_text()) == [0, 1, 2, 3]
    assert not (out / "score_stats.json").exists()


def test_executor_choice_and_options_are_checked(tmp_path, monkeypatch):
    inputs = corpus(tmp_path / "in")
    with pytest.raises(CurriscaleError, match="partition"):
        score_corpus(inputs, tmp_path / "s", [Toy()], executor="slurm", dry_run=True)
    with pytest.raises(CurriscaleError, match="unknown executor 'spark'"):
        score_corpus(inputs, tmp_path / "x", [Toy()], executor="spark")
    with pytest.raises(CurriscaleError, match="dry-run applies to the slurm executor only"):
        score_corpus(inputs, tmp_path / "x", [Toy()], dry_run=True)
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(CurriscaleError, match=r"pip install curriscale\[ray\]"):
        score_corpus(inputs, tmp_path / "x", [Toy()], executor="ray")
    assert not (tmp_path / "x").exists()


def test_ray_executor_matches_local_output(tmp_path):
    ray = pytest.importorskip("ray")
    inputs = corpus(tmp_path / "in")
    local = score_corpus(inputs, tmp_path / "local", ["text_stats"], tasks=2)
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=80 * 2**20, log_to_driver=False)
    try:
        remote = score_corpus(
            inputs,
            tmp_path / "ray",
            ["text_stats"],
            tasks=2,
            executor="ray",
            executor_options={"mem_per_cpu_gb": 0.25},
        )
    finally:
        ray.shutdown()
    assert (remote.documents_in, remote.scored, remote.rejected) == (
        local.documents_in,
        local.scored,
        local.rejected,
    )
    assert [h for k, h in hashes(tmp_path / "ray").items() if k.endswith("parquet")] == [
        h for k, h in hashes(tmp_path / "local").items() if k.endswith("parquet")
    ]


def test_bad_input_with_the_default_scorers_gives_no_crash_and_no_silent_nan(tmp_path):
    path = tmp_path / "bad.jsonl"
    records = [
        {"text": ""},
        {"text": " \n\t "},
        {"text": "\u0000\u0007\u0008" * 50},
        {"text": "Die Katze sitzt auf der Matte. Sie ist sehr zufrieden."},
        {"text": "\u732b\u5750\u5728\u57ab\u5b50\u4e0a\u3002"},
        {"text": "!!! ??? ... 123 456"},
        {"text": "The quick brown fox jumps over the lazy dog. " * 250_000},  # ~11 MB
    ]
    with open(path, "wb") as handle:
        handle.write(b'{"text": "\xff\xfe\x00 binary"}\n')
        handle.write(b"".join(json.dumps(r).encode() + b"\n" for r in records))
    stats = score_corpus([path], tmp_path / "out", None, max_chars=20_000)
    assert stats.documents_in == 8 == stats.scored + stats.rejected
    assert (
        stats.rejected_reasons["empty text"] == 2 and stats.rejected_reasons["binary or invalid UTF-8"] == 2
    )
    assert stats.truncated == 1
    scored = read_dir(tmp_path / "out", "scored")
    for name in scored.column_names:
        if pa.types.is_floating(scored.schema.field(name).type):
            assert np.isfinite(scored[name].to_numpy(zero_copy_only=False)).all(), name
    assert [s["name"] for s in stats.data["scorers"]] == ["text_stats", "reading_age"]  # the defaults
    assert {"n_words", "compression_ratio", "reading_age"} <= set(scored.column_names)
    german = scored.filter(pc.equal(scored["id"], "bad-5"))
    assert german["n_words"].to_pylist() == [10]  # non-English text is scored, not rejected
    rejected = read_dir(tmp_path / "out", "rejected")
    assert all(reason for reason in rejected["reason"].to_pylist())
    # The scorers say why they could not score a document, not just that the score was NaN.
    reasons = dict(zip(rejected["id"].to_pylist(), rejected["reason"].to_pylist(), strict=True))
    assert reasons["bad-6"] == "reading_age: not Latin script: 100% of letters"  # Chinese
    assert reasons["bad-7"] == "text_stats: no words without digits"


def test_cli_scores_and_reports(tmp_path):
    path = jsonl(tmp_path / "d.jsonl", [{"text": "One document here."}, {"text": ""}])
    with gzip.open(tmp_path / "e.jsonl.gz", "wt") as handle:
        handle.write(json.dumps({"text": "Gzipped document."}) + "\n")
    result = CliRunner().invoke(
        app,
        [
            "score",
            str(path),
            str(tmp_path / "e.jsonl.gz"),
            "--out",
            str(tmp_path / "out"),
            "--scorer",
            "text_stats",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "3 documents: 2 scored, 1 rejected (empty text: 1)" in result.output
    assert read_dir(tmp_path / "out", "scored")["id"].to_pylist() == ["d-1", "e-1"]


def test_cli_slurm_dry_run(tmp_path):
    path = jsonl(tmp_path / "d.jsonl", [{"text": "One document here."}])
    args = ["score", str(path), "--out", str(tmp_path / "out"), "--scorer", "text_stats", "--tasks", "3"]
    result = CliRunner().invoke(app, [*args, "--executor", "slurm", "--slurm-partition", "gpu", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would submit 4 sbatch scripts" in result.output
    script = (tmp_path / "out" / "logs" / "launch_script.slurm").read_text()
    assert "#SBATCH --partition=gpu" in script and "#SBATCH --array=0-2" in script


def test_cli_exit_code_2_on_missing_input(tmp_path):
    missing = tmp_path / "absent.jsonl"
    process = subprocess.run(
        [
            sys.executable,
            "-c",
            "from curriscale.cli.app import main; main()",
            "score",
            str(missing),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 2
    assert f"{missing}: no such file or folder" in process.stderr.replace("\n", "")


def test_a_file_that_is_not_gzip_despite_its_name_is_named(tmp_path):
    fake = tmp_path / "plain.jsonl.gz"
    fake.write_text('{"text": "not compressed"}\n')
    with pytest.raises(CurriscaleError, match=r"plain\.jsonl\.gz: cannot read"):
        score_corpus([fake], tmp_path / "out")


def test_cli_exit_code_2_naming_the_cause_when_nothing_could_be_scored(tmp_path):
    csv_named_jsonl = tmp_path / "table.jsonl"
    csv_named_jsonl.write_text("id,text\n1,hello\n2,world\n")
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "curriscale",
            "--quiet",
            "score",
            str(csv_named_jsonl),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 2, process.stderr
    assert process.stderr.splitlines() == [
        "error: no document could be scored: all 3 rejected (malformed JSON: 3); likely cause: the input is "
        f"not JSON Lines (a CSV or plain text named .jsonl?); the rejected lines are in {tmp_path / 'out' / 'rejected'}/"
    ]


def test_cli_points_to_the_rejected_folder_when_some_documents_were_rejected(tmp_path):
    path = jsonl(tmp_path / "d.jsonl", [{"text": "One good document."}, "id,text"])
    result = CliRunner().invoke(app, ["score", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert (
        f"2 documents: 1 scored, 1 rejected (malformed JSON: 1); see {tmp_path / 'out' / 'rejected'}/"
        in output
    )


def test_cli_warns_about_truncated_text_files_and_splits_them_on_request(tmp_path):
    (tmp_path / "book.txt").write_text(
        "\n\n".join(f"Paragraph {i} has a few words in it." for i in range(40))
    )
    args = ["score", str(tmp_path / "book.txt"), "--scorer", "text_stats", "--max-chars", "300"]
    whole = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "whole")])
    assert whole.exit_code == 0, whole.output
    output = " ".join(whole.output.split())
    size = len((tmp_path / "book.txt").read_text())
    assert (
        f"warning: 1 document is longer than --max-chars 300 and were scored on their first 300 characters "
        f"only: book ({size:,} characters, {size - 300:,} cut); to score all of them, split .txt files with "
        "--txt-split paragraph or line, or raise --max-chars"
    ) in output
    split = CliRunner().invoke(app, [*args, "--txt-split", "paragraph", "--out", str(tmp_path / "split")])
    assert split.exit_code == 0, split.output
    assert "warning" not in split.output
    stats = json.loads((tmp_path / "split" / "score_stats.json").read_text())
    assert (stats["txt_split"], stats["scored"], stats["truncated"]) == ("paragraph", 40, 0)
    assert json.loads((tmp_path / "whole" / "score_stats.json").read_text())["txt_split"] == "none"


def test_cli_warns_about_duplicate_ids(tmp_path):
    path = jsonl(tmp_path / "d.jsonl", [{"text": "One document here."}, {"text": "Another one."}])
    result = CliRunner().invoke(app, ["score", str(path), str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "warning: 2 scored documents share their id with another" in " ".join(result.output.split())
    assert json.loads((tmp_path / "out" / "score_stats.json").read_text())["duplicate_ids"] == 2
