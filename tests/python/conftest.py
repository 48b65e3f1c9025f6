"""What the module's pytest files share: the cpsim CLI CTest built (CPSIM_BINARY), a small valid workload per mask
kind, and running the CLI. The cpsim package comes from PYTHONPATH (CTest sets it to the build tree's python/)."""
import json
import os
import subprocess

import pytest

CPSIM = os.environ.get("CPSIM_BINARY", "cpsim")
# Every document a multiple of 2W for W up to 8 (per-document head-tail), S a multiple of W x 128 (PTRR).
DOCS = [[1024, 3072, 2048, 512, 1536], [4096, 2048, 1024, 1024]]
MASK_ARGS = {
    "causal": {}, "full": {}, "document_causal": {}, "document_full": {},
    "sliding_window": {"window": 700}, "document_sliding_window": {"window": 300}, "prefix_lm": {"prefix": 1000},
}


def workload(mask="document_causal", docs=DOCS, **model):
    import cpsim

    args = dict(MASK_ARGS[mask])
    args.update(model)
    return cpsim.Workload(docs, mask, **args)


def run_cli(*args, check=True):
    """The CLI's exit status, stdout and stderr."""
    r = subprocess.run([CPSIM, *map(str, args)], capture_output=True, text=True, timeout=300)
    if check and r.returncode != 0:
        raise AssertionError(f"cpsim {' '.join(map(str, args))}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def plan_fields(text):
    """A PLAN.json without the names of where it came from (a file for the CLI, 'workload' in process)."""
    doc = json.loads(text)
    doc.pop("workload_source", None)
    return doc


@pytest.fixture
def tmp(tmp_path):
    return tmp_path
