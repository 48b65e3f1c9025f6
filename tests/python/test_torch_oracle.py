"""PyTorch as the oracle for cpsim's copies of PyTorch's own load balancers.

For hundreds of seeded random workloads (every mask kind, W in {1,2,4,8,16}, block sizes {16,32,64,128}, 1 to 3 batch
rows) this compares cpsim.plan(..., "head_tail" | "per_document_head_tail" | "ptrr").rearrange_indices and
.restore_indices with what torch's _HeadTailLoadBalancer, _PerDocumentHeadTailLoadBalancer and _PTRRLoadBalancer
(on a create_block_mask BlockMask of the same mask) return from _generate_indices(restore=False/True) on CPU.
Where torch refuses (AssertionError / NotImplementedError, or returns something that is no permutation of 0..S-1),
cpsim must refuse too, with cpsim.Error. Also checks the golden vectors of shared/reference/pytorch-cp.md section 9.

Run: PYTHONPATH=build/py/python python -m pytest -q tests/python/test_torch_oracle.py
"""
from __future__ import annotations

import collections
import math

import numpy as np
import pytest

cpsim = pytest.importorskip("cpsim")
torch = pytest.importorskip("torch")
try:
    from torch.distributed.tensor.experimental._context_parallel import _load_balancer as lbm
    from torch.nn.attention.flex_attention import create_block_mask
except ImportError as e:  # pragma: no cover - a torch without the CP package split
    pytest.skip(f"this torch has no context-parallel load balancers: {e}", allow_module_level=True)

BALANCERS = ("head_tail", "per_document_head_tail", "ptrr")
DOCUMENT_KINDS = ("document_causal", "document_full", "document_sliding_window")
WORLD_SIZES = (1, 2, 4, 8, 16)
BLOCK_SIZES = (16, 32, 64, 128)
CASES_PER_KIND = 50          # x 7 mask kinds
BIG_KINDS = ("causal", "document_causal", "prefix_lm")  # one workload each at S = 16384
SEED = 20260601


# ---------------------------------------------------------------------------------------------------------------------
# Mask mods: cpsim's key intervals (core/mask.h): query q sees keys [lo(q), hi(q)] with lo(q) = max(L, q - w + 1) and
# hi(q) = max(q, H), L = document start (or 0), H = -1 (causal kinds), last key of the document/row (full kinds) or
# prefix - 1 (prefix_lm), w = window (sliding kinds) or unbounded.
# ---------------------------------------------------------------------------------------------------------------------
def mask_mod_for(kind: str, rows: list[list[int]], seq_len: int, window: int = 0, prefix: int = 0):
    doc_id = torch.stack([torch.repeat_interleave(torch.arange(len(r)), torch.tensor(r)) for r in rows])  # (B, S)

    def same_doc(b, q, k):
        return doc_id[b, q] == doc_id[b, k]

    if kind == "causal":
        return lambda b, h, q, k: q >= k
    if kind == "full":
        return lambda b, h, q, k: q >= 0  # every key (q >= 0 is a True tensor of the right shape)
    if kind == "document_causal":
        return lambda b, h, q, k: same_doc(b, q, k) & (q >= k)
    if kind == "document_full":
        return lambda b, h, q, k: same_doc(b, q, k)
    if kind == "sliding_window":
        return lambda b, h, q, k: (q >= k) & (q - k < window)
    if kind == "document_sliding_window":
        return lambda b, h, q, k: same_doc(b, q, k) & (q >= k) & (q - k < window)
    if kind == "prefix_lm":
        return lambda b, h, q, k: (q >= k) | (k < prefix)  # hi(q) = max(q, prefix - 1), lo = 0
    raise AssertionError(f"unknown mask kind {kind}")


# ---------------------------------------------------------------------------------------------------------------------
# Seeded random workloads
# ---------------------------------------------------------------------------------------------------------------------
Case = collections.namedtuple("Case", "id kind W T rows seq_len window prefix mask_rows variant")


def split_into_documents(rng, total: int, unit: int) -> list[int]:
    """A random split of `total` tokens (a multiple of `unit`) into documents that are multiples of `unit`, with
    lognormal lengths (a few long documents, many short ones)."""
    units = total // unit
    docs = []
    while units > 0:
        take = int(min(units, max(1, round(rng.lognormal(mean=math.log(max(1.0, units / 4)), sigma=1.0)))))
        docs.append(take * unit)
        units -= take
    rng.shuffle(docs)
    return docs


def perturb_documents(rng, docs: list[int], step: int) -> list[int]:
    """Moves a few tokens (not a multiple of `step`) from one document to its neighbour, keeping the sum."""
    docs = list(docs)
    if len(docs) < 2:
        if docs[0] < 2:
            return docs
        cut = int(rng.integers(1, docs[0]))
        return [cut, docs[0] - cut] if cut % step else [cut + 1, docs[0] - cut - 1] if docs[0] - cut > 1 else docs
    i = int(rng.integers(0, len(docs) - 1))
    movable = docs[i] - 1
    if movable < 1:
        return docs
    delta = int(rng.integers(1, movable + 1))
    if delta % step == 0:
        delta -= 1
    if delta < 1:
        return docs
    docs[i] -= delta
    docs[i + 1] += delta
    return docs


def make_case(rng, case_id: int, kind: str, big: bool = False) -> Case:
    W = int(rng.choice(WORLD_SIZES))
    T = int(rng.choice(BLOCK_SIZES))
    B = int(rng.integers(1, 4))
    if big and kind in DOCUMENT_KINDS:
        B = 1  # a (B, S, S) mask at 16384 costs seconds per row in create_block_mask
    unit = W * T  # T is even, so W*T is a multiple of 2W: such S suits all three balancers
    if big:
        seq_len = 16384
    else:
        limit = max(1, 4096 // unit)
        seq_len = unit * int(rng.integers(1, limit + 1))
    variant = "valid"
    roll = rng.random()
    if roll < 0.12 and W > 1:
        # Too few (or a non-multiple of W) blocks for PTRR; S still a multiple of 2W.
        blocks = int(rng.integers(1, 3 * W)) if W > 2 else 1
        if blocks % W == 0:
            blocks += 1
        seq_len, variant = blocks * T, "blocks_not_divisible_by_W"
    elif roll < 0.20:
        # S a multiple of 2W but not of T (PTRR's BlockMask pads the last block).
        seq_len = max(2 * W, seq_len - 2 * W * int(rng.integers(1, 4)))
        if seq_len % T == 0:
            seq_len += 2 * W
        variant = "S_not_multiple_of_T"
    elif roll < 0.26:
        # S not a multiple of 2W: head-tail and per-document head-tail refuse.
        seq_len = seq_len + int(rng.integers(1, 2 * W)) if W > 1 else seq_len + 1
        variant = "S_not_multiple_of_2W"
    doc_unit = 2 * W if seq_len % (2 * W) == 0 else 1
    rows = [split_into_documents(rng, seq_len, doc_unit) for _ in range(B)]
    if variant == "valid" and rng.random() < 0.15:
        r = int(rng.integers(0, B))
        rows[r] = perturb_documents(rng, rows[r], 2 * W)
        variant = "document_not_multiple_of_2W"
    window = prefix = 0
    if kind in ("sliding_window", "document_sliding_window"):
        window = int(rng.choice([1, max(1, T // 2), T, 3 * T + 5, max(1, seq_len // 3), seq_len, 2 * seq_len]))
    if kind == "prefix_lm":
        prefix = int(rng.choice([0, 1, T, int(rng.integers(0, seq_len + 1)), seq_len]))
    # PyTorch's BlockMask batch: one row for masks without documents (shared), else one per batch row.
    mask_rows = B if kind in DOCUMENT_KINDS or (not big and rng.random() < 0.3) else 1
    return Case(case_id, kind, W, T, rows, seq_len, window, prefix, mask_rows, variant)


def all_cases() -> list[Case]:
    rng = np.random.default_rng(SEED)
    cases = []
    for i in range(CASES_PER_KIND):
        for kind in cpsim.mask_kinds():
            cases.append(make_case(rng, len(cases), kind))
    for kind in BIG_KINDS:
        cases.append(make_case(rng, len(cases), kind, big=True))
    return cases


# ---------------------------------------------------------------------------------------------------------------------
# The oracle
# ---------------------------------------------------------------------------------------------------------------------
def torch_indices(case: Case, balancer: str):
    """(rearrange, restore) as int64 numpy arrays, or raises what torch raises."""
    if balancer == "head_tail":
        lb = lbm._HeadTailLoadBalancer(case.seq_len, case.W, torch.device("cpu"))
    elif balancer == "per_document_head_tail":
        lb = lbm._PerDocumentHeadTailLoadBalancer(case.rows, case.W, torch.device("cpu"))
    else:
        mask_mod = mask_mod_for(case.kind, case.rows[: case.mask_rows], case.seq_len, case.window, case.prefix)
        block_mask = create_block_mask(mask_mod, case.mask_rows, 1, case.seq_len, case.seq_len, device="cpu",
                                       BLOCK_SIZE=case.T)
        lb = lbm._PTRRLoadBalancer(block_mask, case.W)
    return (lb._generate_indices(restore=False).numpy().astype(np.int64),
            lb._generate_indices(restore=True).numpy().astype(np.int64))


def cpsim_plan(case: Case, balancer: str):
    w = cpsim.Workload(case.rows, mask=case.kind, window=case.window, prefix=case.prefix)
    return cpsim.plan(w, case.W, balancer, block_size=case.T, predict=False)


def describe(case: Case) -> str:
    extra = f" window={case.window}" if case.window else ""
    extra += f" prefix={case.prefix}" if case.kind == "prefix_lm" else ""
    return (f"case {case.id} ({case.variant}): mask={case.kind}{extra} W={case.W} T={case.T} S={case.seq_len} "
            f"rows={case.rows} (BlockMask rows {case.mask_rows})")


def is_permutation_rows(a: np.ndarray, seq_len: int) -> bool:
    return a.ndim == 2 and a.shape[1] == seq_len and all(np.array_equal(np.sort(r), np.arange(seq_len)) for r in a)


def first_difference(ours: np.ndarray, theirs: np.ndarray) -> str:
    shape = np.broadcast_shapes(ours.shape, theirs.shape)
    a, b = np.broadcast_to(ours, shape), np.broadcast_to(theirs, shape)
    row, col = map(int, np.argwhere(a != b)[0])
    return f"row {row} index {col}: cpsim {int(a[row, col])}, torch {int(b[row, col])}"


def run_case(case: Case, balancer: str) -> dict:
    rec = {"case": case, "balancer": balancer, "comparisons": 0}
    try:
        expected = torch_indices(case, balancer)
        why_torch = None
        if not (is_permutation_rows(expected[0], case.seq_len) and is_permutation_rows(expected[1], case.seq_len)):
            why_torch = (f"torch returned shape {tuple(expected[0].shape)}, not a permutation of 0..{case.seq_len - 1} "
                         "per row")
    except (AssertionError, NotImplementedError) as e:
        why_torch = f"torch raised {type(e).__name__}({str(e)!r})"
    try:
        plan = cpsim_plan(case, balancer)
        ours, why_cpsim = (plan.rearrange_indices, plan.restore_indices), None
    except cpsim.Error as e:
        ours, why_cpsim = None, f"cpsim.Error: {e}"

    if why_torch is not None:
        rec["outcome"] = "refusal_matched" if why_cpsim is not None else "refusal_mismatch"
        rec["detail"] = (f"{describe(case)} {balancer}: {why_torch}; "
                         + (why_cpsim if why_cpsim else f"but cpsim accepted it (shape {ours[0].shape})"))
        return rec
    if why_cpsim is not None:
        rec["outcome"], rec["detail"] = "cpsim_refused", f"{describe(case)} {balancer}: torch accepted; {why_cpsim}"
        return rec
    problems = []
    for name, mine, theirs in (("rearrange", ours[0], expected[0]), ("restore", ours[1], expected[1])):
        rec["comparisons"] += 1
        if mine.dtype != np.int64 or mine.ndim != 2 or mine.shape[1] != case.seq_len or \
                mine.shape[0] not in (1, len(case.rows)):
            problems.append(f"{name}: cpsim shape {mine.shape} dtype {mine.dtype}")
            continue
        try:
            same = np.array_equal(*np.broadcast_arrays(mine, theirs))
        except ValueError:
            problems.append(f"{name}: shapes cpsim {mine.shape} vs torch {theirs.shape} do not broadcast")
            continue
        if not same:
            problems.append(f"{name}: first difference at {first_difference(mine, theirs)}")
    rec["outcome"] = "differ" if problems else "match"
    rec["detail"] = f"{describe(case)} {balancer}: " + "; ".join(problems)
    return rec


@pytest.fixture(scope="module")
def oracle():
    torch.set_num_threads(1)
    cases = all_cases()
    return cases, [run_case(case, balancer) for case in cases for balancer in BALANCERS]


@pytest.mark.parametrize("balancer", BALANCERS)
@pytest.mark.parametrize("kind", ["causal", "full", "document_causal", "document_full", "sliding_window",
                                  "document_sliding_window", "prefix_lm"])
def test_matches_torch(oracle, kind, balancer):
    _, records = oracle
    mine = [r for r in records if r["case"].kind == kind and r["balancer"] == balancer]
    assert mine, "no cases generated"
    bad = [r["detail"] for r in mine if r["outcome"] not in ("match", "refusal_matched")]
    assert not bad, f"{len(bad)} of {len(mine)} cases disagree with torch; first: {bad[0]}"
    assert any(r["outcome"] == "match" for r in mine), f"{kind} {balancer}: no case was compared"


def test_generator_covers_the_matrix(oracle):
    cases, records = oracle
    assert {c.W for c in cases} == set(WORLD_SIZES)
    assert {c.T for c in cases} == set(BLOCK_SIZES)
    assert {len(c.rows) for c in cases} == {1, 2, 3}
    assert {c.kind for c in cases} == set(cpsim.mask_kinds())
    assert any(c.seq_len == 16384 for c in cases)
    outcomes = collections.Counter((r["balancer"], r["outcome"]) for r in records)
    for balancer in BALANCERS:  # refusals of every balancer are exercised, not only acceptances
        assert outcomes[(balancer, "refusal_matched")] > 0, f"no refusal case for {balancer}: {outcomes}"
        assert outcomes[(balancer, "match")] > 0, f"no compared case for {balancer}: {outcomes}"


# ---------------------------------------------------------------------------------------------------------------------
# Golden vectors of shared/reference/pytorch-cp.md section 9: both torch and cpsim must give them.
# ---------------------------------------------------------------------------------------------------------------------
def cpsim_indices(rows, W, balancer, mask="document_causal", T=128):
    p = cpsim.plan(cpsim.Workload(rows, mask=mask), W, balancer, block_size=T, predict=False)
    return p.rearrange_indices.tolist(), p.restore_indices.tolist()


def torch_ht(S, W, restore=False):
    return lbm._HeadTailLoadBalancer(S, W, torch.device("cpu"))._generate_indices(restore=restore).tolist()


HEAD_TAIL_GOLDEN = [
    (8, 2, [0, 1, 6, 7, 2, 3, 4, 5], [0, 1, 4, 5, 6, 7, 2, 3]),
    (8, 4, [0, 7, 1, 6, 2, 5, 3, 4], [0, 2, 4, 6, 7, 5, 3, 1]),
    (16, 2, [0, 1, 2, 3, 12, 13, 14, 15, 4, 5, 6, 7, 8, 9, 10, 11], None),
    (12, 3, [0, 1, 10, 11, 2, 3, 8, 9, 4, 5, 6, 7], None),
]


@pytest.mark.parametrize("S,W,rearrange,restore", HEAD_TAIL_GOLDEN)
def test_golden_head_tail(S, W, rearrange, restore):
    assert torch_ht(S, W) == [rearrange]
    ours = cpsim_indices([[S]], W, "head_tail", mask="causal")
    assert ours[0] == [rearrange]
    if restore is not None:
        assert torch_ht(S, W, restore=True) == [restore]
        assert ours[1] == [restore]


def test_golden_head_tail_refusal():
    with pytest.raises(AssertionError):
        torch_ht(10, 2)
    assert lbm._create_default_load_balancer(10, 2, "cpu") is None
    with pytest.raises(cpsim.Error, match="not divisible by 2\\*W"):
        cpsim_indices([[10]], 2, "head_tail", mask="causal")


@pytest.mark.parametrize("docs,rearrange,restore", [
    ([4, 8, 4], [0, 3, 4, 5, 10, 11, 12, 15, 1, 2, 6, 7, 8, 9, 13, 14], [0, 8, 9, 1, 2, 3, 10, 11, 12, 13, 4, 5, 6, 14, 15, 7]),
    ([4, 12], [0, 3, 4, 5, 6, 13, 14, 15, 1, 2, 7, 8, 9, 10, 11, 12], None),
])
def test_golden_per_document(docs, rearrange, restore):
    lb = lbm._PerDocumentHeadTailLoadBalancer([docs], 2, torch.device("cpu"))
    assert lb._generate_indices().tolist() == [rearrange]
    ours = cpsim_indices([docs], 2, "per_document_head_tail")
    assert ours[0] == [rearrange]
    if restore is not None:
        assert lb._generate_indices(restore=True).tolist() == [restore]
        assert ours[1] == [restore]


def test_golden_per_document_refusal():
    with pytest.raises(AssertionError):
        lbm._PerDocumentHeadTailLoadBalancer([[4, 6]], 2, torch.device("cpu"))._generate_indices()
    with pytest.raises(cpsim.Error, match="not a multiple of 2\\*W"):
        cpsim_indices([[4, 6]], 2, "per_document_head_tail")


def test_golden_ptrr_scheduling():
    """Vectors 8 and 10 exercise torch's scheduler alone (no workload has these block costs); they pin the oracle."""
    groups = lbm._PTRRLoadBalancer.ptrr_scheduling(
        torch.tensor([9, 14, 2, 20, 10, 15, 8, 14, 16, 19, 15, 3, 12, 1, 12, 10]), 4)
    assert groups.tolist() == [[3, 12, 13, 14], [2, 4, 7, 9], [1, 8, 11, 15], [0, 5, 6, 10]]
    with pytest.raises(NotImplementedError, match="num_tasks 1 must be divisible by group_size 2"):
        lbm._PTRRLoadBalancer.ptrr_scheduling(torch.tensor([5]), 2)


@pytest.mark.parametrize("T", [2, 16])
def test_golden_ptrr_document_mask(T):
    """Vector 9: documents of 4, 8 and 4 blocks (block costs 1..4, 1..8, 1..4), W=2."""
    blocks = [2, 3, 5, 6, 8, 11, 12, 13, 0, 1, 4, 7, 9, 10, 14, 15]
    block_restore = [8, 9, 0, 1, 10, 2, 3, 11, 4, 12, 13, 5, 6, 7, 14, 15]
    rearrange = [b * T + o for b in blocks for o in range(T)]
    restore = [block_restore[p // T] * T + p % T for p in range(16 * T)]
    docs = [4 * T, 8 * T, 4 * T]
    ours = cpsim_indices([docs], 2, "ptrr", T=T)
    assert ours == ([rearrange], [restore])
    if T >= 16:  # FlexAttention's BlockMask wants blocks of at least 16 on CPU in some releases; T=2 is cpsim only
        bm = create_block_mask(mask_mod_for("document_causal", [docs], 16 * T), 1, 1, 16 * T, 16 * T, device="cpu",
                               BLOCK_SIZE=T)
        costs = (bm.kv_num_blocks + bm.full_kv_num_blocks).reshape(-1).tolist()
        assert costs == [1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4]
        lb = lbm._PTRRLoadBalancer(bm, 2)
        assert lb._generate_indices().tolist() == [rearrange]
        assert lb._generate_indices(restore=True).tolist() == [restore]


def test_golden_ptrr_single_document_is_head_tail():
    """Vector 11's layout: one causal document of 4 blocks of 32, W=2, gives head-tail."""
    expected = list(range(0, 32)) + list(range(96, 128)) + list(range(32, 96))
    assert cpsim_indices([[128]], 2, "ptrr", mask="causal", T=32)[0] == [expected]
    assert torch_ht(128, 2) == [expected]


def test_golden_ptrr_refusal():
    bm = create_block_mask(mask_mod_for("causal", [[128]], 128), 1, 1, 128, 128, device="cpu", BLOCK_SIZE=128)
    with pytest.raises(NotImplementedError, match="must be divisible by group_size"):
        lbm._PTRRLoadBalancer(bm, 2)._generate_indices()
    with pytest.raises(cpsim.Error, match="not divisible by world size 2"):
        cpsim_indices([[128]], 2, "ptrr", mask="causal", T=128)


# ---------------------------------------------------------------------------------------------------------------------
def test_zz_summary(oracle, capsys):
    """Last in the file: one line with the counts (shown with -q too), and the assertion that nothing differed."""
    cases, records = oracle
    counts = collections.Counter(r["outcome"] for r in records)
    comparisons = sum(r["comparisons"] for r in records)
    line = (f"torch oracle: {len(cases)} workloads, {len(records)} balancer runs, {comparisons} index comparisons, "
            f"{counts['differ']} differ; {counts['refusal_matched']} refusals matched, "
            f"{counts['refusal_mismatch']} torch-only refusals, {counts['cpsim_refused']} cpsim-only refusals")
    with capsys.disabled():
        print("\n" + line)
    bad = [r["detail"] for r in records if r["outcome"] not in ("match", "refusal_matched")]
    assert not bad, line + "\nfirst: " + "\n".join(bad[:5])
