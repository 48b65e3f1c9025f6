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
  // Tells the other ranks this one has failed, so their waits end at once.
  virtual void abort(const std::string& why) = 0;
};

}  // namespace cpsim
