// The load-balancer interface: a strategy that produces one rearrange permutation per batch row,
// with PyTorch's `_generate_indices(restore=False)` contract. Balancers are registered explicitly by
// name in balancer_registry.cpp; the name is what data files and the CLI use.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"
#include "workload.h"

namespace cpsim {

struct BalancerInput {
  const Workload& workload;
  std::int64_t world_size = 1;
  std::int64_t block_size = 128;  // tile / BlockMask block size, for block-granular balancers
  std::string source;             // the workload's file name, for error messages
  // Cost of a partial tile relative to a full one, for cost-aware balancers (a plan is made before a profile is
  // chosen): FlexAttention's per-element mask costs 15-20% (pytorch.org/blog/flexattention); the fitted H100 kernels
  // put it at 1.1 to 1.7 (`cpsim kernels`).
  double partial_tile_cost = 1.175;
};

using Permutation = std::vector<std::int64_t>;

// The layouts PyTorch's SDPA ring is written for (_is_causal_behavior in
// torch/distributed/tensor/experimental/_context_parallel/_attention.py): none, or the global head-tail chunks.
// Every other layout is kOther: FlexAttention's and the block-sparse paths' business.
enum class RingLayout { kOther, kContiguous, kHeadTail };

class Balancer {
 public:
  virtual ~Balancer() = default;
  virtual std::string_view name() const = 0;
  // One line: what it does and what it requires.
  virtual std::string_view summary() const = 0;
  // True for the balancers PyTorch ships (the baseline the others are measured against).
  virtual bool from_pytorch() const { return false; }
  // Which of the SDPA ring's layouts this is (what decides whether that path can run it, and how).
  virtual RingLayout ring_layout() const { return RingLayout::kOther; }
  // One rearrange permutation per batch row. An input the balancer cannot serve is an error that
  // explains why and what would fix it (where PyTorch would assert).
  virtual Result<std::vector<Permutation>> rearrange(const BalancerInput& input) const = 0;
};

std::unique_ptr<Balancer> make_contiguous_balancer();
std::unique_ptr<Balancer> make_head_tail_balancer();
std::unique_ptr<Balancer> make_per_document_head_tail_balancer();
std::unique_ptr<Balancer> make_ptrr_balancer();
std::unique_ptr<Balancer> make_striped_balancer();
std::unique_ptr<Balancer> make_striped_block_balancer();
std::unique_ptr<Balancer> make_cost_aware_balancer();
std::unique_ptr<Balancer> make_document_hybrid_balancer();

// All built-in balancers, in the order they are listed and compared.
const std::vector<std::unique_ptr<Balancer>>& balancer_registry();
const Balancer* find_balancer(std::string_view name);
// "all" (empty: every balancer), "pytorch" (PyTorch's own) or a comma-separated list of names (--balancers).
Result<std::vector<std::string>> parse_balancer_list(const std::string& spec);
std::string balancer_names();  // "contiguous, head_tail, ..." for messages
// The named balancer's ring_layout(); kOther for a name no balancer has (a plan file may carry any name).
RingLayout ring_layout_of(std::string_view balancer);

// Checks shared by every balancer: world size and S % W (rank-major sharding needs equal shards).
Status check_balancer_input(const BalancerInput& input);

// PyTorch's ptrr_scheduling: groups[g] lists the task indices dealt to group g (ascending).
// Requires costs.size() % groups == 0.
// Rank-major permutation from whole blocks: rank r's slots hold the blocks in groups[r], in that order.
Permutation permutation_from_blocks(const std::vector<std::vector<std::int64_t>>& groups, std::int64_t block);

std::vector<std::vector<std::int64_t>> ptrr_schedule(const std::vector<std::int64_t>& costs, std::int64_t groups);

}  // namespace cpsim
