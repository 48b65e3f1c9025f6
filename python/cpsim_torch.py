"""The former home of cpsim's PyTorch adapter, kept so that existing scripts and `python3 cpsim_torch.py
--check-builtin PLAN.json...` still work: the code is cpsim/torch.py (import it as cpsim.torch when the cpsim package
is installed). This file loads that one by path, so it needs neither the compiled module nor an install.
"""
import importlib.util as _util
import os as _os
import sys as _sys

_spec = _util.spec_from_file_location("cpsim_torch_impl", _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "cpsim", "torch.py"))
_impl = _util.module_from_spec(_spec)
_spec.loader.exec_module(_impl)

PLAN_SCHEMA_VERSION = _impl.PLAN_SCHEMA_VERSION
PlanError = _impl.PlanError
read_plan = _impl.read_plan
check_plan = _impl.check_plan
load_balancer = _impl.load_balancer
set_rotate_method = _impl.set_rotate_method
builtin_indices = _impl.builtin_indices
check_builtin = _impl.check_builtin

if __name__ == "__main__":
    _sys.exit(_impl.main())
