// Every size cpsim accepts, in one place (docs/reliability.md, "Limits", has what each costs). Inputs are
// checked against these before anything is computed, so that every product of sizes fits in 64 bits and no
// request can exhaust the machine's memory or time.
#pragma once

#include <cstdint>

namespace cpsim {

// Tokens of one workload, rows x seq_len: 16,777,216. `compare` at 16M tokens and W = 64 needs about 2 GB and
// 16 s on one core; its PLAN.json is about 280 MB.
inline constexpr std::int64_t kMaxTokens = std::int64_t{1} << 24;
// Ranks of one plan (the CP degree), and so the largest Ulysses degree and stage count.
inline constexpr std::int64_t kMaxWorldSize = 1024;
// Attention heads (q or kv) and head dimension: products such as tokens x heads x dim x 8 bytes stay below 2^63.
inline constexpr std::int64_t kMaxHeads = 16384;
inline constexpr std::int64_t kMaxHeadDim = 16384;
// The tile and BlockMask block size.
inline constexpr std::int64_t kMaxBlockSize = std::int64_t{1} << 20;
// Non-empty tiles of a workload at its block size (in original order, summed over rows): the work account's
// time grows with them (the 131,072-token workload at T = 1 has 1.1e9 and takes 2.6 s per balancer, 10 s
// for token striping).
inline constexpr std::int64_t kMaxTiles = std::int64_t{1} << 30;
// The largest file cpsim reads: a PLAN.json of 16M tokens is about 280 MB.
inline constexpr std::int64_t kMaxInputBytes = std::int64_t{512} << 20;
// Nesting of a JSON document: cpsim's files nest a few levels; anything deeper is refused before it is parsed
// (so no recursive copy or dump of a hostile document can exhaust the stack).
inline constexpr int kMaxJsonDepth = 64;
// Workloads `cpsim generate --batches` writes, and worker threads of `cpsim batch`.
inline constexpr std::int64_t kMaxBatches = 1000000;
inline constexpr std::int64_t kMaxJobs = 256;
// Ranks the CPU thread executor runs as threads of one process (more: run them as MPI processes).
inline constexpr std::int64_t kMaxThreadRanks = 256;

}  // namespace cpsim
