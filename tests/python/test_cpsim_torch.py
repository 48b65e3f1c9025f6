"""python/cpsim_torch.py without PyTorch: plan checks, and the _LoadBalancer subclass against a stand-in
torch that records what it is given (the real comparison with PyTorch runs in scripts/gpu-check.sh)."""
import json
import os
import subprocess
import sys
import tempfile
import types
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import cpsim_torch  # noqa: E402

CPSIM = os.environ.get("CPSIM_BINARY", "cpsim")
WORKLOAD = os.path.join(os.path.dirname(__file__), "..", "..", "data", "workloads", "doc-uniform-32k-4rows.json")


def install_fake_torch():
    torch = types.ModuleType("torch")
    torch.long = "long"
    torch.tensor = lambda data, dtype=None, device=None: ("tensor", data, dtype, device)
    names = ["torch.distributed", "torch.distributed.tensor", "torch.distributed.tensor.experimental",
             "torch.distributed.tensor.experimental._load_balancer"]
    modules = {"torch": torch}
    for name in names:
        modules[name] = types.ModuleType(name)

    class _LoadBalancer:  # the abstract base's shape
        def _generate_indices(self, restore=False):
            raise NotImplementedError

    modules[names[-1]]._LoadBalancer = _LoadBalancer
    sys.modules.update(modules)
    return _LoadBalancer


class CpsimTorchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp()
        cls.plan = os.path.join(cls.dir, "plan.json")
        subprocess.run([CPSIM, "plan", WORKLOAD, "-w", "4", "-b", "cost_aware", "-r", "alltoall", "-o", cls.plan],
                       check=True, stdout=subprocess.DEVNULL)

    def write(self, name, doc):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    def test_load_balancer_returns_the_plans_indices(self):
        base = install_fake_torch()
        lb = cpsim_torch.load_balancer(self.plan, world_size=4, seq_len=32768)
        self.assertIsInstance(lb, base)
        plan = json.load(open(self.plan))
        self.assertEqual(lb._generate_indices(restore=False)[1], plan["rearrange_indices"])
        self.assertEqual(lb._generate_indices(restore=True)[1], plan["restore_indices"])
        self.assertEqual(lb.rotate, "alltoall")
        self.assertEqual(len(plan["rearrange_indices"]), 4)  # one row per batch row: shape (B, S)

    def test_mismatches_and_corrupt_plans_are_named(self):
        with self.assertRaisesRegex(cpsim_torch.PlanError, "world_size: the plan is for 4 ranks, the CP mesh has 8"):
            cpsim_torch.load_balancer(self.plan, world_size=8)
        plan = json.load(open(self.plan))
        plan["rearrange_indices"][2][5] = plan["rearrange_indices"][2][6]
        with self.assertRaisesRegex(cpsim_torch.PlanError, r"rearrange_indices\[2\]: not a permutation"):
            cpsim_torch.read_plan(self.write("dup.json", plan))
        plan = json.load(open(self.plan))
        plan["restore_indices"][0] = plan["rearrange_indices"][0]
        with self.assertRaisesRegex(cpsim_torch.PlanError, r"restore_indices\[0\]: is not argsort"):
            cpsim_torch.read_plan(self.write("restore.json", plan))
        plan = json.load(open(self.plan))
        plan["ulysses"] = 2
        with self.assertRaisesRegex(cpsim_torch.PlanError, "ulysses: 2"):
            cpsim_torch.read_plan(self.write("ulysses.json", plan))
        with self.assertRaisesRegex(cpsim_torch.PlanError, "cannot open"):
            cpsim_torch.read_plan(os.path.join(self.dir, "missing.json"))
        with open(os.path.join(self.dir, "trunc.json"), "w") as f:
            f.write('{"schema_version": 1, ')
        with self.assertRaisesRegex(cpsim_torch.PlanError, "trunc.json: line 1"):
            cpsim_torch.read_plan(os.path.join(self.dir, "trunc.json"))


if __name__ == "__main__":
    unittest.main()
