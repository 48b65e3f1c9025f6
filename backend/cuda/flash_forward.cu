// Block-sparse flash-attention forward on tensor cores (bf16 WMMA, fp32 accumulation), with online softmax
// and log-sum-exp output. One CTA = 64 queries x one head, 4 warps of 16 queries; it visits only the key
// tiles its CSR row lists, masking per element only in tiles not marked full.
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <cmath>

#include "params.h"

namespace cpsim::cuda {
namespace {

using namespace nvcuda;
constexpr int kTile = kFlashTile;
constexpr int kWarps = 4;
constexpr int kRowsPerWarp = kTile / kWarps;  // 16

struct Smem {
  __nv_bfloat16* q;   // [64][D]
  __nv_bfloat16* k;   // [64][D]
  __nv_bfloat16* v;   // [64][D]
  float* s;           // [4][16][64] scores
  __nv_bfloat16* p;   // [4][16][64] probabilities
  float* o;           // [4][16][D] running output
  float* pv;          // [4][16][D] this tile's P.V
  float* m;           // [64] running max
  float* l;           // [64] running sum
  float* alpha;       // [64] rescale of the running output for this tile
};

__host__ __device__ inline size_t smem_bytes(int d) {
  return 3 * kTile * d * sizeof(__nv_bfloat16) + kTile * kTile * (sizeof(float) + sizeof(__nv_bfloat16)) +
         2 * kTile * d * sizeof(float) + 3 * kTile * sizeof(float);
}

__device__ Smem carve(unsigned char* base, int d) {
  Smem s;
  s.q = reinterpret_cast<__nv_bfloat16*>(base);
  s.k = s.q + kTile * d;
  s.v = s.k + kTile * d;
  s.s = reinterpret_cast<float*>(s.v + kTile * d);
  s.p = reinterpret_cast<__nv_bfloat16*>(s.s + kTile * kTile);
  s.o = reinterpret_cast<float*>(s.p + kTile * kTile);
  s.pv = s.o + kTile * d;
  s.m = s.pv + kTile * d;
  s.l = s.m + kTile;
  s.alpha = s.l + kTile;
  return s;
}

__device__ void load_tile(__nv_bfloat16* dst, const std::uint16_t* src, int first, int count, int heads, int head, int d) {
  const __nv_bfloat16* in = reinterpret_cast<const __nv_bfloat16*>(src);
  for (int e = threadIdx.x; e < kTile * d; e += blockDim.x) {
    const int row = e / d, col = e % d;
    dst[e] = row < count ? in[(static_cast<long long>(first + row) * heads + head) * d + col] : __float2bfloat16(0.0f);
  }
}

__global__ void flash_forward_kernel(FlashForwardParams p) {
  extern __shared__ __align__(128) unsigned char smem_raw[];  // WMMA loads need 256-bit aligned pointers
  const int d = p.head_dim;
  Smem sm = carve(smem_raw, d);
  const int q_tile = blockIdx.x, head = blockIdx.y;
  const int kv_head = head / (p.q_heads / p.kv_heads);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int q0 = q_tile * kTile;
  const int q_count = min(kTile, p.n_q - q0);

  load_tile(sm.q, p.q, q0, q_count, p.q_heads, head, d);
  for (int e = threadIdx.x; e < kTile * d; e += blockDim.x) sm.o[e] = 0.0f;
  for (int r = threadIdx.x; r < kTile; r += blockDim.x) {
    sm.m[r] = -INFINITY;
    sm.l[r] = 0.0f;
  }
  __syncthreads();

  float* s_w = sm.s + warp * kRowsPerWarp * kTile;
  __nv_bfloat16* p_w = sm.p + warp * kRowsPerWarp * kTile;
  float* o_w = sm.o + warp * kRowsPerWarp * d;
  float* pv_w = sm.pv + warp * kRowsPerWarp * d;
  const __nv_bfloat16* q_w = sm.q + warp * kRowsPerWarp * d;

  for (int t = p.tile_row_ptr[q_tile]; t < p.tile_row_ptr[q_tile + 1]; ++t) {
    const int k0 = p.tile_cols[t] * kTile;
    const int k_count = min(kTile, p.n_k - k0);
    const bool full = p.tile_full[t] != 0;
    load_tile(sm.k, p.k, k0, k_count, p.kv_heads, kv_head, d);
    load_tile(sm.v, p.v, k0, k_count, p.kv_heads, kv_head, d);
    __syncthreads();

    // S = Q K^T for this warp's 16 queries and the tile's 64 keys.
    for (int nb = 0; nb < kTile / 16; ++nb) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.0f);
      for (int kk = 0; kk < d; kk += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> b;
        wmma::load_matrix_sync(a, q_w + kk, d);
        wmma::load_matrix_sync(b, sm.k + nb * 16 * d + kk, d);  // K rows as columns of K^T
        wmma::mma_sync(acc, a, b, acc);
      }
      wmma::store_matrix_sync(s_w + nb * 16, acc, kTile, wmma::mem_row_major);
    }
    __syncwarp();

    // Online softmax: lanes 0..15 own one query row each.
    if (lane < kRowsPerWarp) {
      const int row = warp * kRowsPerWarp + lane;
      const int q = q0 + row;
      float m_new = sm.m[row];
      const int lo = q < p.n_q ? p.q_lo[q] : 0, hi = q < p.n_q ? p.q_hi[q] : -1;
      for (int c = 0; c < kTile; ++c) {
        const int key = k0 + c;
        bool visible = q < p.n_q && c < k_count;
        if (visible && !full) {
          const int pos = p.k_pos[key];
          visible = pos >= lo && pos <= hi;
        }
        const float s = visible ? s_w[lane * kTile + c] * p.scale : -INFINITY;
        s_w[lane * kTile + c] = s;
        m_new = fmaxf(m_new, s);
      }
      const float m_old = sm.m[row];
      const float alpha = (m_new == -INFINITY) ? 1.0f : __expf(m_old - m_new);  // exp(-inf) = 0 when m_old = -inf
      float sum = 0.0f;
      for (int c = 0; c < kTile; ++c) {
        const float s = s_w[lane * kTile + c];
        const float e = (s == -INFINITY) ? 0.0f : __expf(s - m_new);
        sum += e;
        p_w[lane * kTile + c] = __float2bfloat16(e);
      }
      sm.m[row] = m_new;
      sm.l[row] = sm.l[row] * alpha + sum;
      sm.alpha[row] = alpha;
    }
    __syncwarp();

    // PV = P V, then O = alpha O + PV.
    for (int nb = 0; nb < d / 16; ++nb) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.0f);
      for (int kk = 0; kk < kTile; kk += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> b;
        wmma::load_matrix_sync(a, p_w + kk, kTile);
        wmma::load_matrix_sync(b, sm.v + kk * d + nb * 16, d);
        wmma::mma_sync(acc, a, b, acc);
      }
      wmma::store_matrix_sync(pv_w + nb * 16, acc, d, wmma::mem_row_major);
    }
    __syncwarp();
    for (int e = lane; e < kRowsPerWarp * d; e += 32) {
      const int row = warp * kRowsPerWarp + e / d;
      o_w[e] = o_w[e] * sm.alpha[row] + pv_w[e];
    }
    __syncthreads();  // K/V tiles are reloaded next
  }

  for (int e = threadIdx.x; e < q_count * d; e += blockDim.x) {
    const int row = e / d, col = e % d;
    const float l = sm.l[row];
    p.out[(static_cast<long long>(q0 + row) * p.q_heads + head) * d + col] = l > 0.0f ? sm.o[e] / l : 0.0f;
  }
  for (int row = threadIdx.x; row < q_count; row += blockDim.x) {
    const float l = sm.l[row];
    p.lse[static_cast<long long>(q0 + row) * p.q_heads + head] = l > 0.0f ? sm.m[row] + logf(l) : -INFINITY;
  }
}

__global__ void merge_kernel(MergeParams p) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < p.rows; i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const float lb = p.lse_block[i];
    if (lb == -INFINITY) continue;
    float* o = p.out + i * p.head_dim;
    const float* ob = p.out_block + i * p.head_dim;
    const float la = p.lse[i];
    if (la == -INFINITY) {
      for (int x = 0; x < p.head_dim; ++x) o[x] = ob[x];
      p.lse[i] = lb;
      continue;
    }
    const float w = 1.0f / (1.0f + expf(la - lb));  // sigmoid(lse_blk - lse)
    for (int x = 0; x < p.head_dim; ++x) o[x] -= w * (o[x] - ob[x]);
    const float diff = la - lb;
    p.lse[i] = diff > 0 ? la + log1pf(expf(-diff)) : lb + log1pf(expf(diff));
  }
}

}  // namespace

int launch_flash_forward(const FlashForwardParams& p, void* stream) {
  if (p.head_dim % 16 != 0 || p.head_dim > kFlashMaxHeadDim || p.q_heads % p.kv_heads != 0) return static_cast<int>(cudaErrorInvalidValue);
  const size_t bytes = smem_bytes(p.head_dim);
  cudaError_t err = cudaFuncSetAttribute(flash_forward_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
  if (err != cudaSuccess) return static_cast<int>(err);
  const dim3 grid((p.n_q + kTile - 1) / kTile, p.q_heads);
  flash_forward_kernel<<<grid, kWarps * 32, bytes, static_cast<cudaStream_t>(stream)>>>(p);
  return static_cast<int>(cudaGetLastError());
}

int launch_merge(const MergeParams& p, void* stream) {
  const int threads = 256;
  const long long blocks = std::min<long long>((p.rows + threads - 1) / threads, 65535);
  merge_kernel<<<static_cast<unsigned>(std::max<long long>(blocks, 1)), threads, 0, static_cast<cudaStream_t>(stream)>>>(p);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace cpsim::cuda
