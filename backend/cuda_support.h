// Host helpers shared by the CUDA executors (one GPU emulating W ranks, and one GPU per MPI process with
// NCCL): CUDA errors as Results, owners of every CUDA resource (buffers, streams, events), bf16 inputs and one
// attention step (kernel + merge). Verification is the CPU's fp64 reference (backend/verify.h).
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "backend/cuda/params.h"
#include "backend/executor.h"
#include "backend/inputs.h"
#include "core/mask.h"

namespace cpsim {

Error cuda_error(const std::string& what, cudaError_t err);

#define CPSIM_CUDA_TRY(what, call)                                      \
  do {                                                                  \
    const cudaError_t cpsim_err_ = static_cast<cudaError_t>(call);      \
    if (cpsim_err_ != cudaSuccess) return cuda_error(what, cpsim_err_); \
  } while (0)

// bf16 bits (round to nearest even, as the CPU reference rounds them) of one tensor at `positions` of `row`,
// made on all cores.
std::vector<std::uint16_t> bf16_input(Tensor t, const AttentionShape& shape, std::int64_t row, const std::vector<std::int64_t>& positions,
                                      std::uint64_t seed);

// GPUs this process sees; "no GPU" (exit 2) when none, or when the driver fails as it does without one.
Result<int> gpu_count();

// The run's shape and strategy for the CUDA kernels: forward only, all K/V gathered (no sparse exchange on the
// GPU yet; the mask hides what it would not send), head dim a multiple of 16 up to kFlashMaxHeadDim.
Result<RankOptions> cuda_rank_options(const Plan& plan, const std::string& plan_path, const ExecuteOptions& options);

std::vector<int> to_int(const std::vector<std::int64_t>& v);

// Milliseconds between two recorded events, in microseconds.
double elapsed_us(cudaEvent_t from, cudaEvent_t to);

// A stream and an event that destroy themselves: no early return leaks one.
class CudaStream {
 public:
  CudaStream() = default;
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;
  ~CudaStream() { if (stream_ != nullptr) cudaStreamDestroy(stream_); }
  cudaError_t create(unsigned flags = cudaStreamDefault) { return cudaStreamCreateWithFlags(&stream_, flags); }
  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

class CudaEvent {
 public:
  CudaEvent() = default;
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;
  CudaEvent(CudaEvent&& o) noexcept : event_(o.event_) { o.event_ = nullptr; }
  ~CudaEvent() { if (event_ != nullptr) cudaEventDestroy(event_); }
  cudaError_t create() { return cudaEventCreate(&event_); }
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

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

// Visible key interval [lo, hi] of every position of a row, in original order.
struct RowIntervals {
  std::vector<std::int64_t> lo, hi;
};
RowIntervals row_intervals(const RowMask& mask, std::int64_t seq_len);

}  // namespace cpsim
