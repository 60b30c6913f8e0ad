"""`.ci/run`: chromium is installed before the README's two commands, which stay exactly as written."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_ci_installs_chromium_first_and_runs_the_readme_commands():
    script = (REPO / ".ci" / "run").read_text()
    install = script.index("apt-get install -y -qq chromium")
    assert script.index("apt-get update") < install < script.index('bash -euo pipefail -c "$demo_cmd"')
    # The commands CI runs are the README's lines under its two markers, read by the script itself.
    extract = script[script.index("demo_cmd=") : script.index("[ -n")]
    shown = subprocess.run(
        ["bash", "-c", f'{extract}printf "%s\\n%s" "$demo_cmd" "$test_cmd"'],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    readme = (REPO / "README.md").read_text().splitlines()
    markers = [
        i
        for i, line in enumerate(readme)
        if line.startswith(("# 1. install and run", "# 2. install and run"))
    ]
    assert shown == [readme[i + 1] for i in markers] and len(markers) == 2
    assert "Debian's chromium" in (REPO / "README.md").read_text()
