// per_document_head_tail: PyTorch's _PerDocumentHeadTailLoadBalancer, newest rank-major layout
// (pytorch/pytorch#189902): head-tail inside every document, and rank r's slot block concatenates,
// in document order, its (head, tail) chunk of each document.
#include "../balancer.h"

namespace cpsim {
namespace {

class PerDocumentHeadTailBalancer final : public Balancer {
 public:
  std::string_view name() const override { return "per_document_head_tail"; }
  bool from_pytorch() const override { return true; }
  std::string_view summary() const override {
    return "PyTorch _PerDocumentHeadTailLoadBalancer (rank-major): head-tail inside each document; "
           "needs every document length % 2W == 0";
  }
  Result<std::vector<Permutation>> rearrange(const BalancerInput& in) const override {
    if (auto ok = check_balancer_input(in); !ok) return ok.error();
    const std::int64_t w = in.world_size;
    const std::int64_t two_w = 2 * w;
    std::vector<Permutation> rows;
    rows.reserve(in.workload.documents.size());
    for (std::size_t row = 0; row < in.workload.documents.size(); ++row) {
      const auto& docs = in.workload.documents[row];
      for (std::size_t d = 0; d < docs.size(); ++d) {
        if (docs[d] % two_w != 0) {
          const std::int64_t padded = (docs[d] + two_w - 1) / two_w * two_w;
          return bad_input(in.source + ": documents[" + std::to_string(row) + "][" + std::to_string(d) +
                           "]: length " + std::to_string(docs[d]) + " is not a multiple of 2*W = " +
                           std::to_string(two_w) + " (per_document_head_tail cuts every document into 2W chunks); "
                           "pad it to " + std::to_string(padded) + " (+" + std::to_string(padded - docs[d]) +
                           " tokens), e.g. `--multiple-of " + std::to_string(two_w) + "` on cpsim generate or cpsim import");
        }
      }
      Permutation perm;
      perm.reserve(static_cast<std::size_t>(in.workload.seq_len));
      for (std::int64_t r = 0; r < w; ++r) {
        std::int64_t start = 0;
        for (const std::int64_t len : docs) {
          const std::int64_t chunk = len / two_w;
          for (const std::int64_t c : {r, two_w - 1 - r}) {
            for (std::int64_t i = 0; i < chunk; ++i) perm.push_back(start + c * chunk + i);
          }
          start += len;
        }
      }
      rows.push_back(std::move(perm));
    }
    return rows;
  }
};

}  // namespace

std::unique_ptr<Balancer> make_per_document_head_tail_balancer() {
  return std::make_unique<PerDocumentHeadTailBalancer>();
}

}  // namespace cpsim
