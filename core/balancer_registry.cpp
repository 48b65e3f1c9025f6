// Explicit registration of the built-in balancers, and the checks every balancer shares.
#include "balancer.h"

#include <sstream>

namespace cpsim {

const std::vector<std::unique_ptr<Balancer>>& balancer_registry() {
  static const std::vector<std::unique_ptr<Balancer>> registry = [] {
    std::vector<std::unique_ptr<Balancer>> all;
    all.push_back(make_contiguous_balancer());
    all.push_back(make_head_tail_balancer());
    all.push_back(make_per_document_head_tail_balancer());
    all.push_back(make_ptrr_balancer());
    all.push_back(make_striped_balancer());
    all.push_back(make_striped_block_balancer());
    all.push_back(make_cost_aware_balancer());
    all.push_back(make_document_hybrid_balancer());
    return all;
  }();
  return registry;
}

const Balancer* find_balancer(std::string_view name) {
  for (const auto& b : balancer_registry()) {
    if (b->name() == name) return b.get();
  }
  return nullptr;
}

std::string balancer_names() {
  std::string out;
  for (const auto& b : balancer_registry()) {
    if (!out.empty()) out += ", ";
    out += b->name();
  }
  return out;
}

RingLayout ring_layout_of(std::string_view balancer) {
  const Balancer* b = find_balancer(balancer);
  return b == nullptr ? RingLayout::kOther : b->ring_layout();
}

Permutation permutation_from_blocks(const std::vector<std::vector<std::int64_t>>& groups, std::int64_t block) {
  Permutation perm;
  for (const auto& group : groups) {
    for (const std::int64_t b : group) {
      for (std::int64_t i = 0; i < block; ++i) perm.push_back(b * block + i);
    }
  }
  return perm;
}

Status check_balancer_input(const BalancerInput& in) {
  if (in.world_size <= 0) {
    return bad_input("--world-size: must be a positive number of ranks, got " + std::to_string(in.world_size));
  }
  if (in.block_size <= 0) {
    return bad_input("--block-size: must be a positive number of tokens, got " + std::to_string(in.block_size));
  }
  const std::int64_t s = in.workload.seq_len;
  if (s % in.world_size != 0) {
    return bad_input(in.source + ": seq_len: " + std::to_string(s) + " is not divisible by world size " +
                     std::to_string(in.world_size) + " (rank-major sharding gives every rank S/W tokens)");
  }
  return Ok{};
}

Result<std::vector<std::string>> parse_balancer_list(const std::string& spec) {
  std::vector<std::string> out;
  if (spec == "all") return out;
  if (spec == "pytorch") {
    for (const auto& b : balancer_registry()) {
      if (b->from_pytorch()) out.emplace_back(b->name());
    }
    return out;
  }
  std::stringstream in(spec);
  for (std::string name; std::getline(in, name, ',');) {
    if (find_balancer(name) == nullptr) {
      return bad_input("--balancers: unknown balancer \"" + name + "\" (expected all, pytorch or some of: " + balancer_names() + ")");
    }
    out.push_back(name);
  }
  return out;
}

}  // namespace cpsim
