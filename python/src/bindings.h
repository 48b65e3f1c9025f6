// What the binding files share: the Python-side objects (immutable, so planning can run without the GIL), the
// one way a cpsim error becomes cpsim.Error, and JSON and index arrays as Python values.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/json_fields.h"
#include "core/plan.h"
#include "core/result.h"
#include "core/workload.h"
#include "sim/hardware.h"

namespace cpsim::py {

namespace nb = nanobind;

// Raised for every cpsim error; Python sees it as cpsim.Error (a ValueError) with the CLI's message, flags named as
// the keyword arguments are ("--world-size: ..." reads "world_size: ...").
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message);
};

// The value of a Result, or cpsim.Error.
template <typename T>
T value_or_raise(Result<T> result) {
  if (!result) throw Error(result.error().message);
  return std::move(*result);
}
inline void raise_if_error(const Status& status) {
  if (!status) throw Error(status.error().message);
}

// A workload as Python holds it: validated once when made, never changed after (methods return new objects).
struct PyWorkload {
  Workload workload;
  std::string source;  // the file it came from, or "workload"
};

// A plan with what Python adds: who runs it (when a strategy is attached) and the profile it was predicted on.
struct PyPlan {
  Plan plan;
  std::string runtime;       // "pytorch", "cpsim", "simulated", or "" without a strategy
  std::string runtime_note;  // how to run it, or why nothing does
};

// The plan with its runtime filled in from its strategy on `profile` (none: the plan's own hardware, when it loads).
PyPlan with_runtime(Plan plan, const HardwareProfile* profile);

// Arguments checked as the CLI checks flags, one line each: an integer (Python int or numpy integer; bool and float
// are refused, as "8.5" is on the command line), a string, a path (str or os.PathLike). Wrong types raise TypeError.
std::int64_t int_arg(nb::handle value, const std::string& name);
std::string str_arg(nb::handle value, const std::string& name);
std::string path_arg(nb::handle value, const std::string& name);
// Integers from a sequence or a numpy integer array; `name` prefixes errors ("lengths[3]: ...").
std::vector<std::int64_t> int_list_arg(nb::handle value, const std::string& name);

// A hardware profile by name or file, loaded once per file version (the cache keys on the file's time and size).
std::shared_ptr<const HardwareProfile> hardware_profile(const std::string& name_or_path);

// JSON as Python values (dict, list, str, int, float, bool, None); the reverse for JSON-shaped Python values.
nb::object to_python(const Json& value);

// A numpy array of `shape` (row-major) that owns `values`: no copy back into Python objects.
template <typename T>
nb::ndarray<nb::numpy, T> numpy_array(std::vector<T> values, std::initializer_list<std::size_t> shape) {
  auto* data = new std::vector<T>(std::move(values));
  nb::capsule owner(data, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T>(data->data(), shape.size(), shape.begin(), owner);
}

void bind_workload(nb::module_& m);
void bind_plan(nb::module_& m);
void bind_planning(nb::module_& m);

}  // namespace cpsim::py
