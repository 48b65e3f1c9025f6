// Every rank in turn on one GPU (`cpsim execute PLAN.json --device cuda`): bf16 inputs, a block-sparse CSR per
// (rank, step), the flash kernel and the fp32 merge timed with CUDA events per (rank, step); K/V hops are timed as
// device-to-device copies, so per-rank compute is measured on a single card. Every CUDA error is returned.
#include <cmath>

#include "backend/cuda_support.h"
#include "backend/executors/executors.h"
#include "backend/verify.h"

namespace cpsim {
namespace {

class CudaExecutor final : public Executor {
 public:
  explicit CudaExecutor(Faults faults) : faults_(faults) {}
  std::string_view name() const override { return "cuda"; }

  Result<std::optional<Measurement>> execute(const Plan& plan, const std::string& plan_path, const ExecuteOptions& options) override {
    CPSIM_ASSIGN_OR_RETURN(const RankOptions ro, cuda_rank_options(plan, plan_path, options));
    CPSIM_ASSIGN_OR_RETURN(const int gpus, gpu_count());
    CPSIM_CUDA_TRY("cudaSetDevice", cudaSetDevice(0));
    cudaDeviceProp prop{};
    CPSIM_CUDA_TRY("cudaGetDeviceProperties", cudaGetDeviceProperties(&prop, 0));
    int driver = 0;
    cudaDriverGetVersion(&driver);
    CudaStream stream;
    CPSIM_CUDA_TRY("cudaStreamCreate", stream.create());
    CudaEvent ev[4];
    for (auto& e : ev) CPSIM_CUDA_TRY("cudaEventCreate", e.create());
    const bool gathered = ro.exchange() == KvExchange::kAllGather;

    const std::int64_t w = plan.world_size, n = plan.workload.seq_len / w, s_len = plan.workload.seq_len;
    const AttentionShape& shape = ro.shape;
    std::vector<RankRun> runs(static_cast<std::size_t>(w));
    for (auto& run : runs) {
      run.compute_us.assign(static_cast<std::size_t>(w), 0);
      run.comm_us.assign(static_cast<std::size_t>(w), 0);
      run.comm_bytes.assign(static_cast<std::size_t>(w), 0);
    }
    for (std::int64_t r = 0; r < w; ++r) CPSIM_RETURN_IF_ERROR(rank_fault(faults_, r));
    if (ro.progress != nullptr) ro.progress->steps_total = progress_steps(plan, ro) * shape.rows;  // (rank, step) per row

    for (std::int64_t row = 0; row < shape.rows; ++row) {
      const RowLayout& layout = plan.layouts[static_cast<std::size_t>(row)];
      const RowIntervals iv = row_intervals(RowMask(plan.workload.mask, s_len, plan.workload.documents[static_cast<std::size_t>(row)]), s_len);
      // Every rank's K/V shard, resident; a hop copies the source's shard into the receive buffer.
      std::vector<DeviceBuffer<std::uint16_t>> k_shard(static_cast<std::size_t>(w)), v_shard(static_cast<std::size_t>(w));
      std::vector<DeviceBuffer<int>> k_pos(static_cast<std::size_t>(w));
      for (std::int64_t s = 0; s < w; ++s) {
        const std::vector<std::int64_t> pos(layout.rearrange().begin() + s * n, layout.rearrange().begin() + (s + 1) * n);
        CPSIM_CUDA_TRY("upload K shard", k_shard[static_cast<std::size_t>(s)].upload(bf16_input(Tensor::kK, shape, row, pos, ro.seed)));
        CPSIM_CUDA_TRY("upload V shard", v_shard[static_cast<std::size_t>(s)].upload(bf16_input(Tensor::kV, shape, row, pos, ro.seed)));
        CPSIM_CUDA_TRY("upload key positions", k_pos[static_cast<std::size_t>(s)].upload(to_int(pos)));
      }
      const std::size_t kv_elems = static_cast<std::size_t>(n * shape.kv_heads * shape.head_dim);
      DeviceBuffer<std::uint16_t> k_recv, v_recv;
      CPSIM_CUDA_TRY("allocate receive buffers", k_recv.allocate(kv_elems));
      CPSIM_CUDA_TRY("allocate receive buffers", v_recv.allocate(kv_elems));

      for (std::int64_t r = 0; r < w; ++r) {
        RankRun& run = runs[static_cast<std::size_t>(r)];
        const std::vector<std::int64_t> q_pos(layout.rearrange().begin() + r * n, layout.rearrange().begin() + (r + 1) * n);
        std::vector<std::int64_t> q_lo, q_hi;
        for (const std::int64_t p : q_pos) {
          q_lo.push_back(iv.lo[static_cast<std::size_t>(p)]);
          q_hi.push_back(iv.hi[static_cast<std::size_t>(p)]);
        }
        DeviceBuffer<std::uint16_t> q;
        DeviceBuffer<int> d_lo, d_hi;
        DeviceBuffer<float> out, lse, out_blk, lse_blk;
        CPSIM_CUDA_TRY("upload Q shard", q.upload(bf16_input(Tensor::kQ, shape, row, q_pos, ro.seed)));
        CPSIM_CUDA_TRY("upload intervals", d_lo.upload(to_int(q_lo)));
        CPSIM_CUDA_TRY("upload intervals", d_hi.upload(to_int(q_hi)));
        const std::size_t out_elems = static_cast<std::size_t>(n * shape.q_heads * shape.head_dim);
        const std::size_t lse_elems = static_cast<std::size_t>(n * shape.q_heads);
        CPSIM_CUDA_TRY("allocate output", out.upload(std::vector<float>(out_elems, 0.0f)));
        CPSIM_CUDA_TRY("allocate output", lse.upload(std::vector<float>(lse_elems, -INFINITY)));
        CPSIM_CUDA_TRY("allocate block output", out_blk.allocate(out_elems));
        CPSIM_CUDA_TRY("allocate block output", lse_blk.allocate(lse_elems));
        if (gathered) {  // one all-gather: W-1 shards arrive, timed as copies
          CPSIM_CUDA_TRY("event", cudaEventRecord(ev[0].get(), stream.get()));
          for (std::int64_t s = 0; s < w; ++s) {
            if (s == r) continue;
            CPSIM_CUDA_TRY("K/V copy", cudaMemcpyAsync(k_recv.get(), k_shard[static_cast<std::size_t>(s)].get(), kv_elems * 2, cudaMemcpyDeviceToDevice, stream.get()));
            CPSIM_CUDA_TRY("K/V copy", cudaMemcpyAsync(v_recv.get(), v_shard[static_cast<std::size_t>(s)].get(), kv_elems * 2, cudaMemcpyDeviceToDevice, stream.get()));
          }
          CPSIM_CUDA_TRY("event", cudaEventRecord(ev[1].get(), stream.get()));
          CPSIM_CUDA_TRY("all-gather", cudaEventSynchronize(ev[1].get()));
          run.comm_us[0] += elapsed_us(ev[0].get(), ev[1].get());
          run.comm_bytes[0] += static_cast<double>(2 * kv_elems * 2) * static_cast<double>(w - 1);
        }
        for (std::int64_t i = 0; i < w; ++i) {
          const auto src = static_cast<std::size_t>(ring_source(r, i, w));
          if (!gathered && i > 0) {  // the ring hop that brings step i's K/V
            CPSIM_CUDA_TRY("event", cudaEventRecord(ev[0].get(), stream.get()));
            CPSIM_CUDA_TRY("K/V hop", cudaMemcpyAsync(k_recv.get(), k_shard[src].get(), kv_elems * 2, cudaMemcpyDeviceToDevice, stream.get()));
            CPSIM_CUDA_TRY("K/V hop", cudaMemcpyAsync(v_recv.get(), v_shard[src].get(), kv_elems * 2, cudaMemcpyDeviceToDevice, stream.get()));
            CPSIM_CUDA_TRY("event", cudaEventRecord(ev[1].get(), stream.get()));
          }
          const std::vector<std::int64_t> src_pos(layout.rearrange().begin() + static_cast<std::int64_t>(src) * n,
                                                  layout.rearrange().begin() + (static_cast<std::int64_t>(src) + 1) * n);
          CPSIM_ASSIGN_OR_RETURN(const DeviceCsr csr, upload_block_csr(q_lo, q_hi, src_pos));
          const bool own = gathered || i == 0;  // the source's resident shard, or the receive buffer
          const cuda::FlashForwardParams fp =
              flash_params(shape, n, q.get(), d_lo.get(), d_hi.get(), own ? k_shard[src].get() : k_recv.get(),
                           own ? v_shard[src].get() : v_recv.get(), k_pos[src].get(), out_blk.get(), lse_blk.get());
          CPSIM_CUDA_TRY("event", cudaEventRecord(ev[2].get(), stream.get()));
          CPSIM_CUDA_TRY("flash and merge kernels", attend_and_merge(fp, csr, out.get(), lse.get(), stream.get()));
          CPSIM_CUDA_TRY("event", cudaEventRecord(ev[3].get(), stream.get()));
          CPSIM_CUDA_TRY("step", cudaEventSynchronize(ev[3].get()));
          run.compute_us[static_cast<std::size_t>(i)] += elapsed_us(ev[2].get(), ev[3].get());
          if (!gathered && i > 0) {
            run.comm_us[static_cast<std::size_t>(i)] += elapsed_us(ev[0].get(), ev[1].get());
            run.comm_bytes[static_cast<std::size_t>(i)] += static_cast<double>(2 * kv_elems * 2);
          }
          if (ro.progress != nullptr) ++ro.progress->steps_done;
        }
        PartialAttention result;
        CPSIM_CUDA_TRY("download output", out.download(result.out));
        CPSIM_CUDA_TRY("download output", lse.download(result.lse));
        run.rows.push_back(std::move(result));
      }
    }
    for (auto& run : runs) {
      for (const double c : run.compute_us) run.total_us += c;
      for (const double c : run.comm_us) run.total_us += c;
    }
    const RunIdentity who{std::string(name()), DeviceKind::kGpu,
                          std::string(prop.name) + " (" + std::to_string(w) + " ranks emulated on 1 of " + std::to_string(gpus) +
                              " GPU(s); hops timed as device copies)",
                          "CUDA driver " + std::to_string(driver / 1000) + "." + std::to_string(driver % 1000 / 10)};
    return std::optional(finish_run(plan, plan_path, ro, std::move(runs), faults_, gpu_reference_check(w), who));
  }

 private:
  Faults faults_;
};

}  // namespace

Result<std::unique_ptr<Executor>> make_cuda_executor(const Faults& faults) {
  return std::unique_ptr<Executor>(std::make_unique<CudaExecutor>(faults));
}

}  // namespace cpsim
