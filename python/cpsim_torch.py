"""Use a cpsim plan with PyTorch context parallelism, unchanged.

    from cpsim_torch import load_balancer
    lb = load_balancer("PLAN.json", world_size=cp_mesh.size(), seq_len=S)
    with context_parallel(cp_mesh, buffers=..., buffer_seq_dims=..., load_balancer=lb): ...
    set_rotate_method(lb.rotate)   # the plan's rotate method, when it records one

Needs only torch (and only when a balancer is made: reading and checking a plan is plain Python).
`python3 cpsim_torch.py --check-builtin PLAN.json...` compares plans of PyTorch's own balancers with the
indices PyTorch generates for the same input (scripts/gpu-check.sh runs it where PyTorch is installed).
"""
import json
import sys

PLAN_SCHEMA_VERSION = 1


class PlanError(ValueError):
    """A plan file that cannot be used: names the file, the field and the value."""


def _check_rows(path, field, rows, seq_len):
    if not isinstance(rows, list) or not rows:
        raise PlanError(f"{path}: {field}: expected a list of index rows")
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != seq_len:
            raise PlanError(f"{path}: {field}[{i}]: expected {seq_len} indices")
        if sorted(row) != list(range(seq_len)):
            raise PlanError(f"{path}: {field}[{i}]: not a permutation of 0..{seq_len - 1}")


def read_plan(path):
    """Reads PLAN.json and checks what PyTorch relies on: permutations of 0..S-1 per batch row, restore =
    argsort(rearrange), S divisible by the world size (rank-major sharding, torch.chunk semantics)."""
    try:
        with open(path, encoding="utf-8") as f:
            plan = json.load(f)
    except OSError as e:
        raise PlanError(f"{path}: cannot open: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise PlanError(f"{path}: line {e.lineno}, column {e.colno}: {e.msg}") from None
    if not isinstance(plan, dict) or plan.get("schema_version") != PLAN_SCHEMA_VERSION:
        raise PlanError(f"{path}: schema_version: expected {PLAN_SCHEMA_VERSION}, got {plan.get('schema_version') if isinstance(plan, dict) else plan!r}")
    seq_len = plan.get("workload", {}).get("seq_len")
    world = plan.get("world_size")
    if not isinstance(seq_len, int) or not isinstance(world, int) or world <= 0 or seq_len % world:
        raise PlanError(f"{path}: world_size: {world!r} does not split seq_len {seq_len!r} into equal shards")
    if plan.get("ulysses", 1) != 1:
        raise PlanError(f"{path}: ulysses: {plan['ulysses']} (a Ulysses x ring hybrid) has no PyTorch load balancer")
    rearrange, restore = plan.get("rearrange_indices"), plan.get("restore_indices")
    _check_rows(path, "rearrange_indices", rearrange, seq_len)
    _check_rows(path, "restore_indices", restore, seq_len)
    for i, (r, back) in enumerate(zip(rearrange, restore)):
        if any(back[p] != slot for slot, p in enumerate(r)) or len(rearrange) != len(restore):
            raise PlanError(f"{path}: restore_indices[{i}]: is not argsort(rearrange_indices[{i}])")
    return plan


def load_balancer(path, world_size=None, seq_len=None, device=None):
    """A torch `_LoadBalancer` whose `_generate_indices(restore)` returns the plan's indices, shape (B, S)."""
    plan = read_plan(path)
    if world_size is not None and world_size != plan["world_size"]:
        raise PlanError(f"{path}: world_size: the plan is for {plan['world_size']} ranks, the CP mesh has {world_size}")
    if seq_len is not None and seq_len != plan["workload"]["seq_len"]:
        raise PlanError(f"{path}: workload.seq_len: the plan is for {plan['workload']['seq_len']} tokens, the batch has {seq_len}")
    import torch

    try:
        from torch.distributed.tensor.experimental._load_balancer import _LoadBalancer
    except ImportError:  # releases before the balancers had their own module
        from torch.distributed.tensor.experimental._attention import _LoadBalancer

    class CpsimLoadBalancer(_LoadBalancer):
        """PyTorch's index contract: rearrange R with Q' = Q[R], restore = argsort(R), rank-major shards."""

        def __init__(self):
            self.plan = plan
            self.world_size = plan["world_size"]
            self.balancer = plan["balancer"]
            self.rotate = plan.get("rotate")  # "allgather" / "alltoall", for set_rotate_method
            self.attention_path = plan.get("attention_path")
            self._rearrange = torch.tensor(plan["rearrange_indices"], dtype=torch.long, device=device)
            self._restore = torch.tensor(plan["restore_indices"], dtype=torch.long, device=device)

        def _generate_indices(self, restore=False):
            return self._restore if restore else self._rearrange

    return CpsimLoadBalancer()


def builtin_indices(plan, device="cpu"):
    """The rearrange indices PyTorch's own balancer gives for a plan made by one of them, or None."""
    import torch
    from torch.distributed.tensor.experimental import _load_balancer as lbm

    name, world = plan["balancer"], plan["world_size"]
    workload = plan["workload"]
    seq_len = workload["seq_len"]
    if name == "head_tail":
        return lbm._HeadTailLoadBalancer(seq_len, world, torch.device(device))._generate_indices(restore=False)
    if name == "per_document_head_tail":
        return lbm._PerDocumentHeadTailLoadBalancer(workload["documents"], world, torch.device(device))._generate_indices(restore=False)
    if name == "ptrr" and workload["mask"]["kind"] in ("causal", "document_causal"):
        from torch.nn.attention.flex_attention import create_block_mask

        rows = []
        for docs in workload["documents"]:
            doc_id = torch.repeat_interleave(torch.arange(len(docs), device=device), torch.tensor(docs, device=device))

            def mask_mod(b, h, q, k, doc_id=doc_id):
                return (q >= k) & (doc_id[q] == doc_id[k])

            block_mask = create_block_mask(mask_mod, 1, 1, seq_len, seq_len, device=device, BLOCK_SIZE=plan["block_size"])
            rows.append(lbm._PTRRLoadBalancer(block_mask, world)._generate_indices(restore=False).reshape(-1))
        return torch.stack(rows)
    return None


def check_builtin(paths):
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
        ours = load_balancer(path)._generate_indices(restore=False).to(expected.device)
        same = torch.equal(ours.reshape(-1, ours.shape[-1]).long(), expected.reshape(-1, expected.shape[-1]).long().expand_as(ours))
        print(f"{path}: {plan['balancer']}: {'same indices as PyTorch' if same else 'DIFFERENT from PyTorch'}")
        failures += not same
    return failures


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "--check-builtin":
        print(__doc__)
        sys.exit(2)
    try:
        sys.exit(1 if check_builtin(sys.argv[2:]) else 0)
    except PlanError as e:
        print(f"cpsim_torch: error: {e}", file=sys.stderr)
        sys.exit(2)
