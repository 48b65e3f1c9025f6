// The kind of device a hardware profile describes and an executor runs on: what decides whether a measurement
// can be set against a prediction (core/measurement.h).
#pragma once

#include <optional>
#include <string_view>

namespace cpsim {

enum class DeviceKind { kCpu, kGpu };

inline std::string_view device_kind_name(DeviceKind kind) { return kind == DeviceKind::kGpu ? "gpu" : "cpu"; }

inline std::optional<DeviceKind> parse_device_kind(std::string_view name) {
  if (name == "gpu") return DeviceKind::kGpu;
  if (name == "cpu") return DeviceKind::kCpu;
  return std::nullopt;
}

}  // namespace cpsim
