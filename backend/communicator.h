// How ranks exchange K/V: one interface for threads (in-process) and processes (MPI). Every wait has a
// deadline; a peer that fails or hangs turns into an error that names it, never a hang.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace cpsim {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual std::int64_t rank() const = 0;
  virtual std::int64_t size() const = 0;
  // Sends `send` to rank + 1 and receives from rank - 1 (PyTorch's alltoall rotater: one ring shift).
  virtual Status ring_shift(const std::vector<float>& send, std::vector<float>& received, std::int64_t step) = 0;
  // Every rank's buffer, in rank order (all buffers have the same size).
  virtual Status all_gather(const std::vector<float>& mine, std::vector<std::vector<float>>& all) = 0;
  // Personalised exchange (all-to-all-v, the sparse gather's transfers): sends send[t] to every other rank t
  // and receives received[s] from every other rank s. Both sides know the sizes from the plan: received[s]
  // must be sized beforehand, and a buffer of another size is an error. Tags [tag, tag + W) are reserved
  // for the exchange (one per sender).
  virtual Status all_to_all_v(const std::vector<std::vector<float>>& send, std::vector<std::vector<float>>& received,
                              std::int64_t tag) = 0;
  // Tells the other ranks this one has failed, so their waits end at once.
  virtual void abort(const std::string& why) = 0;
};

}  // namespace cpsim
