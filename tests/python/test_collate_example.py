"""python/examples/cp_collate.py: packs documents into rows, plans each batch, and its indices put the tokens back."""
import os
import subprocess
import sys

import numpy as np

import cpsim

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python", "examples"))
import cp_collate  # noqa: E402


def test_collate_packs_plans_and_round_trips():
    collate = cp_collate.CPCollate(seq_len=32768, world_size=4)
    docs = cp_collate.synthetic_documents(40, seed=5)
    batch = collate(docs)
    ids, r, back = batch["input_ids"], batch["rearrange_indices"], batch["restore_indices"]
    assert ids.shape == r.shape == back.shape and ids.shape[1] == 32768 and r.dtype == np.int64
    flat = np.concatenate(docs)
    assert np.array_equal(ids.reshape(-1)[: flat.size], flat)  # concatenated in order, cut at row ends
    assert all(sum(row) == 32768 for row in batch["document_lengths"])
    for row in range(ids.shape[0]):
        assert np.array_equal(ids[row][r[row]][back[row]], ids[row])  # restore undoes rearrange
    assert batch["rotate"] in ("allgather", "alltoall") and batch["plan"].runtime == "pytorch"


def test_collate_runs_as_a_script():
    script = os.path.join(os.path.dirname(__file__), "..", "..", "python", "examples", "cp_collate.py")
    out = subprocess.run([sys.executable, script, "2"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2 and all("predicted" in l and "rotate" in l for l in lines), out.stdout


def test_quickstart_runs_as_the_readme_shows():
    script = os.path.join(os.path.dirname(__file__), "..", "..", "python", "examples", "quickstart.py")
    out = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "(1, 131072) int64 rotate:" in out.stdout and "error: workload: seq_len: 131072 is not divisible by world size 7" in out.stdout
    assert cpsim.Workload  # the same package the script imported


def test_the_readme_shows_quickstart_as_it_is():
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    readme = open(os.path.join(root, "README.md"), encoding="utf-8").read()
    block = readme.split("`python/examples/quickstart.py`:\n\n```python\n", 1)[1].split("```", 1)[0]
    script = open(os.path.join(root, "python", "examples", "quickstart.py"), encoding="utf-8").read()
    assert block.strip() in script, "README's From Python example differs from python/examples/quickstart.py"
