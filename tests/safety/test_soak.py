"""benchmarks/soak.py at a tiny size: five SIGKILLs over score, build, verify and export lose nothing.

The script runs in its own process (it starts and kills `python -m curriscale` processes itself);
its JSON line is the result. Run with a different seed than the script's default, so the test and
a default run kill at different moments.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"
DOCS, KILLS = 2_000, 5


def test_the_soak_survives_its_kills_with_outputs_equal_to_an_unkilled_run(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--docs", str(DOCS), "--kills", str(KILLS), "--seed", "7"]
        + ["--work", str(tmp_path / "work")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert result.returncode == 0, result.stderr  # nonzero: mismatches, lost documents or a failed rerun
    assert report["bench"] == "soak"
    assert report["kills"] == KILLS and sum(report["kills_by_stage"].values()) == KILLS
    assert report["mismatches"] == 0 and report["lost"] == 0, result.stderr
    assert report["documents_in"] == DOCS
    assert report["documents_in"] == report["documents_out"] + report["rejected"]
    assert report["rejected"] >= DOCS // 200  # every planted bad record (one in 200) was set aside
