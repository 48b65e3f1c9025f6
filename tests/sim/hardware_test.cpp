// Hardware profiles: the shipped ones load; missing, negative or unsourced numbers are refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/json_fields.h"
#include "sim/hardware.h"

namespace cpsim {
namespace {

std::string shipped(const std::string& name) { return std::string(CPSIM_SOURCE_DIR) + "/data/hardware/" + name + ".json"; }

std::string error_for(const std::function<void(Json&)>& edit) {
  auto doc = read_json_file(shipped("h100-sxm-8x"));
  EXPECT_TRUE(doc.ok());
  edit(*doc);
  const std::string path = (std::filesystem::temp_directory_path() / "cpsim_profile_test.json").string();
  std::ofstream(path) << doc->dump();
  auto p = load_hardware_profile(path);
  std::filesystem::remove(path);
  return p.ok() ? "" : p.error().message.substr(p.error().message.find(": ") + 2);
}

TEST(HardwareProfile, ShippedProfilesLoad) {
  for (const char* name : {"h100-sxm-8x", "h200-sxm-8x", "h100-sxm-ib"}) {
    auto p = load_hardware_profile(shipped(name));
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_EQ(p->name, name);
  }
  auto ib = load_hardware_profile(shipped("h100-sxm-ib"));
  EXPECT_EQ(ib->total_gpus(), 64);
  EXPECT_TRUE(ib->infiniband.present);
  auto h200 = load_hardware_profile(shipped("h200-sxm-8x"));
  EXPECT_DOUBLE_EQ(h200->hbm_bandwidth_tb_s, 4.8);
  // Efficiency between the 64/128/256 points is linear in log2(head dim).
  EXPECT_DOUBLE_EQ(ib->fwd_efficiency(128), 0.655);
  EXPECT_NEAR(ib->fwd_efficiency(96), 0.50 + (std::log2(96.0) - 6) * (0.655 - 0.50), 1e-12);
  EXPECT_DOUBLE_EQ(ib->fwd_efficiency(512), 0.76);
}

TEST(HardwareProfile, BadFieldsNameFieldAndValue) {
  EXPECT_EQ(error_for([](Json& d) { d["gpu"].erase("sm_count"); }), "gpu.sm_count: missing");
  EXPECT_EQ(error_for([](Json& d) { d["gpu"]["sm_count"]["value"] = -132; }), "gpu.sm_count.value: must be a positive number, got -132");
  EXPECT_EQ(error_for([](Json& d) { d["gpu"]["peak_bf16_tflops"]["value"] = "fast"; }),
            "gpu.peak_bf16_tflops.value: expected a number, got \"fast\"");
  EXPECT_EQ(error_for([](Json& d) { d["gpu"]["hbm_gb"].erase("source"); }),
            "gpu.hbm_gb.source: missing: every number in a profile needs a source");
  EXPECT_EQ(error_for([](Json& d) { d["gpu"]["attn_fwd_efficiency_hdim128"]["value"] = 1.5; }),
            "gpu.attn_fwd_efficiency_hdim128.value: must be at most 1, got 1.5");
  EXPECT_EQ(error_for([](Json& d) { d["links"]["nvlink"]["latency_us"]["value"] = 0; }),
            "links.nvlink.latency_us.value: must be a positive number, got 0");
  EXPECT_EQ(error_for([](Json& d) { d["node"]["nodes"]["value"] = 2; }),
            "links.infiniband: missing: a profile with more than one node needs an inter-node link");
  EXPECT_EQ(error_for([](Json& d) { d["node"]["gpus_per_node"]["value"] = 7.5; }), "node.gpus_per_node.value: must be a whole number, got 7.5");
}

// Numbers that pass as numbers but mean nothing: every field has a range, so no profile gives an infinite or NaN
// step time; a blank source is no source; the device kind is one of two.
TEST(HardwareProfile, EveryNumberHasARange) {
  EXPECT_EQ(error_for([](Json& d) { d["gpu"]["sm_count"]["value"] = 1e300; }), "gpu.sm_count.value: must be at most 100000, got 1e+300");
  EXPECT_EQ(error_for([](Json& d) { d["links"]["nvlink"]["p2p_bandwidth_gb_s"]["value"] = 5e-324; }),
            "links.nvlink.p2p_bandwidth_gb_s.value: must be a number above 0.001, got 5e-324");
  EXPECT_EQ(error_for([](Json& d) { d["gpu"]["peak_bf16_tflops"]["value"] = 1e300; }),
            "gpu.peak_bf16_tflops.value: must be at most 1e+06, got 1e+300");
  EXPECT_EQ(error_for([](Json& d) { d["gpu"]["attn_fwd_efficiency_hdim64"]["value"] = 1e-300; }),
            "gpu.attn_fwd_efficiency_hdim64.value: must be a number above 0.0001, got 1e-300");
  EXPECT_EQ(error_for([](Json& d) { d["gpu"]["kernel_launch_us"]["value"] = 1e12; }), "gpu.kernel_launch_us.value: must be at most 1e+06, got 1000000000000.0");
  EXPECT_EQ(error_for([](Json& d) { d["gpu"]["hbm_gb"]["source"] = "  \t"; }), "gpu.hbm_gb.source: blank: every number in a profile needs a source");
  EXPECT_EQ(error_for([](Json& d) { d["device_kind"] = "tpu"; }), "device_kind: expected \"gpu\" or \"cpu\", got \"tpu\"");
}

TEST(HardwareProfile, UnknownNameListsTheShippedOnes) {
  auto p = find_hardware_profile("a100-dgx");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("--hardware: unknown profile \"a100-dgx\""), std::string::npos);
  EXPECT_NE(p.error().message.find("h100-sxm-8x"), std::string::npos);
}

}  // namespace
}  // namespace cpsim
