"""Input planning and the lossless corpus reader: every format, ids, sources, bad lines, sharding."""

import gzip
import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curriscale.builders.inputs import ReadUnit, plan_inputs, units_for_task
from curriscale.builders.readers import CorpusReader, internal
from curriscale.errors import CurriscaleError


def read_all(inputs, text_field="text", id_field="id", world_size=1, txt_split="none"):
    """Plan and read every task's documents; returns (infos, [(id, text, metadata, source, reject)])."""
    infos, units = plan_inputs([str(p) for p in inputs], text_field, txt_split=txt_split)
    reader = CorpusReader(units, text_field, id_field, txt_split=txt_split)
    rows = []
    for rank in range(world_size):
        for doc in reader.run(rank=rank, world_size=world_size):
            meta = {k: v for k, v in doc.metadata.items() if k != "__curriscale__"}
            rows.append((doc.id, doc.text, meta, internal(doc)["source"], internal(doc)["reject"]))
    return infos, rows


def write_jsonl(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_jsonl_ids_metadata_sources_and_blank_lines(tmp_path):
    path = write_jsonl(
        tmp_path / "train.jsonl",
        [
            json.dumps({"id": "train-L1-000001", "text": "Tom went home.", "level": 1, "task": "cloze"}),
            "",
            json.dumps({"text": "No id here.", "level": 0, "prompt": None}),
        ],
    )
    infos, rows = read_all([path])
    assert [r[0] for r in rows] == ["train-L1-000001", "train-3"]  # line 3: blank line 2 is no document
    assert rows[0][2] == {"level": 1, "task": "cloze"}
    assert rows[1][2] == {"level": 0, "prompt": None}
    assert [r[3] for r in rows] == [f"{path}:1", f"{path}:3"]
    assert all(r[4] is None for r in rows)
    assert infos[0].format == "jsonl" and len(infos[0].sha256) == 64


def test_malformed_jsonl_lines_become_rejected_documents_with_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(
        b'{"text": "fine"}\n'
        b'{"text": "unterminated\n'
        b"[1, 2]\n"
        b'{"text": "caf\xe9 latin-1"}\n'
        b'{"body": "no text field"}\n'
        b'{"text": 42}\n'
    )
    _, rows = read_all([path])
    assert len(rows) == 6  # nothing dropped
    rejects = {r[3]: r[4] for r in rows}
    assert rejects[f"{path}:1"] is None
    assert rejects[f"{path}:2"].startswith("malformed JSON: ")
    assert rejects[f"{path}:3"] == "malformed JSON: expected an object, got list"
    assert rejects[f"{path}:4"].startswith("binary or invalid UTF-8")
    assert rejects[f"{path}:5"].startswith("missing text field")
    assert rejects[f"{path}:6"] == "text is not a string: int"
    assert rows[1][0] == "bad-2" and rows[1][1] == '{"text": "unterminated'


def test_big_jsonl_is_cut_at_line_starts_into_units_read_by_several_tasks(tmp_path, monkeypatch):
    lines = [json.dumps({"text": f"document {i} " + "x" * (i % 7)}) for i in range(60)]
    lines[20] = ""  # a blank line near a cut
    path = write_jsonl(tmp_path / "big.jsonl", lines)
    _, whole = read_all([path])
    monkeypatch.setattr("curriscale.builders.inputs.JSONL_BYTES_PER_UNIT", 100)
    infos, units = plan_inputs([str(path)], "text")
    assert len(units) > 10 and units[0].start == 0 and units[-1].stop == path.stat().st_size
    assert all(a.stop == b.start for a, b in zip(units, units[1:], strict=False))  # contiguous byte ranges
    raw = path.read_bytes()
    assert all(raw[u.start - 1 : u.start] == b"\n" for u in units[1:])  # every cut at a line start
    assert all(raw[: u.start].count(b"\n") + 1 == u.part for u in units)  # with its line number
    _, cut = read_all([path], world_size=4)
    assert cut == whole and len(whole) == 59
    assert whole[25][0] == "big-27" and whole[25][3] == f"{path}:27"  # line 21 is blank
    assert infos[0].expected_documents == 60


def test_gzipped_jsonl_reads_like_plain(tmp_path):
    lines = [json.dumps({"text": f"doc {i}", "n": i}) for i in range(5)]
    with gzip.open(tmp_path / "part.jsonl.gz", "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    infos, rows = read_all([tmp_path / "part.jsonl.gz"])
    assert [r[0] for r in rows] == [f"part-{i}" for i in range(1, 6)]
    assert [r[2]["n"] for r in rows] == list(range(5))
    assert infos[0].expected_documents == 5


def test_parquet_row_groups_give_rows_in_order_with_zero_based_ids(tmp_path):
    table = pa.table({"body": [f"text {i}" for i in range(10)], "level": list(range(10))})
    pq.write_table(table, tmp_path / "p.parquet", row_group_size=4)
    infos, units = plan_inputs([str(tmp_path / "p.parquet")], "body")
    assert [(u.part, u.start, u.stop) for u in units] == [(0, 0, 4), (1, 4, 8), (2, 8, 10)]
    _, rows = read_all([tmp_path / "p.parquet"], text_field="body", world_size=2)
    assert [r[0] for r in rows] == [f"p-{i}" for i in range(10)]
    assert [r[2]["level"] for r in rows] == list(range(10))
    assert rows[5][3] == f"{tmp_path / 'p.parquet'}:5"
    assert infos[0].expected_documents == 10


def test_folder_of_text_files_one_document_each(tmp_path):
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / "a.txt").write_text("\ufeffFirst story.")
    (tmp_path / "docs" / "sub" / "b.txt").write_text("Second story.")
    (tmp_path / "docs" / "sub" / "junk.txt").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xd8")
    (tmp_path / "docs" / "README.md").write_text("not data")
    (tmp_path / "docs" / ".hidden.txt").write_text("skipped")
    infos, rows = read_all([tmp_path / "docs"])
    assert [(r[0], r[1]) for r in rows[:2]] == [("a", "First story."), ("sub/b", "Second story.")]
    assert rows[2][0] == "sub/junk" and rows[2][4].startswith("binary or invalid UTF-8")
    assert (infos[0].format, infos[0].files, infos[0].ignored_files) == ("folder", 3, 1)


def test_a_folder_given_through_dot_dot_is_read_and_only_hidden_parts_below_it_are_skipped(
    tmp_path, monkeypatch
):
    (tmp_path / ".corpora" / "wiki" / ".cache").mkdir(parents=True)
    (tmp_path / ".corpora" / "wiki" / "a.txt").write_text("Kept.")
    (tmp_path / ".corpora" / "wiki" / ".cache" / "b.txt").write_text("Hidden below the folder.")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    infos, rows = read_all(["../.corpora/wiki"])
    assert [(r[0], r[1]) for r in rows] == [("a", "Kept.")]
    assert (infos[0].files, infos[0].ignored_files) == (1, 0)  # the hidden one is not even a candidate


def test_text_files_split_by_paragraph_or_line(tmp_path):
    text = " \n = Title = \n \nFirst paragraph,\r\nstill first.\n\n\nSecond.\n"
    (tmp_path / "wiki.txt").write_text(text, newline="")
    infos, rows = read_all([tmp_path / "wiki.txt"], txt_split="paragraph")
    assert [(r[0], r[1], r[3]) for r in rows] == [
        ("wiki-2", " = Title = ", f"{tmp_path / 'wiki.txt'}:2"),
        ("wiki-4", "First paragraph,\nstill first.", f"{tmp_path / 'wiki.txt'}:4"),
        ("wiki-8", "Second.", f"{tmp_path / 'wiki.txt'}:8"),
    ]
    assert infos[0].expected_documents > 1  # an estimate for the progress bar, no longer 1
    _, rows = read_all([tmp_path / "wiki.txt"], txt_split="line")
    assert [r[0] for r in rows] == ["wiki-2", "wiki-4", "wiki-5", "wiki-8"]
    _, rows = read_all([tmp_path / "wiki.txt"])
    assert [(r[0], r[1]) for r in rows] == [("wiki", text)]  # whole: as written


def test_saved_hf_datasets_single_and_dict(tmp_path):
    datasets = pytest.importorskip("datasets")
    single = datasets.Dataset.from_dict({"text": ["one", "two", "three"], "label": [0, 1, 0]})
    single.save_to_disk(str(tmp_path / "single"))
    datasets.DatasetDict({"train": single, "test": single.select([2])}).save_to_disk(str(tmp_path / "dd"))
    infos, rows = read_all([tmp_path / "single", tmp_path / "dd"])
    assert [r[0] for r in rows] == [
        "single-0",
        "single-1",
        "single-2",
        "dd-test-0",
        "dd-train-0",
        "dd-train-1",
        "dd-train-2",
    ]
    assert [r[1] for r in rows][:4] == ["one", "two", "three", "three"]
    assert rows[1][2] == {"label": 1}
    assert rows[3][3] == f"{tmp_path / 'dd'}/test:0"
    assert [i.format for i in infos] == ["hf_dataset", "hf_dataset"]
    with pytest.raises(CurriscaleError, match="no column 'body'"):
        plan_inputs([str(tmp_path / "single")], "body")


def test_saved_dataset_without_the_datasets_package_is_a_clear_error(tmp_path, monkeypatch):
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "state.json").write_text("{}")
    (folder / "dataset_info.json").write_text("{}")
    monkeypatch.setitem(sys.modules, "datasets", None)  # as if it were not installed
    with pytest.raises(CurriscaleError, match=r"saved: is a Hugging Face dataset .*`pip install datasets`"):
        plan_inputs([str(folder)], "text")


def test_planning_names_the_bad_input(tmp_path):
    write_jsonl(tmp_path / "ok.jsonl", [json.dumps({"text": "x"})])
    with pytest.raises(CurriscaleError, match="missing.jsonl: no such file"):
        plan_inputs([str(tmp_path / "ok.jsonl"), str(tmp_path / "missing.jsonl")], "text")
    (tmp_path / "data.csv").write_text("text\nx\n")
    with pytest.raises(CurriscaleError, match="data.csv: unsupported input format"):
        plan_inputs([str(tmp_path / "data.csv")], "text")
    with pytest.raises(CurriscaleError, match=r"ok.jsonl:1: no field 'body' \(fields: text\)"):
        plan_inputs([str(tmp_path / "ok.jsonl")], "body")
    pq.write_table(pa.table({"content": ["x"]}), tmp_path / "c.parquet")
    with pytest.raises(CurriscaleError, match="c.parquet: no column 'text'"):
        plan_inputs([str(tmp_path / "c.parquet")], "text")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CurriscaleError, match="empty: folder has no readable files"):
        plan_inputs([str(tmp_path / "empty")], "text")


def test_units_for_task_are_contiguous_balanced_and_cover_everything():
    units = [
        ReadUnit(0, f"f{i}", "jsonl", f"f{i}", weight=w) for i, w in enumerate([5, 1, 1, 1, 1, 1, 10, 1])
    ]
    shares = [units_for_task(units, rank, 3) for rank in range(3)]
    assert [u for share in shares for u in share] == units  # every unit once, in order
    # cumulative weight 21 cut at 7 and 14 by unit midpoints: weights 7, 3 and 11
    assert [[u.path for u in s] for s in shares] == [["f0", "f1", "f2"], ["f3", "f4", "f5"], ["f6", "f7"]]
    assert units_for_task(units, 0, 1) == units
