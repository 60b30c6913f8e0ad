"""benchmarks/gpu_check.py, the one script to run where a GPU is, runs here on the CPU at a tiny size.

On a CPU its "device" run is bf16 autocast on the CPU against the float32 reference: the same
comparison the script makes on a GPU, so the check itself is exercised, not only the plumbing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.py"


def test_gpu_check_runs_on_a_cpu_and_compares_bf16_with_float32():
    args = ["--size", "s1", "--steps", "20", "--reference-steps", "8", "--batch-size", "8", "--seq-len", "64",
            "--lr", "1e-2", "--dtype", "bfloat16", "--no-compile"]  # fmt: skip
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["bench"] == "gpu_check" and report["passed"] is True
    assert (report["device"], report["dtype"], report["cpu_reference_steps"]) == ("cpu", "bfloat16", 8)
    # bf16 rounding moves the losses, but by far less than the tolerance.
    assert 0 < report["checks"]["device_vs_cpu_float32"] < report["tolerance"]
    assert report["tokens_per_s"] > 0 and 0 < report["mfu"] < 1
