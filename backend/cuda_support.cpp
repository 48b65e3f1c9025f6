// Host helpers shared by the CUDA executors (see cuda_support.h).
#include "backend/cuda_support.h"

#include <cmath>
#include <thread>

#include "backend/block_csr.h"

namespace cpsim {

Error cuda_error(const std::string& what, cudaError_t err) {
  return Error{ErrorCode::kExecutionFailed, "--device cuda: " + what + ": " + cudaGetErrorString(err)};
}

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
                to_bf16_bits(input_value(t, row, positions[i], h, d, seed));
          }
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  return out;
}

Result<int> gpu_count() {
  int gpus = 0;
  if (const cudaError_t err = cudaGetDeviceCount(&gpus); err != cudaSuccess || gpus == 0) {
    return bad_input(std::string("--device cuda: no GPU available (cudaGetDeviceCount: ") +
                     (err != cudaSuccess ? cudaGetErrorString(err) : "0 devices") + ")");
  }
  return gpus;
}

Result<RankOptions> cuda_rank_options(const Plan& plan, const std::string& plan_path, const ExecuteOptions& options) {
  CPSIM_RETURN_IF_ERROR(check_device_options("cuda", options));
  CPSIM_ASSIGN_OR_RETURN(RankOptions ro, rank_options(plan, plan_path, options, false));
  if (ro.shape.head_dim % 16 != 0 || ro.shape.head_dim > cuda::kFlashMaxHeadDim) {
    return bad_input("--head-dim: the CUDA kernel takes multiples of 16 up to " + std::to_string(cuda::kFlashMaxHeadDim) + ", got " +
                     std::to_string(ro.shape.head_dim));
  }
  return ro;
}

std::vector<int> to_int(const std::vector<std::int64_t>& v) { return {v.begin(), v.end()}; }

double elapsed_us(cudaEvent_t from, cudaEvent_t to) {
  float ms = 0;
  cudaEventElapsedTime(&ms, from, to);
  return static_cast<double>(ms) * 1000.0;
}

Result<DeviceCsr> upload_block_csr(const std::vector<std::int64_t>& q_lo, const std::vector<std::int64_t>& q_hi,
                                   const std::vector<std::int64_t>& k_pos) {
  const BlockCsr csr = build_block_csr(q_lo, q_hi, k_pos, cuda::kFlashTile);
  DeviceCsr d;
  d.empty = csr.cols.empty();
  CPSIM_CUDA_TRY("upload CSR", d.row_ptr.upload(csr.row_ptr));
  CPSIM_CUDA_TRY("upload CSR", d.cols.upload(csr.cols));
  CPSIM_CUDA_TRY("upload CSR", d.full.upload(csr.full));
  return d;
}

cuda::FlashForwardParams flash_params(const AttentionShape& shape, std::int64_t n, const std::uint16_t* q, const int* q_lo, const int* q_hi,
                                      const std::uint16_t* k, const std::uint16_t* v, const int* k_pos, float* out_block,
                                      float* lse_block) {
  cuda::FlashForwardParams fp;
  fp.q = q;
  fp.k = k;
  fp.v = v;
  fp.out = out_block;
  fp.lse = lse_block;
  fp.q_lo = q_lo;
  fp.q_hi = q_hi;
  fp.k_pos = k_pos;
  fp.n_q = static_cast<int>(n);
  fp.n_k = static_cast<int>(n);
  fp.q_heads = static_cast<int>(shape.q_heads);
  fp.kv_heads = static_cast<int>(shape.kv_heads);
  fp.head_dim = static_cast<int>(shape.head_dim);
  fp.scale = 1.0f / std::sqrt(static_cast<float>(shape.head_dim));
  return fp;
}

cudaError_t attend_and_merge(cuda::FlashForwardParams fp, const DeviceCsr& csr, float* out, float* lse, cudaStream_t stream) {
  if (csr.empty) return cudaSuccess;
  fp.tile_row_ptr = csr.row_ptr.get();
  fp.tile_cols = csr.cols.get();
  fp.tile_full = csr.full.get();
  if (const int e = cuda::launch_flash_forward(fp, stream); e != 0) return static_cast<cudaError_t>(e);
  const cuda::MergeParams mp{out, lse, fp.out, fp.lse, static_cast<long long>(fp.n_q) * fp.q_heads, fp.head_dim};
  return static_cast<cudaError_t>(cuda::launch_merge(mp, stream));
}

RowIntervals row_intervals(const RowMask& mask, std::int64_t seq_len) {
  RowIntervals iv;
  iv.lo.resize(static_cast<std::size_t>(seq_len));
  iv.hi.resize(static_cast<std::size_t>(seq_len));
  for (std::int64_t p = 0; p < seq_len; ++p) {
    const KeyInterval k = mask.interval(p);
    iv.lo[static_cast<std::size_t>(p)] = k.lo;
    iv.hi[static_cast<std::size_t>(p)] = k.hi;
  }
  return iv;
}

}  // namespace cpsim
