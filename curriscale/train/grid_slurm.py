"""The grid's Slurm executor: datatrove's, whose script also lists each external cell's command.

A cell of an external trainer (`external.py`) runs inside the pickled pipeline like any other, so
the sbatch script alone would not say what it runs; this one adds a comment line per task,
`# task <rank> (cell <name>) runs: cd <grid folder> && <command>`, after the shebang.
"""

from __future__ import annotations

from datatrove.executor import SlurmPipelineExecutor

from curriscale.train.external import describe


class GridSlurmExecutor(SlurmPipelineExecutor):
    """`SlurmPipelineExecutor` that shows its external cells' commands in the launch script."""

    def get_launch_file_contents(self, sbatch_args: dict, run_script: str) -> str:
        script = super().get_launch_file_contents(sbatch_args, run_script)
        configs = getattr(self.pipeline[0], "configs", [])
        lines = [
            f"# task {rank} (cell {config['external']['cell']}) runs: {describe(config['external'])}"
            for rank, config in enumerate(configs)
            if config.get("external")
        ]
        if not lines:
            return script
        shebang, _, rest = script.partition("\n")
        return "\n".join([shebang, *lines, rest])
