"""Memory estimate vs measured: `train.memory.estimate_memory` against the peak resident memory of
real training steps (forward, backward, AdamW) on this CPU.

Each configuration runs in a fresh subprocess so its peak RSS (ru_maxrss) is its own; the baseline
is the same process's RSS just before the model is built (torch and the imports).

Usage: python benchmarks/bench_memory.py
Ends by printing one JSON line with each configuration's ratio (estimate / measured).
"""

from __future__ import annotations

import json
import subprocess
import sys

CONFIGS = [
    ("m10", 8, 256, "float32"),
    ("m10", 8, 256, "bfloat16"),
    ("m30", 4, 512, "float32"),
    ("s5", 64, 128, "float32"),
]

MEASURE = """
import json, resource, sys
import torch, torch.nn.functional as F
from curriscale.train.memory import estimate_memory
from curriscale.train.model import GPT, GPTConfig
size, batch, seq, dtype = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.manual_seed(0)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
config = GPTConfig.from_size(size, 257, seq)
model = GPT(config)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
tokens = torch.randint(0, 257, (batch, seq + 1))
for _ in range(2):
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bfloat16"):
        logits = model(tokens[:, :-1])
    F.cross_entropy(logits.float().flatten(0, 1), tokens[:, 1:].flatten()).backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
print(json.dumps([peak, estimate_memory(config, batch, dtype).total]))
"""


def main() -> None:
    rows = []
    for size, batch, seq, dtype in CONFIGS:
        out = subprocess.run(
            [sys.executable, "-c", MEASURE, size, str(batch), str(seq), dtype],
            capture_output=True,
            text=True,
            check=True,
        )
        measured, estimate = json.loads(out.stdout)
        rows.append({"size": size, "batch": [batch, seq], "dtype": dtype, "measured_gib": round(measured / 2**30, 3),
                     "estimate_gib": round(estimate / 2**30, 3), "ratio": round(estimate / measured, 2)})  # fmt: skip
        print(rows[-1], file=sys.stderr)
    ratios = [r["ratio"] for r in rows]
    print(json.dumps({"bench": "memory", "baseline": "peak RSS of real steps", "ratio_min": min(ratios),
                      "ratio_max": max(ratios), "rows": rows}))  # fmt: skip


if __name__ == "__main__":
    main()
