"""The cpsim module against the CLI: the same indices and PLAN.json for every balancer and mask kind, the same
comparison as `compare --json`, the same errors (as cpsim.Error, a ValueError), and Workload/Plan round trips."""
import json

import numpy as np
import pytest

import cpsim
from conftest import MASK_ARGS, plan_fields, run_cli, workload


def test_workload_fields_and_json_round_trip(tmp):
    w = workload("sliding_window", q_heads=16, kv_heads=4, head_dim=64, dtype="fp16")
    assert (w.seq_len, w.rows, w.mask, w.window, w.q_heads, w.kv_heads, w.head_dim, w.dtype) == (8192, 2, "sliding_window", 700, 16, 4, 64, "fp16")
    assert w.documents[1] == [4096, 2048, 1024, 1024]
    back = cpsim.Workload.from_json(w.to_json())
    assert back.to_json() == w.to_json()
    w.save(str(tmp / "w.json"))
    assert cpsim.Workload.load(str(tmp / "w.json")).to_json() == w.to_json()
    # One flat row, from a list or a numpy array (any integer dtype).
    assert cpsim.Workload([4096] * 4).documents == [[4096] * 4]
    assert cpsim.Workload(np.full(4, 4096, dtype=np.int32)).documents == [[4096] * 4]
    assert cpsim.Workload([np.array([8192, 8192])]).seq_len == 16384


def test_plan_indices_are_numpy_int64_permutations():
    p = cpsim.plan(workload(), 4, "ptrr", predict=False)
    r, back = p.rearrange_indices, p.restore_indices
    assert r.dtype == np.int64 and r.shape == (2, 8192) and back.shape == (2, 8192)
    for row in range(2):
        assert np.array_equal(np.sort(r[row]), np.arange(8192))
        assert np.array_equal(back[row], np.argsort(r[row]))
    assert p.strategy is None and p.step_us is None and p.runtime is None
    assert p.rank_pairs.shape == (4,) and p.step_pairs.shape == (4, 4)
    assert p.rank_pairs.sum() == p.step_pairs.sum()
    assert np.array_equal(p.rank_tiles, (p.step_full_tiles + p.step_partial_tiles).sum(axis=1))


@pytest.mark.parametrize("mask", sorted(MASK_ARGS))
def test_every_balancer_matches_the_cli_plan_json(tmp, mask):
    w = workload(mask)
    path = tmp / "w.json"
    w.save(str(path))
    compared = 0
    for balancer in cpsim.balancers():
        out = tmp / f"{balancer}.json"
        cli = run_cli("plan", path, "-w", 4, "-b", balancer, "-o", out, check=False)
        if cli.returncode != 0:
            # The CLI refuses: so does the module, with the same message (flags named as keywords).
            with pytest.raises(cpsim.Error) as e:
                cpsim.plan(w, 4, balancer)
            cli_message = cli.stderr.strip().removeprefix("cpsim: error: ").split(" (see cpsim")[0]
            assert str(e.value).replace(str(path), "workload") in (cli_message.replace(str(path), "workload"),
                                                                    cli_message.replace(str(path), "workload").replace("--", "", 1).replace("-", "_", 1))
            continue
        p = cpsim.plan(w, 4, balancer)
        ours = plan_fields(p.to_json())
        theirs = plan_fields(out.read_text())
        assert ours["rearrange_indices"] == theirs["rearrange_indices"], balancer
        assert ours["restore_indices"] == theirs["restore_indices"], balancer
        assert np.array_equal(p.rearrange_indices, np.array(theirs["rearrange_indices"])), balancer
        assert ours == theirs, balancer  # strategy, prediction and work too
        compared += 1
    assert compared >= 5, f"only {compared} balancers could plan a {mask} workload"


def test_compare_matches_compare_json(tmp):
    w = workload()
    path = tmp / "w.json"
    w.save(str(path))
    ours = cpsim.compare(w, 8)
    theirs = json.loads(run_cli("compare", path, "-w", 8, "--json").stdout)
    for d in (ours, theirs):
        d.pop("workload")
    assert ours == theirs
    assert ours["ranked"][0]["step_us"] <= ours["ranked"][-1]["step_us"]
    assert ours["best_pytorch"]["strategy"]


def test_compare_scope_arguments(tmp):
    w = workload("causal")  # SDPA's ring (fa2) takes causal masks only
    path = tmp / "w.json"
    w.save(str(path))
    ours = cpsim.compare(w, 8, runtime="pytorch", balancers="pytorch", kernel="fa2", backward=True)
    theirs = json.loads(run_cli("compare", path, "-w", 8, "--runtime", "pytorch", "--kernel", "fa2", "--backward", "--json").stdout)
    assert all(c["runtime"] == "pytorch" and c["kernel"] == "fa2" for c in ours["ranked"])
    assert {c["balancer"] for c in ours["ranked"]} <= set(cpsim.pytorch_balancers())
    assert ours["ranked"][0]["strategy"] == next(c for c in theirs["ranked"] if c["pytorch"])["strategy"]


def test_choose_is_the_exported_plan(tmp):
    w = workload()
    path = tmp / "w.json"
    w.save(str(path))
    for runtime, flag in (("pytorch", ["--runtime", "pytorch"]), (None, [])):
        export = tmp / f"export-{runtime}"
        run_cli("compare", path, "-w", 8, *flag, "--export", export)
        (exported,) = export.iterdir()
        chosen = cpsim.choose(w, 8, runtime=runtime)
        assert plan_fields(chosen.to_json()) == plan_fields(exported.read_text())
        if runtime == "pytorch":
            assert chosen.runtime == "pytorch" and chosen.rotate in ("allgather", "alltoall")


def test_simulate_matches_simulate_json(tmp):
    w = workload("causal")
    path = tmp / "w.json"
    w.save(str(path))
    p = cpsim.plan(w, 4, "head_tail", strategy="head_tail + sdpa_ring/alltoall on fa2")
    assert p.strategy == "head_tail + sdpa_ring/alltoall on fa2" and p.rotate == "alltoall" and p.runtime == "pytorch"
    ours = cpsim.simulate(p, backward=True)
    theirs = json.loads(run_cli("simulate", path, "-w", 4, "--strategy", "head_tail + sdpa_ring/alltoall on fa2", "--backward",
                                "--json").stdout)
    for d in (ours, theirs):
        d.pop("workload")
    assert ours == theirs


def test_plan_json_round_trip_and_file(tmp):
    p = cpsim.choose(workload(), 4, runtime=None)
    back = cpsim.Plan.from_json(p.to_json())
    assert back.to_json() == p.to_json() and back.runtime == p.runtime and back.strategy == p.strategy
    p.save(str(tmp / "p.json"))
    loaded = cpsim.Plan.load(str(tmp / "p.json"))
    assert np.array_equal(loaded.rearrange_indices, p.rearrange_indices)
    assert "estimate" in run_cli("execute", tmp / "p.json", "--estimate").stdout.lower()  # the CLI reads what the module wrote


@pytest.mark.parametrize("call, message", [
    (lambda w: cpsim.plan(w, 7), "workload: seq_len: 8192 is not divisible by world size 7"),
    (lambda w: cpsim.plan(w, 0), "world_size: must be a positive number of ranks, got 0"),
    (lambda w: cpsim.plan(w, 4, "nope"), 'balancer: unknown balancer "nope"'),
    (lambda w: cpsim.plan(w, 4, hardware="tpu"), 'hardware: unknown profile "tpu"'),
    (lambda w: cpsim.plan(w, 4, block_size=-1), "block_size:"),
    (lambda w: cpsim.plan(w, 4, strategy="head_tail + warp/allgather"), "--strategy" if False else "strategy"),
    (lambda w: cpsim.plan(w, 4, "ptrr", strategy="head_tail + sdpa_ring/allgather"), "balancer: ptrr differs from the balancer of strategy"),
    (lambda w: cpsim.compare(w, 4, runtime="jax"), "runtime:"),
    (lambda w: cpsim.compare(w, 4, balancers=["head_tail", "x"]), 'balancers: unknown balancer "x"'),
    (lambda w: cpsim.choose(w, 4, kernel="fa9"), "fa9"),
    (lambda w: cpsim.Workload([[5, -1]]), "workload: documents[0][1]: document length must be positive, got -1"),
    (lambda w: cpsim.Workload([[8, 8]], "diagonal"), 'workload: mask: unknown mask kind "diagonal"'),
    (lambda w: cpsim.Workload([[8, 8]], "sliding_window"), "window"),
    (lambda w: cpsim.Workload([[8, 8], [8]]), "workload: documents[1]"),
    (lambda w: cpsim.Workload.from_json("{"), "workload:"),
    (lambda w: cpsim.Workload.from_json('{"schema_version": 9}'), "schema_version"),
    (lambda w: cpsim.Plan.from_json("[]"), "plan:"),
    (lambda w: cpsim.Workload.load("/dev/null"), "/dev/null"),
    (lambda w: cpsim.Workload.from_lengths([10, 0], 64), "lengths[1]: 0 is not a document length"),
    (lambda w: cpsim.Workload.from_lengths([100], 64, pack="ffd"), "64"),
])
def test_errors_are_cpsim_errors_with_one_line_messages(call, message):
    with pytest.raises(cpsim.Error) as e:
        call(workload())
    assert isinstance(e.value, ValueError)
    text = str(e.value)
    assert message in text and "\n" not in text and not text.startswith("--"), text


def test_wrong_types_are_type_errors():
    with pytest.raises(TypeError):
        cpsim.Workload(5)
    with pytest.raises(TypeError):
        cpsim.Workload([["a", "b"]])
    with pytest.raises(TypeError):
        cpsim.plan("not a workload", 4)


def test_hostile_values_are_refused_not_crashed(tmp):
    huge = 1 << 40
    for docs in ([[huge]], [[1] * 10, [huge]], [[-(1 << 62), (1 << 62) + 8]]):
        with pytest.raises(cpsim.Error):
            cpsim.Workload(docs)
    with pytest.raises(cpsim.Error, match="documents.0..0.: 1180591620717411303424 .int. is out of range"):
        cpsim.Workload([[1 << 70]])
    w = workload()
    for bad in (1 << 40, -3):
        with pytest.raises(cpsim.Error):
            cpsim.plan(w, bad)
    with pytest.raises(cpsim.Error):
        w.save(str(tmp))  # a folder
    deep = "[" * 100000 + "]" * 100000
    with pytest.raises(cpsim.Error):
        cpsim.Workload.from_json(deep)
    with pytest.raises(cpsim.Error):
        cpsim.Plan.from_json('{"schema_version": 1, "nan": NaN}')


def test_from_lengths_packs_as_import_does(tmp):
    rng = np.random.default_rng(3)
    lengths = rng.integers(50, 5000, 300)
    w = cpsim.Workload.from_lengths(lengths, 16384, rows=4)
    (tmp / "l.txt").write_text("\n".join(map(str, lengths)) + "\n")
    run_cli("import", tmp / "l.txt", "--seq-len", 16384, "--rows", 4, "-o", tmp / "w.json")
    assert w.documents == cpsim.Workload.load(str(tmp / "w.json")).documents
    assert all(sum(row) == 16384 for row in w.documents)


def test_torch_adapter_imports_without_torch_until_used():
    import subprocess
    import sys

    code = "import sys, cpsim, cpsim.torch; assert 'torch' not in sys.modules or sys.modules['torch'].__name__ != 'torch'; print('ok')"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr


@pytest.mark.parametrize("call, message", [
    (lambda w: cpsim.plan(w, 8.5), "world_size: expected an integer, got 8.5 (float)"),
    (lambda w: cpsim.plan(w, True), "world_size: expected an integer, got True (bool)"),
    (lambda w: cpsim.plan(w, float("nan")), "world_size: expected an integer"),
    (lambda w: cpsim.plan(w, "8"), "world_size: expected an integer, got '8' (str)"),
    (lambda w: cpsim.plan(w, 4, 5), "balancer: expected a string or None"),
    (lambda w: cpsim.plan(w, 4, backward="yes"), "backward: expected True or False"),
    (lambda w: cpsim.plan([4096], 4), "workload: expected a cpsim.Workload"),
    (lambda w: cpsim.compare(w, 4, ulysses_degrees=[2.7]), "ulysses_degrees[0]: expected an integer"),
    (lambda w: cpsim.Workload(None), "documents: expected one sequence"),
    (lambda w: cpsim.Workload([4096], mask=None), "mask: expected a string"),
    (lambda w: cpsim.Workload([4096], q_heads=32.0), "q_heads: expected an integer, got 32.0 (float)"),
    (lambda w: cpsim.Workload([True, True]), "expected an integer, got True (bool)"),
    (lambda w: cpsim.Workload(np.ones(4)), "documents: expected a 1-D array of integers, got a 1-D float64 array"),
    (lambda w: cpsim.Plan.from_json(b"{}"), "text: expected a string, got b'{}' (bytes)"),
    (lambda w: w.save(3), "path: expected a path (str or os.PathLike), got 3 (int)"),
])
def test_wrong_types_are_one_line_type_errors_naming_the_argument(call, message):
    with pytest.raises(TypeError) as e:
        call(workload())
    assert message in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_values_the_cli_refuses_are_refused():
    w = workload()
    for call, message in ((lambda: cpsim.plan(w, 2**70), "world_size: 1180591620717411303424 is out of range"),
                          (lambda: cpsim.compare(w, 4, ulysses_degrees=[0]), "ulysses_degrees[0]: 0 is not a Ulysses degree"),
                          (lambda: cpsim.Workload.from_lengths([100], 64, rows=-1), "rows: -1 is not a number of rows"),
                          (lambda: cpsim.Workload.from_lengths([10000], 4096, pack="ffd"), "pass split_long")):
        with pytest.raises(cpsim.Error) as e:
            call()
        assert message in str(e.value) and "--" not in str(e.value), str(e.value)


def test_paths_may_be_pathlike_and_workloads_compare_by_content(tmp):
    w = workload()
    w.save(tmp / "w.json")
    back = cpsim.Workload.load(tmp / "w.json")
    assert back == w and hash(back) == hash(w) and back != workload("causal") and w != "w"
    p = cpsim.plan(w, 4, "ptrr")
    p.save(tmp / "p.json")
    assert cpsim.Plan.load(tmp / "p.json").to_json() == p.to_json()


def test_a_plan_whose_world_size_was_edited_keeps_no_stale_prediction():
    p = json.loads(cpsim.choose(workload(), 8).to_json())
    p["world_size"] = 4
    with pytest.raises(cpsim.Error) as e:
        cpsim.Plan.from_json(json.dumps(p))
    assert "predicted.forward_compute_us: expected 4 rows" in str(e.value)
    p = json.loads(cpsim.choose(workload(), 8).to_json())
    p["predicted"]["step_us"] = -1
    with pytest.raises(cpsim.Error, match="predicted.step_us: expected a non-negative time"):
        cpsim.Plan.from_json(json.dumps(p))
