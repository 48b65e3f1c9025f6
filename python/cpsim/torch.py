"""Use a cpsim plan with PyTorch context parallelism, unchanged (importable without torch until a balancer is made).

    import cpsim, cpsim.torch
    from torch.distributed.tensor.experimental._attention import _context_parallel_shard, context_parallel_unshard
    plan = cpsim.choose(workload, cp_mesh.size(), runtime="pytorch")      # or a PLAN.json path, or its dict
    lb = cpsim.torch.load_balancer(plan, world_size=cp_mesh.size(), seq_len=S)
    cpsim.torch.set_rotate_method(plan)           # the plan's K/V rotate method (SDPA ring: allgather or alltoall)
    q, k, v, block_mask = _context_parallel_shard(cp_mesh, [q, k, v, block_mask], [2, 2, 2, 0], load_balancer=lb)
    out = attention(q, k, v, block_mask)          # a module under parallelize_module(..., _ContextParallel(FLEX))
    (out,) = context_parallel_unshard(cp_mesh, [out], [2], load_balancer=lb)

PyTorch 2.15's `context_parallel(...)` context manager takes no load_balancer (it shards with its default head-tail
balancer and patches SDPA only): a balancer of one's own goes through `_context_parallel_shard` and
`context_parallel_unshard`, as above (tests/python/test_torch_cp.py runs this on CPU with gloo).

`python -m cpsim.torch --check-builtin PLAN.json...` compares plans of PyTorch's own balancers with the indices
PyTorch generates for the same input (scripts/gpu-check.sh runs it where PyTorch is installed).
"""
from __future__ import annotations

import json
import sys
from typing import Any, Union

PLAN_SCHEMA_VERSION = 1
# Where PyTorch keeps its balancers, newest first (the package split, then the single _attention.py of ~2.5 to 2.8).
_BALANCER_MODULES = (
    "torch.distributed.tensor.experimental._context_parallel._load_balancer",
    "torch.distributed.tensor.experimental._load_balancer",
    "torch.distributed.tensor.experimental._attention",
)


class PlanError(ValueError):
    """A plan that cannot be used: names the file, the field and the value."""


def _check_rows(path, field, rows, seq_len):
    if not isinstance(rows, list) or not rows:
        raise PlanError(f"{path}: {field}: expected a list of index rows")
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != seq_len:
            raise PlanError(f"{path}: {field}[{i}]: expected {seq_len} indices")
        if sorted(row) != list(range(seq_len)):
            raise PlanError(f"{path}: {field}[{i}]: not a permutation of 0..{seq_len - 1}")


def check_plan(plan: dict, path: str = "plan") -> dict:
    """Checks a parsed PLAN.json for what PyTorch relies on: permutations of 0..S-1 per batch row, restore =
    argsort(rearrange), S divisible by the world size (rank-major sharding, torch.chunk semantics), no Ulysses."""
    if not isinstance(plan, dict) or plan.get("schema_version") != PLAN_SCHEMA_VERSION:
        got = plan.get("schema_version") if isinstance(plan, dict) else plan
        raise PlanError(f"{path}: schema_version: expected {PLAN_SCHEMA_VERSION}, got {got!r}")
    for key in ("workload", "world_size", "balancer", "rearrange_indices", "restore_indices"):
        if key not in plan:
            raise PlanError(f"{path}: {key}: missing (a PLAN.json as cpsim plan -o or compare --export writes has it)")
    workload = plan.get("workload")
    seq_len = workload.get("seq_len") if isinstance(workload, dict) else None
    world = plan.get("world_size")
    if not isinstance(seq_len, int) or not isinstance(world, int) or world <= 0 or seq_len % world:
        raise PlanError(f"{path}: world_size: {world!r} does not split seq_len {seq_len!r} into equal shards")
    if plan.get("ulysses", 1) != 1:
        raise PlanError(f"{path}: ulysses: {plan['ulysses']} (a Ulysses x ring hybrid) has no PyTorch load balancer")
    rearrange, restore = plan.get("rearrange_indices"), plan.get("restore_indices")
    _check_rows(path, "rearrange_indices", rearrange, seq_len)
    _check_rows(path, "restore_indices", restore, seq_len)
    if len(rearrange) != len(restore):
        raise PlanError(f"{path}: restore_indices: {len(restore)} rows for {len(rearrange)} rows of rearrange_indices")
    for i, (r, back) in enumerate(zip(rearrange, restore)):
        if any(back[p] != slot for slot, p in enumerate(r)):
            raise PlanError(f"{path}: restore_indices[{i}]: is not argsort(rearrange_indices[{i}])")
    return plan


def read_plan(path: str) -> dict:
    """Reads PLAN.json and checks it (check_plan)."""
    try:
        with open(path, encoding="utf-8") as f:
            plan = json.load(f)
    except OSError as e:
        raise PlanError(f"{path}: cannot open: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise PlanError(f"{path}: line {e.lineno}, column {e.colno}: {e.msg}") from None
    return check_plan(plan, path)


class _PlanView:
    """What the balancer needs of a plan, from a cpsim.Plan (numpy indices, no copy through JSON) or PLAN.json."""

    def __init__(self, plan: Any):
        if isinstance(plan, (str, bytes)) or hasattr(plan, "__fspath__"):
            self.where = str(plan)
            plan = read_plan(self.where)
        if isinstance(plan, dict):
            self.where = getattr(self, "where", "plan")
            check_plan(plan, self.where)
            self.world_size, self.seq_len = plan["world_size"], plan["workload"]["seq_len"]
            self.balancer, self.rotate = plan["balancer"], plan.get("rotate")
            self.attention_path, self.ulysses = plan.get("attention_path"), plan.get("ulysses", 1)
            self.rearrange, self.restore = plan["rearrange_indices"], plan["restore_indices"]
        elif hasattr(plan, "rearrange_indices") and hasattr(plan, "world_size"):
            self.where = f"{plan!r}"
            self.runtime = getattr(plan, "runtime", None)
            self.world_size, self.seq_len = plan.world_size, plan.workload.seq_len
            self.balancer, self.rotate = plan.balancer, plan.rotate
            self.attention_path, self.ulysses = plan.attention_path, plan.ulysses
            self.rearrange, self.restore = plan.rearrange_indices, plan.restore_indices
            if self.ulysses != 1:
                raise PlanError(f"{self.where}: ulysses: {self.ulysses} (a Ulysses x ring hybrid) has no PyTorch load balancer")
        else:
            raise PlanError(f"plan: expected a cpsim.Plan, a PLAN.json path or its parsed dict, got {type(plan).__name__}")


def balancer_base():
    """PyTorch's _LoadBalancer base class (its module moved between releases)."""
    import importlib

    for name in _BALANCER_MODULES:
        try:
            return getattr(importlib.import_module(name), "_LoadBalancer")
        except (ImportError, AttributeError):
            continue
    raise ImportError("this torch has no context-parallel _LoadBalancer (looked in " + ", ".join(_BALANCER_MODULES) + ")")


def load_balancer(plan: Union[Any, str, dict], world_size: int | None = None, seq_len: int | None = None, device=None):
    """A torch `_LoadBalancer` whose `_generate_indices(restore)` returns the plan's indices, shape (B, S), int64:
    for `_context_parallel_shard` and `context_parallel_unshard` (load_balancer=...). `plan`: a cpsim.Plan, a PLAN.json
    path or its parsed dict. world_size and seq_len, when given, must be the plan's (the CP mesh's size and the
    batch's sequence length). The balancer's `rotate` is the plan's rotate method (for set_rotate_method)."""
    view = _PlanView(plan)
    runtime = getattr(view, "runtime", None)
    if runtime is not None and runtime != "pytorch" or view.attention_path not in (None, "sdpa_ring", "flex_allgather"):
        import warnings

        warnings.warn(f"{view.where}: its strategy ({view.attention_path}, runtime {runtime or 'not pytorch'}) is not one PyTorch CP runs: "
                      "the indices load, but PyTorch will not reach the predicted time (cpsim.choose(..., runtime='pytorch') picks one "
                      "that it runs)", stacklevel=2)
    if world_size is not None and world_size != view.world_size:
        raise PlanError(f"{view.where}: world_size: the plan is for {view.world_size} ranks, the CP mesh has {world_size}")
    if seq_len is not None and seq_len != view.seq_len:
        raise PlanError(f"{view.where}: workload.seq_len: the plan is for {view.seq_len} tokens, the batch has {seq_len}")
    import torch

    base = balancer_base()

    def as_tensor(rows):
        if hasattr(rows, "__array__"):
            return torch.from_numpy(rows).to(dtype=torch.long, device=device)
        return torch.tensor(rows, dtype=torch.long, device=device)

    class CpsimLoadBalancer(base):
        """PyTorch's index contract: rearrange R with Q' = Q[R], restore = argsort(R), rank-major shards."""

        def __init__(self):
            self.world_size = view.world_size
            self.balancer = view.balancer
            self.rotate = view.rotate  # "allgather" / "alltoall", for set_rotate_method
            self.attention_path = view.attention_path
            self._rearrange = as_tensor(view.rearrange)
            self._restore = as_tensor(view.restore)

        def _generate_indices(self, restore: bool = False):
            return self._restore if restore else self._rearrange

    return CpsimLoadBalancer()


def set_rotate_method(plan) -> str | None:
    """Sets torch's CP rotate method to the plan's (SDPA ring: 'allgather' or 'alltoall'); returns it, or None when
    the plan records none (a plan without a strategy) and nothing is set."""
    rotate = getattr(plan, "rotate", None) if not isinstance(plan, (str, dict)) else _PlanView(plan).rotate
    if rotate is None:
        return None
    from torch.distributed.tensor.experimental import _attention

    setter = getattr(_attention, "set_rotate_method", None)
    if setter is None:
        from torch.distributed.tensor.experimental import set_rotate_method as setter  # type: ignore[no-redef]
    setter(rotate)
    return rotate


def _balancer_module():
    import importlib

    for name in _BALANCER_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "_HeadTailLoadBalancer"):
            return module
    raise ImportError("this torch has no context-parallel load balancers")


def document_mask_mod(documents, device="cpu", causal=True):
    """A FlexAttention mask_mod for one row of packed documents (document-causal, or document-full)."""
    import torch

    doc_id = torch.repeat_interleave(torch.arange(len(documents), device=device), torch.tensor(documents, device=device))

    def mask_mod(b, h, q, k):
        same = doc_id[q] == doc_id[k]
        return (q >= k) & same if causal else same

    return mask_mod


def builtin_indices(plan: dict, device="cpu"):
    """The rearrange indices PyTorch's own balancer gives for a plan made by one of them, or None."""
    import torch

    lbm = _balancer_module()
    name, world = plan["balancer"], plan["world_size"]
    workload = plan["workload"]
    seq_len = workload["seq_len"]
    if name == "contiguous":  # no balancer: PyTorch shards the sequence as it is
        return torch.arange(seq_len, device=device).unsqueeze(0)
    if name == "head_tail":
        return lbm._HeadTailLoadBalancer(seq_len, world, torch.device(device))._generate_indices(restore=False)
    if name == "per_document_head_tail":
        return lbm._PerDocumentHeadTailLoadBalancer(workload["documents"], world, torch.device(device))._generate_indices(restore=False)
    if name == "ptrr" and workload["mask"]["kind"] in ("causal", "document_causal"):
        from torch.nn.attention.flex_attention import create_block_mask

        rows = []
        for docs in workload["documents"]:
            block_mask = create_block_mask(document_mask_mod(docs, device), 1, 1, seq_len, seq_len, device=device,
                                           BLOCK_SIZE=plan["block_size"])
            rows.append(lbm._PTRRLoadBalancer(block_mask, world)._generate_indices(restore=False).reshape(-1))
        return torch.stack(rows)
    return None


def check_builtin(paths) -> int:
    """Prints one line per plan: same indices as PyTorch, different, or skipped (why). Returns failures."""
    import torch

    failures = 0
    for path in paths:
        plan = read_plan(path)
        try:
            expected = builtin_indices(plan)
        except Exception as e:  # a PyTorch without this balancer, or an API change
            print(f"{path}: {plan['balancer']}: skipped ({type(e).__name__}: {e})")
            continue
        if expected is None:
            print(f"{path}: {plan['balancer']}: skipped (not a PyTorch balancer)")
            continue
        ours = load_balancer(plan)._generate_indices(restore=False).to(expected.device)
        same = torch.equal(ours.reshape(-1, ours.shape[-1]).long(), expected.reshape(-1, expected.shape[-1]).long().expand_as(ours))
        print(f"{path}: {plan['balancer']}: {'same indices as PyTorch' if same else 'DIFFERENT from PyTorch'}")
        failures += not same
    return failures


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2 or argv[0] != "--check-builtin":
        print(__doc__)
        return 2
    try:
        return 1 if check_builtin(argv[1:]) else 0
    except PlanError as e:
        print(f"cpsim.torch: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
