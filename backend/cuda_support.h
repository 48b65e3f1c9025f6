// Host helpers shared by the CUDA executors (one GPU emulating W ranks, and one GPU per MPI process with
// NCCL): CUDA errors as Results, device buffers, bf16 inputs, one attention step (kernel + merge), the fp32
// GPU reference of a row and the comparison of a rank's output with it.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "backend/cuda/params.h"
#include "backend/executor.h"
#include "core/mask.h"

namespace cpsim {

Error cuda_error(const std::string& what, cudaError_t err);

#define CPSIM_CUDA_TRY(what, call)                                      \
  do {                                                                  \
    const cudaError_t cpsim_err_ = static_cast<cudaError_t>(call);      \
    if (cpsim_err_ != cudaSuccess) return cuda_error(what, cpsim_err_); \
  } while (0)

// bf16 values (round to nearest even) of one tensor at `positions` of `row`, made on all cores.
std::vector<std::uint16_t> bf16_input(Tensor t, const AttentionShape& shape, std::int64_t row, const std::vector<std::int64_t>& positions,
                                      std::uint64_t seed);

// GPUs this process sees; "no GPU" (exit 2) when none, or when the driver fails as it does without one.
Result<int> gpu_count();

// The run's shape and rotate method for the CUDA kernels: all K/V gathered (no sparse exchange on the GPU yet;
// the mask hides what it would not send), head dim a multiple of 16 up to kFlashMaxHeadDim.
Result<RankOptions> cuda_rank_options(const Plan& plan, const ExecuteOptions& options);

std::vector<int> to_int(const std::vector<std::int64_t>& v);

// Milliseconds between two recorded events, in microseconds.
double elapsed_us(cudaEvent_t from, cudaEvent_t to);

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

// One step's block-sparse structure on the device (the kernel's tile CSR against one source's keys).
struct DeviceCsr {
  DeviceBuffer<int> row_ptr, cols;
  DeviceBuffer<unsigned char> full;
  bool empty = true;  // no visible tile: the step launches nothing
};
Result<DeviceCsr> upload_block_csr(const std::vector<std::int64_t>& q_lo, const std::vector<std::int64_t>& q_hi,
                                   const std::vector<std::int64_t>& k_pos);

// The kernel's parameters for one step: a rank's n queries (Q, their visible key intervals) against one
// source's n keys (its K and V shards and their original positions), into the block outputs.
cuda::FlashForwardParams flash_params(const AttentionShape& shape, std::int64_t n, const std::uint16_t* q, const int* q_lo, const int* q_hi,
                                      const std::uint16_t* k, const std::uint16_t* v, const int* k_pos, float* out_block,
                                      float* lse_block);

// Attends the rank's queries to one source's keys (`fp` holds Q, K, V, intervals and key positions; its
// out/lse are the block buffers) and merges the block into out/lse by log-sum-exp. Nothing for an empty CSR.
cudaError_t attend_and_merge(cuda::FlashForwardParams fp, const DeviceCsr& csr, float* out, float* lse, cudaStream_t stream);

// Visible key interval [lo, hi) of every position of a row, in original order.
struct RowIntervals {
  std::vector<std::int64_t> lo, hi;
};
RowIntervals row_intervals(const RowMask& mask, std::int64_t seq_len);

// The fp32 reference of one row on the GPU, [position][q head][dim] in original order, from the same bf16
// inputs the ranks use.
Result<std::vector<float>> gpu_reference(const AttentionShape& shape, std::int64_t row, const RowIntervals& iv, std::uint64_t seed,
                                         cudaStream_t stream);

// Adds one rank's output of a row (in its slot order, queries at `q_pos`) against the reference to `tally`.
void compare_with_reference(const std::vector<float>& reference, const std::vector<std::int64_t>& q_pos, const std::vector<float>& out,
                            const AttentionShape& shape, ErrorTally& tally);

// PyTorch's bf16 ring-attention tolerance: atol 8e-3 x W.
inline double bf16_tolerance(std::int64_t world_size) { return 8e-3 * static_cast<double>(world_size); }

}  // namespace cpsim
