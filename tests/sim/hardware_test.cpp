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
            "gpu.attn_fwd_efficiency_hdim128.value: must be at most 1.0, got 1.5");
  EXPECT_EQ(error_for([](Json& d) { d["links"]["nvlink"]["latency_us"]["value"] = 0; }),
            "links.nvlink.latency_us.value: must be a positive number, got 0");
  EXPECT_EQ(error_for([](Json& d) { d["node"]["nodes"]["value"] = 2; }),
            "links.infiniband: missing: a profile with more than one node needs an inter-node link");
  EXPECT_EQ(error_for([](Json& d) { d["node"]["gpus_per_node"]["value"] = 7.5; }), "node.gpus_per_node.value: must be a whole number, got 7.5");
}

TEST(HardwareProfile, UnknownNameListsTheShippedOnes) {
  auto p = find_hardware_profile("a100-dgx");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("--hardware: unknown profile \"a100-dgx\""), std::string::npos);
  EXPECT_NE(p.error().message.find("h100-sxm-8x"), std::string::npos);
}

}  // namespace
}  // namespace cpsim
