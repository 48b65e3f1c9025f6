// One comparison per world size, and what each W gives per GPU (see sweep.h).
#include "sim/sweep.h"

#include <algorithm>

#include "core/plan.h"
#include "core/text_format.h"

namespace cpsim {
namespace {

constexpr double kActivationBytesPerTokenHidden = 34;  // Korthikanti et al. 2022, eq. 1 (bf16, FlashAttention)

SweepPick pick_of(const Candidate& c, const Workload& w, std::int64_t world_size, const SweepOptions& o, double gpu_bytes) {
  SweepPick p;
  p.candidate = c;
  const double tokens = static_cast<double>(w.rows()) * static_cast<double>(w.seq_len);
  p.tokens_per_s_per_gpu = c.metrics.step_us > 0 ? tokens / (c.metrics.step_us * 1e-6) / static_cast<double>(world_size) : 0;
  const double hidden = static_cast<double>(w.model.q_heads * w.model.head_dim);
  p.memory_bytes = c.metrics.peak_memory_bytes +
                   kActivationBytesPerTokenHidden * hidden * static_cast<double>(o.layers) * tokens / static_cast<double>(world_size);
  p.fits = p.memory_bytes + o.reserve_bytes <= gpu_bytes;
  return p;
}

}  // namespace

Result<Sweep> sweep_world_sizes(const Workload& workload, const std::string& source, const HardwareProfile& profile, const SweepOptions& o) {
  if (o.world_sizes.empty()) return bad_input("--world-sizes: give at least one world size");
  Sweep out;
  out.gpu_memory_bytes = profile.hbm_gb * 1e9;
  for (const std::int64_t w : o.world_sizes) {
    SweepRow row;
    row.world_size = w;
    row.nodes = w > 0 ? profile.nodes_for(w) : 0;
    if (auto ok = check_world_size(w, workload, source); !ok) {
      row.error = ok.error().message;
      out.rows.push_back(std::move(row));
      continue;
    }
    auto c = compare_strategies(workload, source, w, o.block_size, profile, o.backward, nullptr, o.scope);
    if (!c) {
      row.error = c.error().message;
    } else if (c->ranked.empty()) {
      row.error = "no candidate can run at W = " + std::to_string(w) +
                  (c->invalid.empty() ? std::string() : " (" + strategy_text(c->invalid.front().strategy) + ": " + c->invalid.front().reason + ")") +
                  nearest_world_sizes_text(workload, w, profile.max_gpus());
    } else {
      row.best = pick_of(c->ranked.front(), workload, w, o, out.gpu_memory_bytes);
      if (const Candidate* t = c->best_on(Runtime::kPyTorch)) row.pytorch = pick_of(*t, workload, w, o, out.gpu_memory_bytes);
    }
    out.rows.push_back(std::move(row));
  }
  // Scaling efficiency against the smallest W where each pick exists; the recommendations.
  std::vector<std::size_t> order(out.rows.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return out.rows[a].world_size < out.rows[b].world_size; });
  double base_torch = 0, base_best = 0, top_torch = 0, top_best = 0;
  for (const std::size_t i : order) {
    SweepRow& r = out.rows[i];
    if (r.pytorch) {
      if (base_torch == 0) base_torch = r.pytorch->tokens_per_s_per_gpu;
      r.pytorch->scaling_efficiency = r.pytorch->tokens_per_s_per_gpu / base_torch;
      if (r.pytorch->fits && r.pytorch->tokens_per_s_per_gpu > top_torch) {
        top_torch = r.pytorch->tokens_per_s_per_gpu;
        out.best_pytorch_per_gpu = r.world_size;
      }
    }
    if (r.best) {
      if (base_best == 0) base_best = r.best->tokens_per_s_per_gpu;
      r.best->scaling_efficiency = r.best->tokens_per_s_per_gpu / base_best;
      if (r.best->fits && r.best->tokens_per_s_per_gpu > top_best) {
        top_best = r.best->tokens_per_s_per_gpu;
        out.best_per_gpu = r.world_size;
      }
    }
    const SweepPick* judged = r.pytorch ? &*r.pytorch : (r.best ? &*r.best : nullptr);
    if (!out.smallest_fitting && judged != nullptr && judged->fits) out.smallest_fitting = r.world_size;
  }
  return out;
}

std::string sweep_csv(const Sweep& sweep) {
  std::string out =
      "world_size,nodes,pick,strategy,runtime,step_us,tokens_per_s_per_gpu,scaling_efficiency,max_exposed_comm_us,memory_bytes,fits,error\n";
  for (const SweepRow& r : sweep.rows) {
    const std::string head = std::to_string(r.world_size) + "," + std::to_string(r.nodes) + ",";
    if (!r.error.empty()) {
      out += head + ",,,,,,,,," + csv_field(r.error) + "\n";
      continue;
    }
    auto line = [&](const char* pick, const SweepPick& p) {
      const Candidate& c = p.candidate;
      out += head + pick + "," + csv_field(strategy_text(c.strategy)) + "," + std::string(runtime_name(c.runtime.runtime)) + "," +
             format_number(c.metrics.step_us, "%.3f") + "," + format_number(p.tokens_per_s_per_gpu, "%.0f") + "," +
             format_number(p.scaling_efficiency, "%.4f") + "," + format_number(c.metrics.max_exposed_comm_us, "%.3f") + "," +
             format_number(p.memory_bytes, "%.0f") + "," + (p.fits ? "1" : "0") + ",\n";
    };
    if (r.pytorch) line("pytorch", *r.pytorch);
    if (r.best) line("best", *r.best);
  }
  return out;
}

}  // namespace cpsim
