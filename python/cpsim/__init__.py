"""cpsim: plan context parallelism for packed document masks, in process (no files, no subprocess).

    import cpsim
    workload = cpsim.Workload([[4096, 12288, 8192, 8192]], mask="document_causal")
    plan = cpsim.choose(workload, 8, runtime="pytorch")   # the fastest plan PyTorch CP runs
    plan.rearrange_indices                                # numpy int64 (B, S): PyTorch's _generate_indices()
    plan.rotate, plan.strategy, plan.step_us              # 'allgather', 'head_tail + sdpa_ring/allgather on fa2', ...

Planning runs in C++ without the GIL, so threads and DataLoader workers plan in parallel. Every error is a
cpsim.Error (a ValueError) with the CLI's one-line message. cpsim.torch turns a plan into PyTorch's _LoadBalancer.
"""
from __future__ import annotations

import os as _os
from typing import Any, Optional, Sequence, Union

# A wheel ships the hardware profiles inside the package; the build tree reads the source tree's data/.
_DATA = _os.path.join(_os.path.dirname(__file__), "data")
if _os.path.isdir(_os.path.join(_DATA, "hardware")) and not _os.environ.get("CPSIM_DATA_DIR"):
    _os.environ["CPSIM_DATA_DIR"] = _DATA

from . import _cpsim  # noqa: E402
from ._cpsim import Error, Plan, Workload, balancers, hardware_dir, mask_kinds, pytorch_balancers  # noqa: E402

__all__ = ["Error", "Plan", "Workload", "plan", "compare", "choose", "simulate", "balancers", "pytorch_balancers",
           "mask_kinds", "hardware_dir"]
__version__ = "0.1.0"

DEFAULT_HARDWARE = "h100-sxm-8x"
Balancers = Union[str, Sequence[str], None]


def _names(balancers: Balancers) -> Optional[list]:
    """None/'all' (every balancer), 'pytorch' (PyTorch's own), one name, or a sequence of names."""
    if balancers is None:
        return None
    if isinstance(balancers, str):
        return [balancers]
    return [str(b) for b in balancers]


def plan(workload: Workload, world_size: int, balancer: Optional[str] = None, *, block_size: int = 128,
         hardware: str = DEFAULT_HARDWARE, strategy: Optional[str] = None, runtime: Optional[str] = None,
         kernel: Optional[str] = None, backward: bool = False, predict: bool = True) -> Plan:
    """Splits `workload` over `world_size` ranks with one balancer (default: head_tail, PyTorch's default).

    With predict (the default) the plan carries a prediction on `hardware` (a shipped profile's name or a JSON file,
    e.g. what `cpsim calibrate` wrote): under `strategy` (text as `cpsim compare` prints it, e.g.
    "ptrr + flex_allgather/allgather on flex"), else under the fastest strategy for this balancer, only among what
    `runtime` ('pytorch' or 'cpsim') runs when given. predict=False only balances and counts the work.
    Raises cpsim.Error (a ValueError) naming the argument and value, as `cpsim plan` would.
    """
    return _cpsim.plan(workload, int(world_size), balancer, block_size=block_size, hardware=hardware, strategy=strategy,
                       runtime=runtime, kernel=kernel, backward=backward, predict=predict)


def compare(workload: Workload, world_size: int, *, hardware: str = DEFAULT_HARDWARE, block_size: int = 128,
            backward: bool = False, kernel: Optional[str] = None, runtime: Optional[str] = None,
            balancers: Balancers = None, ulysses: bool = True,
            ulysses_degrees: Optional[Sequence[int]] = None) -> dict[str, Any]:
    """Every balancer under every attention path, rotate method and kernel, ranked by predicted step time.

    Returns the dict `cpsim compare --json` prints: 'ranked' (fastest first; each with 'strategy', 'runtime',
    'step_us', 'tie', ...), 'invalid' (with each 'reason'), 'best_pytorch', 'best_cpsim', 'why' and 'model_error'.
    runtime='pytorch' keeps only what PyTorch CP runs; balancers='pytorch' only PyTorch's own balancers.
    """
    return _cpsim.compare(workload, int(world_size), hardware=hardware, block_size=block_size, backward=backward,
                          kernel=kernel, runtime=runtime, balancers=_names(balancers), ulysses=ulysses,
                          ulysses_degrees=None if ulysses_degrees is None else [int(u) for u in ulysses_degrees])


def choose(workload: Workload, world_size: int, *, runtime: Optional[str] = "pytorch", hardware: str = DEFAULT_HARDWARE,
           block_size: int = 128, backward: bool = False, kernel: Optional[str] = None, balancers: Balancers = None,
           ulysses: bool = True, ulysses_degrees: Optional[Sequence[int]] = None) -> Plan:
    """The fastest candidate as a Plan with its prediction: by default the fastest plan PyTorch CP runs
    (runtime='pytorch'; hand it to cpsim.torch.load_balancer). runtime=None chooses among everything, 'cpsim' among
    what `cpsim execute` runs. What `cpsim batch` does for each line, for one batch in process.
    """
    return _cpsim.choose(workload, int(world_size), runtime=runtime, hardware=hardware, block_size=block_size,
                         backward=backward, kernel=kernel, balancers=_names(balancers), ulysses=ulysses,
                         ulysses_degrees=None if ulysses_degrees is None else [int(u) for u in ulysses_degrees])


def simulate(plan: Plan, strategy: Optional[str] = None, *, hardware: Optional[str] = None, backward: bool = False,
             kernel: Optional[str] = None) -> dict[str, Any]:
    """Simulates `plan` under `strategy` (default: the plan's own, else the fastest for its balancer) on `hardware`
    (default: the plan's profile). Returns the dict `cpsim simulate --json` prints: 'step_us', 'forward_us',
    'lower_bound_us', 'compute_imbalance', 'max_exposed_comm_us', 'per_rank', 'explain', 'runtime', ...
    """
    return _cpsim.simulate(plan, strategy, hardware=hardware, backward=backward, kernel=kernel)
