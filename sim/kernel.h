// Attention kernels as named data (fa2, cudnn, fa3, flex, cpsim, ...): per pass and head dim, the tile shape, the
// efficiency of a full tile's inner loop, the cost of a CTA and of a tile the mask cuts, and the launch; and
// which attention paths can call each one. The form that turns work into time is in sim/cost_model.h.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/profile_reader.h"

namespace cpsim {

// How a kernel is called, which decides the paths that can use it: a backend of PyTorch's SDPA (the SDPA ring),
// FlexAttention (its CP path and the block-sparse paths), a block-sparse kernel of cpsim's own (the block-sparse
// paths), or any path (the CPU executor's one routine).
enum class KernelInterface { kSdpa, kFlex, kBlockSparse, kAny };
std::string_view interface_name(KernelInterface interface);
std::optional<KernelInterface> parse_interface(std::string_view name);

// The head dims a kernel's constants are given at; others interpolate in log2(head dim) and take the nearest's tile.
inline constexpr std::array<std::int64_t, 3> kKernelHeadDims = {64, 128, 256};
// The nearest of kKernelHeadDims (by log2).
std::size_t head_dim_index(std::int64_t head_dim);

// One pass at one head dim. Time of a CTA = (cta_overhead_tiles + full tiles + partial_tile_cost x partial tiles)
// x a full tile's time, which is 4 x tile_q x tile_k x head_dim FLOPs (x the backward factor) at `efficiency` of
// one SM's share of the peak.
struct KernelConstants {
  std::int64_t tile_q = 0, tile_k = 0;  // queries and keys per tile; 0: the plan's block
  Sourced efficiency;                   // fraction of peak in a full tile's inner loop
  Sourced cta_overhead_tiles;           // per CTA: prologue, loading Q, writing O and LSE; in full-tile times
  Sourced partial_tile_cost;            // a tile the mask cuts (the causal diagonal), in full-tile times
};

struct KernelPass {
  std::array<KernelConstants, 3> by_hdim;  // at kKernelHeadDims
  Sourced launch_us;                       // per call, every kernel of the pass together
  // Backward's extra kernels (dot(dO, O) before, the fp32 dQ conversion after): HBM bytes per query, head and
  // head-dim element. 0 in forward.
  Sourced extra_bytes_per_element;
};

struct KernelSpec {
  std::string name;
  std::string description;
  KernelInterface interface = KernelInterface::kAny;
  KernelPass forward, backward;

  const KernelPass& pass(bool backward_pass) const { return backward_pass ? backward : forward; }
  // The constants at `head_dim`: the nearest given head dim's tile; efficiency and costs linear in log2(head dim)
  // between the given ones, clamped outside them.
  KernelConstants at(bool backward_pass, std::int64_t head_dim) const;
  // True when no constant is measured (all estimates): its predictions say so.
  bool estimated() const;
};

// Reads profile["kernels"][name]; `field` is "kernels.<name>".
Result<KernelSpec> read_kernel(const ProfileReader& pr, const Json& node, const std::string& name, const std::string& field);

}  // namespace cpsim
