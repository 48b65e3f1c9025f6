// cpsim._cpsim: the C++ planner as a Python extension (nanobind). The Pythonic layer is python/cpsim/__init__.py.
#include <sys/stat.h>

#include <cctype>
#include <map>
#include <mutex>

#include <nanobind/stl/string.h>

#include "python/src/bindings.h"

namespace cpsim::py {

namespace {

// "--world-size: 7 ... (or --block-size)" -> "world_size: 7 ... (or block_size)": the same message, each flag
// written as the keyword argument that carries it.
std::string python_message(const std::string& message) {
  std::string out;
  for (std::size_t i = 0; i < message.size(); ++i) {
    const bool flag = message.compare(i, 2, "--") == 0 && i + 2 < message.size() && std::islower(static_cast<unsigned char>(message[i + 2])) &&
                      (i == 0 || !std::isalnum(static_cast<unsigned char>(message[i - 1])));
    if (!flag) {
      out += message[i];
      continue;
    }
    for (i += 2; i < message.size() && (std::isalnum(static_cast<unsigned char>(message[i])) || message[i] == '-'); ++i) {
      out += message[i] == '-' ? '_' : message[i];
    }
    --i;
  }
  return out;
}

// repr(value), cut to stay on one short line.
std::string shown(nb::handle value) {
  const nb::str repr = nb::repr(value);
  const char* text = PyUnicode_AsUTF8(repr.ptr());
  std::string r = text != nullptr ? text : "?";
  if (r.size() > 60) r = r.substr(0, 57) + "...";
  return r + " (" + Py_TYPE(value.ptr())->tp_name + ")";
}

}  // namespace

Error::Error(const std::string& message) : std::runtime_error(python_message(message)) {}

std::int64_t int_arg(nb::handle value, const std::string& name) {
  if (PyBool_Check(value.ptr()) || PyFloat_Check(value.ptr()) || !PyIndex_Check(value.ptr())) {
    throw nb::type_error((name + ": expected an integer, got " + shown(value)).c_str());
  }
  const nb::object index = nb::steal(PyNumber_Index(value.ptr()));
  if (!index.is_valid()) throw nb::python_error();
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
  if (overflow != 0) throw Error(name + ": " + shown(value) + " is out of range");
  return v;
}

std::string str_arg(nb::handle value, const std::string& name) {
  if (!nb::isinstance<nb::str>(value)) throw nb::type_error((name + ": expected a string, got " + shown(value)).c_str());
  return nb::cast<std::string>(value);
}

std::string path_arg(nb::handle value, const std::string& name) {
  if (nb::isinstance<nb::str>(value)) return nb::cast<std::string>(value);
  if (nb::hasattr(value, "__fspath__")) {
    const nb::object p = value.attr("__fspath__")();
    if (nb::isinstance<nb::str>(p)) return nb::cast<std::string>(p);
  }
  throw nb::type_error((name + ": expected a path (str or os.PathLike), got " + shown(value)).c_str());
}

std::vector<std::int64_t> int_list_arg(nb::handle value, const std::string& name) {
  std::vector<std::int64_t> out;
  if (nb::hasattr(value, "dtype") && nb::hasattr(value, "ndim")) {  // numpy: integer arrays only, converted at once
    const std::string kind = nb::cast<std::string>(value.attr("dtype").attr("kind"));
    if ((kind != "i" && kind != "u") || nb::cast<int>(value.attr("ndim")) != 1) {
      const std::string dtype = nb::cast<std::string>(value.attr("dtype").attr("name"));
      const int ndim = nb::cast<int>(value.attr("ndim"));
      throw nb::type_error((name + ": expected a 1-D array of integers, got a " + std::to_string(ndim) + "-D " + dtype + " array").c_str());
    }
    const nb::object items = value.attr("tolist")();
    out.reserve(nb::len(items));
    for (nb::handle x : items) out.push_back(int_arg(x, name));
    return out;
  }
  if (!nb::isinstance<nb::sequence>(value) || nb::isinstance<nb::str>(value) || nb::isinstance<nb::bytes>(value)) {
    throw nb::type_error((name + ": expected a sequence of integers, got " + shown(value)).c_str());
  }
  out.reserve(nb::len(value));
  std::size_t i = 0;
  for (nb::handle x : value) out.push_back(int_arg(x, name + "[" + std::to_string(i++) + "]"));
  return out;
}

std::shared_ptr<const HardwareProfile> hardware_profile(const std::string& name_or_path) {
  // The file find_hardware_profile reads (a name is a file of the shipped folder): its time and size key the cache,
  // so a profile that `cpsim calibrate` rewrites is read again.
  const std::string file = hardware_profile_file(name_or_path);
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
