// Plain parameter structs shared by the host executor and the CUDA kernels (no core headers: nvcc builds
// the kernels as C++17). Tensors are row-major: [token][head][dim]; bf16 values travel as uint16_t bits.
#pragma once

#include <cstdint>

namespace cpsim::cuda {

constexpr int kFlashTile = 64;        // queries and keys per tile in the kernel
constexpr int kFlashMaxHeadDim = 128;  // shared memory holds Q, K, V and fp32 output tiles up to this

struct FlashForwardParams {
  const std::uint16_t* q = nullptr;  // [n_q][q_heads][head_dim] bf16
  const std::uint16_t* k = nullptr;  // [n_k][kv_heads][head_dim] bf16
  const std::uint16_t* v = nullptr;
  float* out = nullptr;              // [n_q][q_heads][head_dim]
  float* lse = nullptr;              // [n_q][q_heads]; -inf where a query saw no key
  const int* q_lo = nullptr;         // visible key interval (original positions) per query
  const int* q_hi = nullptr;
  const int* k_pos = nullptr;        // original position per key
  const int* tile_row_ptr = nullptr; // block CSR over query tiles
  const int* tile_cols = nullptr;
  const unsigned char* tile_full = nullptr;
  int n_q = 0, n_k = 0, q_heads = 1, kv_heads = 1, head_dim = 64;
  float scale = 1.0f;
};

struct MergeParams {
  float* out = nullptr;        // running result, updated in place
  float* lse = nullptr;
  const float* out_block = nullptr;
  const float* lse_block = nullptr;
  long long rows = 0;          // query x head pairs
  int head_dim = 64;
};

// Each returns a cudaError_t as int (0 = success) so that host code needs no CUDA header to call them.
int launch_flash_forward(const FlashForwardParams& p, void* stream);
int launch_merge(const MergeParams& p, void* stream);

}  // namespace cpsim::cuda
