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

Error.__module__ = "cpsim"  # tracebacks say cpsim.Error, the name users catch

__all__ = ["Error", "Plan", "Workload", "plan", "compare", "choose", "simulate", "balancers", "pytorch_balancers",
           "mask_kinds", "hardware_dir"]
__version__ = "0.1.0"

DEFAULT_HARDWARE = "h100-sxm-8x"
Balancers = Union[str, Sequence[str], None]


def _int(name: str, value: Any) -> int:
    """An integer argument as the CLI takes it: int or numpy integer; bool and float are refused (8.5 is no W)."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{name}: expected an integer, got {value!r} ({type(value).__name__})")
    value = value.__index__()
    if not -(2**63) <= value < 2**63:
        raise Error(f"{name}: {value} is out of range")
    return value


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name}: expected True or False, got {value!r} ({type(value).__name__})")
    return value


def _str(name: str, value: Any, optional: bool = True) -> Optional[str]:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected a string{' or None' if optional else ''}, got {value!r} ({type(value).__name__})")
    return value


def _hardware(value: Any) -> str:
    """A shipped profile's name, or a profile file (str or os.PathLike)."""
    if isinstance(value, _os.PathLike):
        return _os.fspath(value)
    return _str("hardware", value, optional=False)


def _workload(value: Any) -> Workload:
    if not isinstance(value, Workload):
        raise TypeError(f"workload: expected a cpsim.Workload, got {type(value).__name__} (cpsim.Workload(documents) makes one)")
    return value


def _names(balancers: Balancers) -> Optional[list]:
    """None/'all' (every balancer), 'pytorch' (PyTorch's own), one name, or a sequence of names."""
    if balancers is None:
        return None
    if isinstance(balancers, str):
        return [balancers]
    return [_str(f"balancers[{i}]", b, optional=False) for i, b in enumerate(balancers)]


def _degrees(degrees: Optional[Sequence[int]]) -> Optional[list]:
    """Ulysses degrees to try: each 2 or more (a degree that does not divide W or the heads is skipped, as in compare)."""
    if degrees is None:
        return None
    if isinstance(degrees, (str, bytes)) or not hasattr(degrees, "__iter__"):
        raise TypeError(f"ulysses_degrees: expected a sequence of integers, got {degrees!r}")
    out = [_int(f"ulysses_degrees[{i}]", u) for i, u in enumerate(degrees)]
    for i, u in enumerate(out):
        if u < 2:
            raise Error(f"ulysses_degrees[{i}]: {u} is not a Ulysses degree (2 or more GPUs per group)")
    return out


def plan(workload: Workload, world_size: int, balancer: Optional[str] = None, *, block_size: int = 128,
         hardware: Union[str, _os.PathLike] = DEFAULT_HARDWARE, strategy: Optional[str] = None, runtime: Optional[str] = None,
         kernel: Optional[str] = None, backward: bool = False, predict: bool = True) -> Plan:
    """Splits `workload` over `world_size` ranks with one balancer (default: head_tail, PyTorch's default).

    With predict (the default) the plan carries a prediction on `hardware` (a shipped profile's name or a JSON file,
    e.g. what `cpsim calibrate` wrote): under `strategy` (text as `cpsim compare` prints it, e.g.
    "ptrr + flex_allgather/allgather on flex"), else under the fastest strategy for this balancer, only among what
    `runtime` ('pytorch' or 'cpsim') runs when given. predict=False only balances and counts the work.
    Raises cpsim.Error (a ValueError) naming the argument and value, as `cpsim plan` would.
    """
    return _cpsim.plan(_workload(workload), _int("world_size", world_size), _str("balancer", balancer),
                       block_size=_int("block_size", block_size), hardware=_hardware(hardware), strategy=_str("strategy", strategy),
                       runtime=_str("runtime", runtime), kernel=_str("kernel", kernel), backward=_bool("backward", backward),
                       predict=_bool("predict", predict))


def compare(workload: Workload, world_size: int, *, hardware: str = DEFAULT_HARDWARE, block_size: int = 128,
            backward: bool = False, kernel: Optional[str] = None, runtime: Optional[str] = None,
            balancers: Balancers = None, ulysses: bool = True,
            ulysses_degrees: Optional[Sequence[int]] = None) -> dict[str, Any]:
    """Every balancer under every attention path, rotate method and kernel, ranked by predicted step time.

    Returns the dict `cpsim compare --json` prints: 'ranked' (fastest first; each with 'strategy', 'runtime',
    'step_us', 'tie', ...), 'invalid' (with each 'reason'), 'best_pytorch', 'best_cpsim', 'why' and 'model_error'.
    runtime='pytorch' keeps only what PyTorch CP runs; balancers='pytorch' only PyTorch's own balancers.
    """
    return _cpsim.compare(_workload(workload), _int("world_size", world_size), hardware=_hardware(hardware),
                          block_size=_int("block_size", block_size), backward=_bool("backward", backward), kernel=_str("kernel", kernel),
                          runtime=_str("runtime", runtime), balancers=_names(balancers), ulysses=_bool("ulysses", ulysses),
                          ulysses_degrees=_degrees(ulysses_degrees))


def choose(workload: Workload, world_size: int, *, runtime: Optional[str] = "pytorch", hardware: str = DEFAULT_HARDWARE,
           block_size: int = 128, backward: bool = False, kernel: Optional[str] = None, balancers: Balancers = None,
           ulysses: bool = True, ulysses_degrees: Optional[Sequence[int]] = None) -> Plan:
    """The fastest candidate as a Plan with its prediction: by default the fastest plan PyTorch CP runs
    (runtime='pytorch'; hand it to cpsim.torch.load_balancer). runtime=None chooses among everything, 'cpsim' among
    what `cpsim execute` runs. What `cpsim batch` does for each line, for one batch in process.
    """
    return _cpsim.choose(_workload(workload), _int("world_size", world_size), runtime=_str("runtime", runtime),
                         hardware=_hardware(hardware), block_size=_int("block_size", block_size), backward=_bool("backward", backward),
                         kernel=_str("kernel", kernel), balancers=_names(balancers), ulysses=_bool("ulysses", ulysses),
                         ulysses_degrees=_degrees(ulysses_degrees))


def simulate(plan: Plan, strategy: Optional[str] = None, *, hardware: Optional[str] = None, backward: bool = False,
             kernel: Optional[str] = None) -> dict[str, Any]:
    """Simulates `plan` under `strategy` (default: the plan's own, else the fastest for its balancer) on `hardware`
    (default: the plan's profile). Returns the dict `cpsim simulate --json` prints: 'step_us', 'forward_us',
    'lower_bound_us', 'compute_imbalance', 'max_exposed_comm_us', 'per_rank', 'explain', 'runtime', ...
    """
    if not isinstance(plan, Plan):
        raise TypeError(f"plan: expected a cpsim.Plan, got {type(plan).__name__}")
    return _cpsim.simulate(plan, _str("strategy", strategy), hardware=None if hardware is None else _hardware(hardware),
                           backward=_bool("backward", backward), kernel=_str("kernel", kernel))
