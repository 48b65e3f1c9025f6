// The CUDA executor's host side: bf16 inputs, block-sparse CSR per (rank, step), the flash kernel and the
// fp32 merge timed with CUDA events per (rank, step), and an fp32 GPU reference for verification. With
// one GPU, ranks run one after another and K/V hops are timed as device-to-device copies, so per-rank
// compute is measured on a single card. Every CUDA error is returned, never exit().
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

#include "backend/block_csr.h"
#include "backend/cuda/params.h"
#include "backend/mpi_executor.h"

namespace cpsim {
namespace {

Error cuda_error(const std::string& what, cudaError_t err) {
  return Error{ErrorCode::kExecutionFailed, "--device cuda: " + what + ": " + cudaGetErrorString(err)};
}

#define CPSIM_CUDA_TRY(what, call)                            \
  do {                                                        \
    const cudaError_t cpsim_err_ = static_cast<cudaError_t>(call); \
    if (cpsim_err_ != cudaSuccess) return cuda_error(what, cpsim_err_); \
  } while (0)

std::uint16_t to_bf16(float f) {  // round to nearest even
  std::uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  bits += 0x7fff + ((bits >> 16) & 1);
  return static_cast<std::uint16_t>(bits >> 16);
}

// bf16 values of one tensor at `positions` of `row`, made on all cores.
std::vector<std::uint16_t> bf16_input(Tensor t, const AttentionShape& shape, std::int64_t row, const std::vector<std::int64_t>& positions,
                                      std::uint64_t seed) {
  const std::int64_t heads = t == Tensor::kQ ? shape.q_heads : shape.kv_heads;
  const std::int64_t per = heads * shape.head_dim;
  std::vector<std::uint16_t> out(positions.size() * static_cast<std::size_t>(per));
  const unsigned workers = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned w = 0; w < workers; ++w) {
    pool.emplace_back([&, w] {
      for (std::size_t i = w; i < positions.size(); i += workers) {
        for (std::int64_t h = 0; h < heads; ++h) {
          for (std::int64_t d = 0; d < shape.head_dim; ++d) {
            out[i * static_cast<std::size_t>(per) + static_cast<std::size_t>(h * shape.head_dim + d)] =
                to_bf16(input_value(t, row, positions[i], h, d, seed));
          }
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  return out;
}

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), size_(o.size_) { o.ptr_ = nullptr; }
  ~DeviceBuffer() { if (ptr_ != nullptr) cudaFree(ptr_); }
  cudaError_t allocate(std::size_t n) { size_ = n; return cudaMalloc(&ptr_, std::max<std::size_t>(n, 1) * sizeof(T)); }
  cudaError_t upload(const std::vector<T>& v) {
    if (auto e = allocate(v.size()); e != cudaSuccess) return e;
    return cudaMemcpy(ptr_, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice);
  }
  cudaError_t download(std::vector<T>& v) const { v.resize(size_); return cudaMemcpy(v.data(), ptr_, size_ * sizeof(T), cudaMemcpyDeviceToHost); }
  T* get() const { return ptr_; }
  std::size_t size() const { return size_; }

 private:
  T* ptr_ = nullptr;
  std::size_t size_ = 0;
};

std::vector<int> to_int(const std::vector<std::int64_t>& v) { return {v.begin(), v.end()}; }

}  // namespace

Result<Measurement> execute_on_cuda(const Plan& plan, const std::string& plan_path, const ExecuteOptions& options,
                                    std::int64_t ranks_per_gpu) {
  int gpus = 0;
  if (const cudaError_t err = cudaGetDeviceCount(&gpus); err != cudaSuccess || gpus == 0) {
    return bad_input(std::string("--device cuda: no GPU available (cudaGetDeviceCount: ") +
                     (err != cudaSuccess ? cudaGetErrorString(err) : "0 devices") + ")");
  }
  if (ranks_per_gpu < 0) return bad_input("--ranks-per-gpu: must be positive, got " + std::to_string(ranks_per_gpu));
  CPSIM_ASSIGN_OR_RETURN(RankOptions ro, rank_options(plan, options));
  ro.sparse_gather = false;  // this executor gathers all K/V (the mask hides what a sparse exchange would not send)
  const AttentionShape& shape = ro.shape;
  if (shape.head_dim % 16 != 0 || shape.head_dim > cuda::kFlashMaxHeadDim) {
    return bad_input("--head-dim: the CUDA kernel takes multiples of 16 up to " + std::to_string(cuda::kFlashMaxHeadDim) + ", got " +
                     std::to_string(shape.head_dim));
  }
  CPSIM_CUDA_TRY("cudaSetDevice", cudaSetDevice(0));
  cudaDeviceProp prop{};
  CPSIM_CUDA_TRY("cudaGetDeviceProperties", cudaGetDeviceProperties(&prop, 0));
  int driver = 0;
  cudaDriverGetVersion(&driver);
  cudaStream_t stream = nullptr;
  CPSIM_CUDA_TRY("cudaStreamCreate", cudaStreamCreate(&stream));
  cudaEvent_t ev[4];
  for (auto& e : ev) CPSIM_CUDA_TRY("cudaEventCreate", cudaEventCreate(&e));
  auto elapsed_us = [&](cudaEvent_t a, cudaEvent_t b) -> double {
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    return static_cast<double>(ms) * 1000.0;
  };

  const std::int64_t w = plan.world_size, n = plan.workload.seq_len / w, s_len = plan.workload.seq_len;
  const float scale = 1.0f / std::sqrt(static_cast<float>(shape.head_dim));
  std::vector<RankRun> runs(static_cast<std::size_t>(w));
  for (auto& run : runs) {
    run.compute_us.assign(static_cast<std::size_t>(w), 0);
    run.comm_us.assign(static_cast<std::size_t>(w), 0);
    run.comm_bytes.assign(static_cast<std::size_t>(w), 0);
  }
  Verification check;
  check.tolerance = 8e-3 * static_cast<double>(w);  // PyTorch's bf16 ring-attention tolerance (atol 8e-3 * W)
  double largest = 0;

  for (std::int64_t row = 0; row < shape.rows; ++row) {
    const RowLayout& layout = plan.layouts[static_cast<std::size_t>(row)];
    const RowMask mask(plan.workload.mask, s_len, plan.workload.documents[static_cast<std::size_t>(row)]);
    std::vector<std::int64_t> all(static_cast<std::size_t>(s_len)), lo(static_cast<std::size_t>(s_len)), hi(static_cast<std::size_t>(s_len));
    for (std::int64_t p = 0; p < s_len; ++p) {
      all[static_cast<std::size_t>(p)] = p;
      const KeyInterval iv = mask.interval(p);
      lo[static_cast<std::size_t>(p)] = iv.lo;
      hi[static_cast<std::size_t>(p)] = iv.hi;
    }
    // Reference on the GPU, original order.
    DeviceBuffer<std::uint16_t> q_all, k_all, v_all;
    DeviceBuffer<int> lo_all, hi_all;
    DeviceBuffer<float> ref_out;
    CPSIM_CUDA_TRY("upload Q", q_all.upload(bf16_input(Tensor::kQ, shape, row, all, ro.seed)));
    CPSIM_CUDA_TRY("upload K", k_all.upload(bf16_input(Tensor::kK, shape, row, all, ro.seed)));
    CPSIM_CUDA_TRY("upload V", v_all.upload(bf16_input(Tensor::kV, shape, row, all, ro.seed)));
    CPSIM_CUDA_TRY("upload intervals", lo_all.upload(to_int(lo)));
    CPSIM_CUDA_TRY("upload intervals", hi_all.upload(to_int(hi)));
    CPSIM_CUDA_TRY("allocate reference", ref_out.allocate(static_cast<std::size_t>(s_len * shape.q_heads * shape.head_dim)));
    cuda::ReferenceParams rp{q_all.get(), k_all.get(), v_all.get(), ref_out.get(), lo_all.get(), hi_all.get(),
                             static_cast<int>(s_len), static_cast<int>(shape.q_heads), static_cast<int>(shape.kv_heads),
                             static_cast<int>(shape.head_dim), scale};
    CPSIM_CUDA_TRY("reference kernel", cuda::launch_reference(rp, stream));
    std::vector<float> reference;
    CPSIM_CUDA_TRY("reference", cudaStreamSynchronize(stream));
    CPSIM_CUDA_TRY("download reference", ref_out.download(reference));

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
        q_lo.push_back(lo[static_cast<std::size_t>(p)]);
        q_hi.push_back(hi[static_cast<std::size_t>(p)]);
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
      if (ro.all_gather) {  // one all-gather: W-1 shards arrive, timed as copies
        CPSIM_CUDA_TRY("event", cudaEventRecord(ev[0], stream));
        for (std::int64_t s = 0; s < w; ++s) {
          if (s == r) continue;
          CPSIM_CUDA_TRY("K/V copy", cudaMemcpyAsync(k_recv.get(), k_shard[static_cast<std::size_t>(s)].get(), kv_elems * 2, cudaMemcpyDeviceToDevice, stream));
          CPSIM_CUDA_TRY("K/V copy", cudaMemcpyAsync(v_recv.get(), v_shard[static_cast<std::size_t>(s)].get(), kv_elems * 2, cudaMemcpyDeviceToDevice, stream));
        }
        CPSIM_CUDA_TRY("event", cudaEventRecord(ev[1], stream));
        CPSIM_CUDA_TRY("all-gather", cudaEventSynchronize(ev[1]));
        run.comm_us[0] += elapsed_us(ev[0], ev[1]);
        run.comm_bytes[0] += static_cast<double>(2 * kv_elems * 2) * static_cast<double>(w - 1);
      }
      for (std::int64_t i = 0; i < w; ++i) {
        const auto src = static_cast<std::size_t>(((r - i) % w + w) % w);
        if (!ro.all_gather && i > 0) {  // the ring hop that brings step i's K/V
          CPSIM_CUDA_TRY("event", cudaEventRecord(ev[0], stream));
          CPSIM_CUDA_TRY("K/V hop", cudaMemcpyAsync(k_recv.get(), k_shard[src].get(), kv_elems * 2, cudaMemcpyDeviceToDevice, stream));
          CPSIM_CUDA_TRY("K/V hop", cudaMemcpyAsync(v_recv.get(), v_shard[src].get(), kv_elems * 2, cudaMemcpyDeviceToDevice, stream));
          CPSIM_CUDA_TRY("event", cudaEventRecord(ev[1], stream));
        }
        const std::vector<std::int64_t> src_pos(layout.rearrange().begin() + static_cast<std::int64_t>(src) * n,
                                                layout.rearrange().begin() + (static_cast<std::int64_t>(src) + 1) * n);
        const BlockCsr csr = build_block_csr(q_lo, q_hi, src_pos, cuda::kFlashTile);
        DeviceBuffer<int> row_ptr, cols;
        DeviceBuffer<unsigned char> full;
        CPSIM_CUDA_TRY("upload CSR", row_ptr.upload(csr.row_ptr));
        CPSIM_CUDA_TRY("upload CSR", cols.upload(csr.cols));
        CPSIM_CUDA_TRY("upload CSR", full.upload(csr.full));
        const bool local = ro.all_gather || i == 0;
        cuda::FlashForwardParams fp;
        fp.q = q.get();
        fp.k = local && i == 0 ? k_shard[src].get() : (ro.all_gather ? k_shard[src].get() : k_recv.get());
        fp.v = local && i == 0 ? v_shard[src].get() : (ro.all_gather ? v_shard[src].get() : v_recv.get());
        fp.out = out_blk.get();
        fp.lse = lse_blk.get();
        fp.q_lo = d_lo.get();
        fp.q_hi = d_hi.get();
        fp.k_pos = k_pos[src].get();
        fp.tile_row_ptr = row_ptr.get();
        fp.tile_cols = cols.get();
        fp.tile_full = full.get();
        fp.n_q = static_cast<int>(n);
        fp.n_k = static_cast<int>(n);
        fp.q_heads = static_cast<int>(shape.q_heads);
        fp.kv_heads = static_cast<int>(shape.kv_heads);
        fp.head_dim = static_cast<int>(shape.head_dim);
        fp.scale = scale;
        CPSIM_CUDA_TRY("event", cudaEventRecord(ev[2], stream));
        if (!csr.cols.empty()) {
          CPSIM_CUDA_TRY("flash kernel", cuda::launch_flash_forward(fp, stream));
          cuda::MergeParams mp{out.get(), lse.get(), out_blk.get(), lse_blk.get(), static_cast<long long>(lse_elems), static_cast<int>(shape.head_dim)};
          CPSIM_CUDA_TRY("merge kernel", cuda::launch_merge(mp, stream));
        }
        CPSIM_CUDA_TRY("event", cudaEventRecord(ev[3], stream));
        CPSIM_CUDA_TRY("step", cudaEventSynchronize(ev[3]));
        run.compute_us[static_cast<std::size_t>(i)] += elapsed_us(ev[2], ev[3]);
        if (!ro.all_gather && i > 0) {
          run.comm_us[static_cast<std::size_t>(i)] += elapsed_us(ev[0], ev[1]);
          run.comm_bytes[static_cast<std::size_t>(i)] += static_cast<double>(2 * kv_elems * 2);
        }
      }
      PartialAttention result;
      CPSIM_CUDA_TRY("download output", out.download(result.out));
      CPSIM_CUDA_TRY("download output", lse.download(result.lse));
      for (std::size_t local = 0; local < q_pos.size(); ++local) {  // compare in original order
        const std::int64_t p = q_pos[local];
        for (std::int64_t e = 0; e < shape.q_heads * shape.head_dim; ++e) {
          const double want = reference[static_cast<std::size_t>(p * shape.q_heads * shape.head_dim + e)];
          const double have = result.out[local * static_cast<std::size_t>(shape.q_heads * shape.head_dim) + static_cast<std::size_t>(e)];
          check.max_abs_error = std::max(check.max_abs_error, std::isfinite(have) ? std::fabs(have - want) : 1e30);
          largest = std::max(largest, std::fabs(want));
        }
      }
      run.rows.push_back(std::move(result));
    }
  }
  for (auto& run : runs) {
    for (const double c : run.compute_us) run.total_us += c;
    for (const double c : run.comm_us) run.total_us += c;
  }
  for (auto& e : ev) cudaEventDestroy(e);
  cudaStreamDestroy(stream);
  check.max_rel_error = largest > 0 ? check.max_abs_error / largest : check.max_abs_error;
  check.passed = check.max_abs_error <= check.tolerance;
  const std::string device = std::string(prop.name) + " (" + std::to_string(w) + " ranks emulated on 1 of " + std::to_string(gpus) +
                             " GPU(s); hops timed as device copies)";
  Measurement m = make_measurement(plan, plan_path, ro, runs, check, "cuda", device);
  m.driver = "CUDA driver " + std::to_string(driver / 1000) + "." + std::to_string(driver % 1000 / 10);
  return m;
}

}  // namespace cpsim
