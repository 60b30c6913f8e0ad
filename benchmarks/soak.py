"""Soak: SIGKILL score, build, verify and export at random moments; resumed outputs must equal unkilled ones.

1. Corpus. `curriscale generate spectrum` (the project's own generator) writes the good documents;
   they are dealt round-robin into `--shards` JSONL files, and one record in every `BAD_EVERY` is a
   planted bad one that `score` must set aside in `rejected/` (empty or blank text, punctuation or
   digits only, control-character junk, malformed JSON, invalid UTF-8, no text field).
2. Reference. The five stages run once each, uninterrupted, as `python -m curriscale` processes in
   `reference/`: score (text_stats; `--tasks` datatrove tasks on 2 workers) -> build (the
   deepspeed-root preset, 2 workers, its budget the corpus's word count, so the exports walk about
   one pass of the corpus) -> verify -> export --format tokens -> export --format jsonl.
   Their wall times are the stages' measured durations. Every process of both pipelines runs on a
   copy of the curriscale package taken at the start, so edits to the source meanwhile cannot pass
   for mismatches.
3. Soak. The same commands in `soak/`, stage by stage. A stage's share of `--kills` is spent by
   starting its command and, at a random moment (seeded), freezing the command's whole process tree
   with SIGSTOP and killing it with SIGKILL. The moment is a random delay within the stage's
   measured duration; for score, which resumes (a rerun skips completed tasks), it is a random part
   of one task's duration after a random number of its tasks completed, so that load cannot push a
   kill past the end. A run that ends before its moment is not a kill: a restarting stage is started
   again, a completed score passes its remaining kills on to build. After every kill, whatever the
   stage presents as finished must be whole (a score_stats.json whose files hash as it says, a
   manifest that verifies, an export.json beside the reference's bytes). Then the command runs
   once more and must exit 0.
4. Compare. Every file under `soak/` (the datatrove logs aside) must have the bytes of the same
   file under `reference/`, with no file missing or extra (torn temporaries, stale locks and
   half-swapped folders would be extras); counts must be conserved (documents in = scored +
   rejected = tiers + rejected); every generated id must be in a tier or in rejected/ exactly
   once, and every planted bad document in rejected/.

Each differing or missing file, count or id check is one mismatch; `lost` counts generated ids
found nowhere. Ends with one JSON line, and exits 1 unless both are 0:

    {"bench": "soak", "documents_in": ..., "documents_out": ..., "rejected": ..., "kills": ...,
     "kills_by_stage": {...}, "mismatches": 0, "lost": 0, "seconds": ..., ...}

Usage: python benchmarks/soak.py [--docs 1000000] [--kills 24] [--seed 0] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

import curriscale
from curriscale.builders.verify import check_curriculum
from curriscale.io import sha256_file

BAD_EVERY = 200  # one planted bad record per this many documents
# Each kind of bad record, as the JSONL line that plants it (`{id}` is its id). Reasons in comments.
BAD_RECORDS = {
    "empty": '{{"id": "{id}", "text": ""}}',  # empty text
    "blank": '{{"id": "{id}", "text": "  \\n\\t  "}}',  # empty text
    "punctuation": '{{"id": "{id}", "text": "... !!! ??? -- ;;"}}',  # text_stats: no words
    "digits": '{{"id": "{id}", "text": "1234 5678 90"}}',  # text_stats: no words without digits
    "junk": '{{"id": "{id}", "text": "\\u0000\\u0001\\u0002 x \\u0003\\u0004\\u0005"}}',  # binary
    "malformed": '{{"id": "{id}", "text": "no closing quote}}',  # malformed JSON
    "latin1": '{{"id": "{id}", "text": "caf\xe9 cr\xe8me"}}',  # written as Latin-1: invalid UTF-8
    "no_text": '{{"id": "{id}", "body": "the text is under another field"}}',  # missing text field
}
# Lines the reader cannot parse get the id `<file stem>-<line number>` instead of their own.
UNPARSED = {"malformed", "latin1"}
KILL_SHARES = {"score": 4, "build": 3, "verify": 1, "export-tokens": 2, "export-jsonl": 2}
WORKERS = 2
VFORK_WAITS = {"kernel_clone", "wait_for_vfork_done"}  # /proc/PID/wchan of a parent blocked in vfork
RECIPE = "deepspeed-root"  # eight n_words quantile tiers: text_stats is all the scoring it needs


def log(message: str) -> None:
    """Progress for the person watching, on stderr (stdout carries only the JSON line)."""
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Corpus:
    """The generated JSONL shards and what the pipeline must do with each document."""

    shards: list[Path]
    ids: list[str]  # every document's id, as the pipeline will name it
    planted: set[str]  # ids of the bad records, which must all end up in rejected/
    words: int = 0  # whitespace words of the good documents


def pin_code(folder: Path) -> None:
    """Run every curriscale process of the soak on a copy of the package taken now.

    The reference and the soak must run the same code: in a working tree that others edit, the
    installed (editable) package can change between the two, and its edits would pass for mismatches.
    """
    shutil.copytree(
        Path(curriscale.__file__).parent, folder / "curriscale", ignore=shutil.ignore_patterns("__pycache__")
    )
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))


def generate_corpus(folder: Path, docs: int, shards: int, seed: int) -> Corpus:
    """Write `docs` documents (spectrum texts plus planted bad records) into `shards` JSONL files."""
    bad = docs // BAD_EVERY
    good = docs - bad
    spectrum = folder / "spectrum"
    levels = 6  # the spectrum writes --docs documents per level, ordered by level
    _curriscale(
        ["generate", "spectrum", "--out", spectrum, "--docs", math.ceil(good / levels), "--eval-docs", 1]
        + ["--seed", seed],
        cwd=folder,
    )
    rng = random.Random(seed)
    paths = [folder / f"shard-{s:05d}.jsonl" for s in range(shards)]
    handles = [path.open("wb") for path in paths]
    lines = [0] * shards  # lines written per shard: an unparsed record's id is its line number
    corpus = Corpus(paths, [], set())
    with (spectrum / "train.jsonl").open("rb") as source:
        for index in range(docs):
            shard = index % shards
            lines[shard] += 1
            if index % BAD_EVERY == BAD_EVERY - 1:
                kind = rng.choice(sorted(BAD_RECORDS))
                doc_id = f"{paths[shard].stem}-{lines[shard]}" if kind in UNPARSED else f"bad-{index:08d}"
                line = BAD_RECORDS[kind].format(id=doc_id).encode("latin-1") + b"\n"
                corpus.planted.add(doc_id)
            else:
                line = source.readline()
                record = json.loads(line)
                doc_id = record["id"]
                corpus.words += len(record["text"].split())
            handles[shard].write(line)
            corpus.ids.append(doc_id)
    for handle in handles:
        handle.close()
    shutil.rmtree(spectrum)  # its texts now live in the shards
    return corpus


def _command(args: list) -> list[str]:
    return [sys.executable, "-m", "curriscale", "--quiet", *map(str, args)]


def _curriscale(args: list, cwd: Path) -> None:
    """Run `python -m curriscale --quiet ARGS` in `cwd` to completion; raise if it fails."""
    subprocess.run(_command(args), cwd=cwd, check=True, capture_output=True)


def _start(args: list, cwd: Path, log_file: Path) -> subprocess.Popen:
    """Start `python -m curriscale --quiet ARGS` in `cwd`, its output appended to `log_file`."""
    with log_file.open("ab") as output:
        return subprocess.Popen(_command(args), cwd=cwd, stdout=output, stderr=subprocess.STDOUT)


Due = Callable[[], bool]  # polled while a run goes on: True when it is time to kill it


def after(seconds: float) -> Due:
    """Due `seconds` from now."""
    deadline = time.monotonic() + seconds
    return lambda: time.monotonic() >= deadline


def within(root: Path, rng: random.Random, seconds: float) -> Due:
    """Due after a random delay within the stage's measured duration `seconds`."""
    return after(rng.uniform(0, seconds))


@dataclass
class Stage:
    """One pipeline command, run in a pipeline folder (`reference/` or `soak/`)."""

    name: str
    args: list[str]
    # Draws when to kill the next run, from the folder, the RNG and the stage's measured duration
    # (by default within that duration: a rerun starts over).
    moment: Callable[[Path, random.Random, float], Due] = within
    # Problems with what a killed run left behind that claims to be finished (empty: none).
    torn: Callable[[Path, Path], list[str]] = lambda root, reference: []
    resumes: bool = False  # a rerun keeps finished work, so once the stage completes it stays complete


def pipeline(corpus: Corpus, tasks: int) -> list[Stage]:
    """The five stages, in order; output folders are relative to the pipeline folder."""

    def completed(root: Path) -> int:
        return len(list((root / "scored" / "logs" / "completions").glob("*")))

    def mid_task(root: Path, rng: random.Random, seconds: float) -> Due:
        """Due a random part of one task's duration after a random number of tasks have completed
        (leaving one at least to run): load cannot push the kill past the end, as a delay could."""
        target = rng.randint(completed(root), max(completed(root), tasks - 2))
        extra = rng.uniform(0, seconds * WORKERS / tasks)
        deadline: float | None = None

        def due() -> bool:
            nonlocal deadline
            if deadline is None and completed(root) >= target:
                deadline = time.monotonic() + extra
            return deadline is not None and time.monotonic() >= deadline

        return due

    score = ["score", *map(str, corpus.shards), "--out", "scored", "--scorer", "text_stats"]
    score += ["--tasks", str(tasks), "--workers", str(WORKERS)]
    build = ["build", "scored", "--recipe", RECIPE, "--out", "curriculum", "--workers", str(WORKERS)]
    build += ["--budget-tokens", str(corpus.words)]  # so the exports walk about one pass of the corpus
    return [
        Stage("score", score, mid_task, torn_scores, resumes=True),
        Stage("build", build, torn=torn_curriculum),
        Stage("verify", ["verify", "curriculum"]),
        Stage("export-tokens", ["export", "curriculum", "--format", "tokens", "--out", "export-tokens"],
              torn=lambda root, reference: torn_export(root, reference, "export-tokens")),
        Stage("export-jsonl", ["export", "curriculum", "--format", "jsonl", "--out", "export-jsonl"],
              torn=lambda root, reference: torn_export(root, reference, "export-jsonl")),
    ]  # fmt: skip


def torn_scores(root: Path, reference: Path) -> list[str]:
    """A score_stats.json must describe its files' bytes; every visible part must be whole Parquet."""
    problems = []
    stats = root / "scored" / "score_stats.json"
    if stats.is_file():
        for record in (r for records in json.loads(stats.read_text())["files"].values() for r in records):
            if sha256_file(root / "scored" / record["path"]) != record["sha256"]:
                problems.append(f"score_stats.json: {record['path']} does not hash as listed")
    for part in sorted((root / "scored").glob("*/part-*.parquet")):
        try:
            pq.ParquetFile(part).metadata  # noqa: B018  (reading the footer is the check)
        except Exception as error:  # any failure to read a part the run presents is the finding
            problems.append(f"{part.relative_to(root)}: not whole Parquet ({error})")
    return problems


def torn_curriculum(root: Path, reference: Path) -> list[str]:
    """A curriculum folder with a manifest must pass every check of `curriscale verify`."""
    if not (root / "curriculum" / "manifest.json").is_file():
        return []
    return [f"curriculum: {problem}" for problem in check_curriculum(root / "curriculum").problems]


def torn_export(root: Path, reference: Path, name: str) -> list[str]:
    """An export folder with its export.json (the finished mark) must hold the reference's files."""
    if not (root / name / "export.json").is_file():
        return []
    return differences(digests(reference / name), digests(root / name), name)


def digests(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """SHA-256 of every file under `folder`, hidden ones too, by relative path (`skip`: folders left out)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and not any(relative.startswith(f"{s}/") for s in skip):
            found[relative] = sha256_file(path)
    return found


def differences(expected: dict[str, str], actual: dict[str, str], where: str) -> list[str]:
    """One line per file that is missing, extra or different in `actual`."""
    lines = []
    for path in sorted(expected.keys() | actual.keys()):
        if path not in actual:
            lines.append(f"{where}/{path}: missing")
        elif path not in expected:
            lines.append(f"{where}/{path}: extra file")
        elif expected[path] != actual[path]:
            lines.append(f"{where}/{path}: bytes differ")
    return lines


@dataclass
class Outcome:
    """How one start of a command ended."""

    killed: bool
    returncode: int
    seconds: float
    processes: int  # processes in the tree that was killed (0 when it was not)


def run(stage: Stage, root: Path, log_file: Path, due: Due | None = None) -> Outcome:
    """Run the stage's command in `root`; kill its process tree once `due()` says so, if still running."""
    start = time.perf_counter()
    process = _start(stage.args, root, log_file)
    processes = 0
    while due is not None and process.poll() is None:
        if due():
            processes = kill_tree(process.pid)
            break
        time.sleep(0.005)
    returncode = process.wait()
    killed = returncode == -signal.SIGKILL
    return Outcome(killed, returncode, time.perf_counter() - start, processes if killed else 0)


def _children(pid: int) -> list[int]:
    """Direct children of `pid`, over all its threads (datatrove starts workers from a pool thread)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:  # the thread or the process ended meanwhile
            pass
    return found


def _state(pid: int) -> str:
    """The process state letter from /proc (`T` stopped, `Z` zombie, ...); `X` once it is gone.

    `V` (not a kernel letter) marks a parent blocked in vfork: subprocess starts children with
    vfork, and a child stopped before its exec holds its parent in uninterruptible sleep, where
    SIGSTOP cannot reach it. It cannot run on while its child is stopped, so it counts as frozen.
    """
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        if state == "D" and Path(f"/proc/{pid}/wchan").read_text() in VFORK_WAITS:
            return "V"
        return state
    except (OSError, IndexError):
        return "X"


def kill_tree(root: int) -> int:
    """SIGKILL `root` and all its descendants at one moment; return how many processes that was.

    The tree is frozen first: each process found gets SIGSTOP and is waited for until it has
    stopped, then the tree is walked again, until no new process appears (a stopped process cannot
    start another). Only then does every process get SIGKILL, so none sees another die first.
    """
    frozen: set[int] = set()
    while new := [pid for pid in _tree(root) if pid not in frozen]:
        for pid in new:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
            frozen.add(pid)
        _wait_for(new, "TtZXV", "stop")
    for pid in frozen:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _wait_for(list(frozen), "ZX", "die")
    return len(frozen)


def _tree(root: int) -> list[int]:
    pids, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        pids.append(pid)
        frontier += _children(pid)
    return pids


def _wait_for(pids: list[int], states: str, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while any(_state(pid) not in states for pid in pids):
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes {pids} did not {what} within {timeout} s")
        time.sleep(0.002)


@dataclass
class Soak:
    """The killed pipeline's record: kills per stage, wall time per stage, problems found."""

    kills: Counter = field(default_factory=Counter)
    starts: Counter = field(default_factory=Counter)
    processes: Counter = field(default_factory=Counter)  # processes killed, datatrove workers included
    seconds: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def run_reference(stages: list[Stage], root: Path, logs: Path) -> dict[str, float]:
    """Every stage once, unkilled; returns each stage's wall seconds (its measured duration)."""
    root.mkdir()
    seconds = {}
    for stage in stages:
        outcome = run(stage, root, logs / f"reference-{stage.name}.log")
        if outcome.returncode != 0:
            raise RuntimeError(f"reference {stage.name} failed (exit {outcome.returncode}); see {logs}")
        seconds[stage.name] = outcome.seconds
        log(f"reference {stage.name}: {outcome.seconds:.1f} s")
    return seconds


def run_soak(
    stages: list[Stage],
    root: Path,
    reference: Path,
    logs: Path,
    durations: dict[str, float],
    kills: int,
    seed: int,
) -> Soak:
    """Every stage killed its share of `kills` times at random moments, then run to completion.

    A stage that resumes and completed before its share was spent passes the rest to the next
    stage: killing reruns that have nothing left to do would only pad the count.
    """
    root.mkdir()
    rng, soak, owed = random.Random(seed), Soak(), 0
    for stage, share in zip(stages, allocate(kills), strict=True):
        log_file, start, share = logs / f"soak-{stage.name}.log", time.perf_counter(), share + owed
        while soak.kills[stage.name] < share:
            due = stage.moment(root, rng, durations[stage.name])
            outcome = run(stage, root, log_file, due)
            soak.starts[stage.name] += 1
            if outcome.returncode == 0 and stage.resumes:
                break
            if outcome.killed:
                soak.kills[stage.name] += 1
                soak.processes[stage.name] += outcome.processes
                soak.problems += [f"after kill {soak.kills[stage.name]} of {stage.name}: {p}"
                                  for p in stage.torn(root, reference)]  # fmt: skip
            elif outcome.returncode != 0:
                soak.problems.append(
                    f"{stage.name}: a rerun failed (exit {outcome.returncode}); see {log_file}"
                )
                break  # it would fail again before any kill: no more kills of this stage
        owed = share - soak.kills[stage.name]
        outcome = run(stage, root, log_file)
        soak.starts[stage.name] += 1
        soak.seconds[stage.name] = time.perf_counter() - start
        log(f"soak {stage.name}: {soak.kills[stage.name]} kills, {soak.seconds[stage.name]:.1f} s")
        if outcome.returncode != 0:
            soak.problems.append(
                f"{stage.name}: did not complete after its kills (exit {outcome.returncode})"
            )
            break  # the later stages need this one's output
    return soak


def allocate(kills: int) -> list[int]:
    """`kills` split over the stages by `KILL_SHARES` (largest remainders get the rest)."""
    total = sum(KILL_SHARES.values())
    exact = [kills * share / total for share in KILL_SHARES.values()]
    counts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: counts[i] - exact[i])
    for i in by_remainder[: kills - sum(counts)]:
        counts[i] += 1
    return counts


@dataclass
class Tally:
    """What the soak pipeline's final outputs hold, and every way they fail the reference."""

    documents_in: int = 0
    documents_out: int = 0
    rejected: int = 0
    lost: int = 0
    problems: list[str] = field(default_factory=list)


def compare(corpus: Corpus, reference: Path, root: Path) -> Tally:
    """Files against the reference, counts against each other, ids against the corpus."""
    tally = Tally()
    # The datatrove logs hold timestamps and a line per attempt: the only files allowed to differ.
    skip = ("scored/logs",)
    tally.problems += differences(digests(reference, skip), digests(root, skip), "soak")
    manifest_path = root / "curriculum" / "manifest.json"
    stats_path = root / "scored" / "score_stats.json"
    if not (manifest_path.is_file() and stats_path.is_file()):
        tally.problems.append("soak: no score_stats.json or manifest.json to count from")
        tally.lost = len(corpus.ids)
        return tally
    stats, manifest = json.loads(stats_path.read_text()), json.loads(manifest_path.read_text())
    tally.documents_in = stats["documents_in"]
    tally.documents_out = sum(tier["documents"] for tier in manifest["tiers"])
    tally.rejected = manifest["rejected"]["documents"]
    counts = {
        "generated": len(corpus.ids),
        "score documents_in": stats["documents_in"],
        "score scored + rejected": stats["scored"] + stats["rejected"],
        "tiers + rejected": tally.documents_out + tally.rejected,
    }
    if len(set(counts.values())) != 1:
        tally.problems.append(f"counts not conserved: {counts}")

    def ids_in(entries: list[dict]) -> list[str]:
        paths = [root / "curriculum" / entry["path"] for entry in entries]
        return [i for path in paths for i in pq.read_table(path, columns=["id"]).column("id").to_pylist()]

    placed = ids_in([entry for tier in manifest["tiers"] for entry in tier["files"]])
    set_aside = ids_in(manifest["rejected"]["files"])
    found = Counter(placed + set_aside)
    tally.lost = sum(1 for doc_id in corpus.ids if doc_id not in found)
    duplicated = sum(1 for n in found.values() if n > 1)
    unknown = len(found.keys() - set(corpus.ids))
    not_rejected = len(corpus.planted - set(set_aside))
    for number, what in [
        (tally.lost, "generated documents found in no tier and not in rejected/"),
        (duplicated, "ids found more than once"),
        (unknown, "ids that were never generated"),
        (not_rejected, "planted bad documents not in rejected/"),
    ]:
        if number:
            tally.problems.append(f"{number} {what}")
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1_000_000, help="documents in the corpus")
    parser.add_argument("--kills", type=int, default=24, help="SIGKILLs over the five stages")
    parser.add_argument("--seed", type=int, default=0, help="seeds the corpus and the kill moments")
    parser.add_argument("--shards", type=int, default=8, help="JSONL files of the corpus")
    parser.add_argument("--tasks", type=int, default=16, help="datatrove tasks of the score stage")
    parser.add_argument("--work", type=Path, help="keep everything in this new folder (default: a temp one)")
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="soak-") as scratch:
        work = args.work or Path(scratch)
        (work / "logs").mkdir(parents=True)
        (work / "corpus").mkdir()
        pin_code(work / "code")
        corpus = generate_corpus(work / "corpus", args.docs, args.shards, args.seed)
        log(f"corpus: {len(corpus.ids):,} documents, {len(corpus.planted):,} of them planted bad ones")
        stages = pipeline(corpus, args.tasks)
        durations = run_reference(stages, work / "reference", work / "logs")
        soak = run_soak(
            stages, work / "soak", work / "reference", work / "logs", durations, args.kills, args.seed
        )
        tally = compare(corpus, work / "reference", work / "soak")
    problems = soak.problems + tally.problems
    for problem in problems:
        log(f"MISMATCH {problem}")
    print(
        json.dumps(
            {
                "bench": "soak",
                "documents_in": tally.documents_in,
                "documents_out": tally.documents_out,
                "rejected": tally.rejected,
                "kills": sum(soak.kills.values()),
                "kills_by_stage": {stage.name: soak.kills[stage.name] for stage in stages},
                "starts_by_stage": {stage.name: soak.starts[stage.name] for stage in stages},
                "processes_killed_by_stage": {stage.name: soak.processes[stage.name] for stage in stages},
                "mismatches": len(problems),
                "lost": tally.lost,
                "seconds": round(time.perf_counter() - start, 1),
                "reference_seconds_by_stage": {name: round(s, 1) for name, s in durations.items()},
                "soak_seconds_by_stage": {name: round(s, 1) for name, s in soak.seconds.items()},
                "docs": args.docs,
                "seed": args.seed,
                "load_average": round(os.getloadavg()[0], 2),
            }
        )
    )
    sys.exit(1 if problems or tally.lost else 0)


if __name__ == "__main__":
    main()
