"""GPU slots: real processes hold them through flock; a killed holder's slots are free again."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from curriscale.train.grid_slots import GpuSlots

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from curriscale.train.grid_slots import GpuSlots

    held = GpuSlots(Path(sys.argv[1]), ("0", "1")).try_claim(int(sys.argv[2]))
    print(held.cuda_visible_devices if held else "none", flush=True)
    time.sleep(120)
    """
)


def start_holder(folder, count: int) -> tuple[subprocess.Popen, str]:
    """A process that claims `count` slots, says which GPUs it got, and keeps them until killed."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder), str(count)], stdout=subprocess.PIPE, text=True
    )
    return holder, holder.stdout.readline().strip()


def stop(process: subprocess.Popen) -> None:
    process.kill()  # SIGKILL: no cleanup code runs, the kernel alone drops the locks
    process.wait()
    if process.stdout:
        process.stdout.close()


def test_two_processes_never_hold_the_same_gpu_and_a_killed_holder_frees_its_slot(tmp_path):
    slots = GpuSlots(tmp_path, ("0", "1"))
    holder, got = start_holder(tmp_path, 1)
    try:
        assert got == "0"
        mine = slots.try_claim(1)
        assert mine is not None and mine.gpus == ["1"]
        assert slots.try_claim(1) is None  # both held, one by each process
        other, got_other = start_holder(tmp_path, 1)
        stop(other)
        assert got_other == "none"
    finally:
        stop(holder)
    freed = slots.try_claim(1)
    assert freed is not None and freed.gpus == ["0"]
    freed.release()
    mine.release()


def test_a_claim_takes_all_its_slots_or_none(tmp_path):
    slots = GpuSlots(tmp_path, ("0", "1", "2"))
    holder, got = start_holder(tmp_path, 1)
    try:
        assert got == "0"
        assert slots.try_claim(3) is None
        pair = slots.try_claim(2)  # the failed claim of 3 left no slot locked behind
        assert pair is not None and pair.cuda_visible_devices == "1,2"
        pair.release()
    finally:
        stop(holder)


def test_a_child_given_the_lock_keeps_the_slot_after_the_claimer_lets_go(tmp_path):
    slots = GpuSlots(tmp_path, ("0",))
    with slots.claim(1) as held:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], pass_fds=held.fds)
    try:
        assert slots.try_claim(1) is None  # the child still holds gpu-slot-0
    finally:
        stop(child)
    again = slots.try_claim(1)
    assert again is not None and again.gpus == ["0"]
    again.release()
