"""bench/torch_kernels.py without a GPU (--dry-run): which calls it makes for the SDPA ring and FlexAttention CP, that
its MEASURED.json files load in cpsim and that `cpsim calibrate` fits every kernel from them (scripts/gpu-check.sh
runs it for real)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
import torch_kernels  # noqa: E402

CPSIM = os.environ.get("CPSIM_BINARY", "cpsim")
SCRIPT = os.path.join(HERE, "..", "..", "bench", "torch_kernels.py")


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True)


class TorchKernelsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp()
        d = cls.dir
        for name, mask in (("causal", "causal"), ("doc", "document_causal")):
            r = run(CPSIM, "generate", "--seq-len", "4096", "--dist", "lognormal", "--mean", "700", "--sigma", "0.8", "--min-len", "16",
                    "--multiple-of", "16", "--mask", mask, "--q-heads", "8", "--kv-heads", "2", "--head-dim", "64", "--out", f"{d}/{name}.json")
            assert r.returncode == 0, r.stderr
        plans = [("causal", "head_tail", "alltoall"), ("causal", "contiguous", "alltoall"), ("doc", "ptrr", "allgather")]
        for workload, balancer, rotate in plans:
            r = run(CPSIM, "plan", f"{d}/{workload}.json", "-w", "4", "-b", balancer, "-r", rotate, "-o", f"{d}/plan-{workload}-{balancer}.json")
            assert r.returncode == 0, r.stderr

    def test_the_sdpa_ring_calls_are_pytorchs(self):
        plan = torch_kernels.read_plan(f"{self.dir}/plan-causal-head_tail.json")
        plan["_path"] = "p"
        calls = torch_kernels.sdpa_ring_calls(plan)
        self.assertEqual(len(calls), 16)
        self.assertEqual(calls[(2, 0)][:3], ("all", "all", True))    # the local causal block
        self.assertEqual(calls[(2, 1)][:3], ("all", "head", False))  # source before the rank: all Q, K/V head half
        self.assertEqual(calls[(1, 3)][:3], ("tail", "all", False))  # source after: the Q tail, all K/V
        n = 1024
        self.assertEqual(calls[(1, 3)][3], torch_kernels.dense(n // 2, n, 128, 1))
        plan = torch_kernels.read_plan(f"{self.dir}/plan-causal-contiguous.json")
        plan["_path"] = "p"
        calls = torch_kernels.sdpa_ring_calls(plan)
        self.assertIsNone(calls[(1, 2)])  # source after the rank without a balancer: skipped
        plan = torch_kernels.read_plan(f"{self.dir}/plan-doc-ptrr.json")
        plan["_path"] = "p"
        with self.assertRaises(torch_kernels.PlanError):
            torch_kernels.sdpa_ring_calls(plan)

    def test_dry_run_files_load_and_fit(self):
        out = os.path.join(self.dir, "measured")
        plans = [f"{self.dir}/plan-causal-head_tail.json", f"{self.dir}/plan-causal-contiguous.json", f"{self.dir}/plan-doc-ptrr.json"]
        r = run(sys.executable, SCRIPT, *plans, "--out-dir", out, "--backward", "--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        self.assertIn("skipped plan-doc-ptrr on fa2", r.stdout)  # the SDPA ring cannot run a document mask
        files = sorted(os.listdir(out))
        self.assertIn("measured-plan-doc-ptrr-flex.json", files)
        self.assertIn("measured-plan-causal-head_tail-cudnn.json", files)
        doc = json.load(open(os.path.join(out, "measured-plan-causal-head_tail-fa3.json")))
        self.assertEqual(doc["strategy"]["text"], "head_tail + sdpa_ring/alltoall on fa3")
        self.assertEqual(len(doc["backward"]["steps"]), len(doc["steps"]))
        # cpsim reads them all and fits each kernel to its own samples.
        fitted = os.path.join(self.dir, "fitted.json")
        r = run(CPSIM, "calibrate", *[os.path.join(out, f) for f in files], "--hardware", "h100-sxm-8x", "--name", "h100-sxm-8x", "-o", fitted)
        self.assertEqual(r.returncode, 0, r.stderr)
        for kernel in ("fa2", "cudnn", "fa3", "flex"):
            self.assertRegex(r.stdout, rf"\n{kernel} +forward ")
            self.assertRegex(r.stdout, rf"\n{kernel} +backward ")
        profile = json.load(open(fitted))
        self.assertIn("fitted by cpsim calibrate", json.dumps(profile["kernels"]["flex"]["forward"]))
        # ... and validate compares the refit with the published record under the same hardware name.
        r = run(CPSIM, "validate", "--hardware", fitted)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_bad_arguments_are_refused(self):
        r = run(sys.executable, SCRIPT, f"{self.dir}/plan-doc-ptrr.json", "--out-dir", self.dir, "--kernels", "fa9", "--dry-run")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--kernels: unknown kernel 'fa9'", r.stderr)
        r = run(sys.executable, SCRIPT, f"{self.dir}/nothing.json", "--out-dir", self.dir, "--dry-run")
        self.assertEqual(r.returncode, 2)
        self.assertIn("nothing.json: cannot open", r.stderr)


if __name__ == "__main__":
    unittest.main()
