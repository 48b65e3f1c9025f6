// cpsim._cpsim: the C++ planner as a Python extension (nanobind). The Pythonic layer is python/cpsim/__init__.py.
#include <sys/stat.h>

#include <map>
#include <mutex>

#include "python/src/bindings.h"

namespace cpsim::py {

namespace {

// "--world-size: 7 does not ..." -> "world_size: 7 does not ...": the same message, with the keyword's name.
std::string python_message(const std::string& message) {
  if (!message.starts_with("--")) return message;
  const std::size_t colon = message.find(':');
  if (colon == std::string::npos) return message;
  std::string name = message.substr(2, colon - 2);
  for (char& ch : name) {
    if (ch == '-') ch = '_';
  }
  return name + message.substr(colon);
}

}  // namespace

Error::Error(const std::string& message) : std::runtime_error(python_message(message)) {}

std::shared_ptr<const HardwareProfile> hardware_profile(const std::string& name_or_path) {
  // The file find_hardware_profile reads (a name is a file of the shipped folder): its time and size key the cache,
  // so a profile that `cpsim calibrate` rewrites is read again.
  const bool is_path = name_or_path.find('/') != std::string::npos || name_or_path.ends_with(".json");
  const std::string file = is_path ? name_or_path : hardware_dir() + "/" + name_or_path + ".json";
  struct stat st {};
  const bool found = ::stat(file.c_str(), &st) == 0;
  const auto version = std::make_pair(found ? st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec : -1LL,
                                      found ? static_cast<long long>(st.st_size) : -1LL);
  static std::mutex mutex;
  static std::map<std::string, std::pair<std::pair<long long, long long>, std::shared_ptr<const HardwareProfile>>> cache;
  {
    const std::lock_guard lock(mutex);
    if (auto it = cache.find(file); found && it != cache.end() && it->second.first == version) return it->second.second;
  }
  auto profile = std::make_shared<const HardwareProfile>(value_or_raise(find_hardware_profile(name_or_path)));
  const std::lock_guard lock(mutex);
  if (cache.size() > 64) cache.clear();  // bounded: a loop over many calibrated files does not grow it
  cache[file] = {version, profile};
  return profile;
}

nb::object to_python(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null: return nb::none();
    case Json::value_t::boolean: return nb::bool_(value.get<bool>());
    case Json::value_t::number_integer: return nb::int_(value.get<std::int64_t>());
    case Json::value_t::number_unsigned: return nb::int_(value.get<std::uint64_t>());
    case Json::value_t::number_float: return nb::float_(value.get<double>());
    case Json::value_t::string: return nb::str(value.get_ref<const std::string&>().c_str());
    case Json::value_t::array: {
      nb::list out;
      for (const Json& x : value) out.append(to_python(x));
      return out;
    }
    case Json::value_t::object: {
      nb::dict out;
      for (const auto& [k, x] : value.items()) out[nb::str(k.c_str())] = to_python(x);
      return out;
    }
    default: return nb::none();
  }
}

}  // namespace cpsim::py

NB_MODULE(_cpsim, m) {
  namespace nb = nanobind;
  m.doc() = "cpsim's planner and simulator (C++); use the cpsim package, which wraps this module.";
  nb::exception<cpsim::py::Error>(m, "Error", PyExc_ValueError);
  cpsim::py::bind_workload(m);
  cpsim::py::bind_plan(m);
  cpsim::py::bind_planning(m);
}
