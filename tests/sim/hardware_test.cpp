// Hardware profiles: the shipped ones load with their kernels; missing, out-of-range or unsourced numbers,
// unknown kernels' fields and bad "kernels_from" are refused with the field named.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/json_fields.h"
#include "sim/hardware.h"

namespace cpsim {
namespace {

std::string shipped(const std::string& name) { return std::string(CPSIM_SOURCE_DIR) + "/data/hardware/" + name + ".json"; }

std::string error_for(const std::function<void(Json&)>& edit, const std::string& name = "h100-sxm-8x") {
  auto doc = read_json_file(shipped(name));
  EXPECT_TRUE(doc.ok());
  edit(*doc);
  // Beside the shipped profiles, so that "kernels_from" finds them.
  const std::string path = shipped("cpsim-profile-test-" + std::to_string(::getpid()));
  std::ofstream(path) << doc->dump();
  auto p = load_hardware_profile(path);
  std::filesystem::remove(path);
  return p.ok() ? "" : p.error().message.substr(p.error().message.find(": ") + 2);
}

TEST(HardwareProfile, ShippedProfilesLoad) {
  for (const char* name : {"h100-sxm-8x", "h200-sxm-8x", "h100-sxm-ib", "h800-sxm-8x", "cpu-threads"}) {
    auto p = load_hardware_profile(shipped(name));
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_EQ(p->name, name);
    EXPECT_FALSE(p->kernels.empty());
  }
  auto ib = load_hardware_profile(shipped("h100-sxm-ib"));
  EXPECT_EQ(ib->max_gpus(), 64);  // node.max_nodes caps it
  EXPECT_EQ(load_hardware_profile(shipped("h100-sxm-8x"))->max_gpus(), 1024);  // more nodes of it, up to cpsim's limit
  EXPECT_EQ(load_hardware_profile(shipped("cpu-threads"))->max_gpus(), 1024);  // one node of 1024 threads, no fabric
  EXPECT_TRUE(ib->infiniband.present);
  EXPECT_EQ(ib->kernels_from, "h100-sxm-8x");
  auto h100 = load_hardware_profile(shipped("h100-sxm-8x"));
  EXPECT_EQ(h100->kernel_names(), "fa2, cudnn, fa3, flex, cpsim");
  EXPECT_EQ(ib->kernel_names(), h100->kernel_names());
  auto h200 = load_hardware_profile(shipped("h200-sxm-8x"));
  EXPECT_DOUBLE_EQ(h200->hbm_bandwidth_tb_s, 4.8);
  // Efficiency between the 64/128/256 points is linear in log2(head dim); the tile is the nearest one's.
  const KernelSpec& fa2 = *h100->kernel("fa2");
  const double e64 = fa2.forward.by_hdim[0].efficiency.value, e128 = fa2.forward.by_hdim[1].efficiency.value;
  EXPECT_DOUBLE_EQ(fa2.at(false, 128).efficiency.value, e128);
  EXPECT_NEAR(fa2.at(false, 96).efficiency.value, e64 + (std::log2(96.0) - 6) * (e128 - e64), 1e-12);
  EXPECT_DOUBLE_EQ(fa2.at(false, 512).efficiency.value, fa2.forward.by_hdim[2].efficiency.value);
  EXPECT_EQ(fa2.at(false, 96).tile_k, fa2.forward.by_hdim[1].tile_k);
  EXPECT_EQ(fa2.at(false, 80).tile_k, fa2.forward.by_hdim[0].tile_k);
  EXPECT_EQ(fa2.interface, KernelInterface::kSdpa);
  // Which numbers are estimates is kept: cpsim's own kernel was never measured.
  EXPECT_TRUE(h100->kernel("cpsim")->estimated());
  EXPECT_FALSE(fa2.estimated());
  EXPECT_NE(std::find(h100->estimates.begin(), h100->estimates.end(), "kernels.cpsim.forward.hdim128.efficiency"), h100->estimates.end());
}

TEST(HardwareProfile, BadFieldsNameFieldAndValue) {
  EXPECT_EQ(error_for([](Json& d) { d["gpu"].erase("sm_count"); }), "gpu.sm_count: missing");
  EXPECT_EQ(error_for([](Json& d) { d["gpu"]["sm_count"]["value"] = -132; }), "gpu.sm_count.value: must be a positive number, got -132");
  EXPECT_EQ(error_for([](Json& d) { d["gpu"]["peak_bf16_tflops"]["value"] = "fast"; }),
            "gpu.peak_bf16_tflops.value: expected a number, got \"fast\"");
  EXPECT_EQ(error_for([](Json& d) { d["gpu"]["hbm_gb"].erase("source"); }),
            "gpu.hbm_gb.source: missing: every number in a profile needs a source");
  EXPECT_EQ(error_for([](Json& d) { d["kernels"]["fa2"]["forward"]["hdim128"]["efficiency"]["value"] = 1.5; }),
            "kernels.fa2.forward.hdim128.efficiency.value: must be at most 1, got 1.5");
  EXPECT_EQ(error_for([](Json& d) { d["links"]["nvlink"]["p2p"]["latency_us"]["value"] = -1; }),
            "links.nvlink.p2p.latency_us.value: must be zero or positive, got -1");
  EXPECT_EQ(error_for([](Json& d) {
              d["node"]["max_nodes"] = Json{{"value", 2}, {"source", "s"}};
              d["links"].erase("infiniband");
            }),
            "links.infiniband: missing: node.max_nodes 2 needs an inter-node link");
  EXPECT_EQ(error_for([](Json& d) { d["node"]["nodes"] = Json{{"value", 2}, {"source", "s"}}; }).substr(0, 48),
            "node.nodes: replaced by node.max_nodes, an optio");
  EXPECT_EQ(error_for([](Json& d) { d["node"]["gpus_per_node"]["value"] = 7.5; }), "node.gpus_per_node.value: must be a whole number, got 7.5");
  EXPECT_EQ(error_for([](Json& d) { d["schema_version"] = 1; }).substr(0, 46), "schema_version: unsupported version 1 (this cp");
}

TEST(HardwareProfile, KernelsAreCheckedField_by_field) {
  EXPECT_EQ(error_for([](Json& d) { d["kernels"]["fa2"]["interface"] = "cuda"; }),
            "kernels.fa2.interface: expected sdpa, flex, block_sparse or any, got \"cuda\"");
  EXPECT_EQ(error_for([](Json& d) { d["kernels"]["fa2"]["forward"]["hdim64"]["tile"]["value"] = Json::array({100, 64}); }),
            "kernels.fa2.forward.hdim64.tile.value: expected [queries, keys] (multiples of 16 up to 1048576) or \"block\", got [100,64]");
  EXPECT_EQ(error_for([](Json& d) { d["kernels"]["fa2"]["backward"].erase("hdim256"); }), "kernels.fa2.backward.hdim256: missing");
  EXPECT_EQ(error_for([](Json& d) { d["kernels"]["fa2"]["forward"]["hdim64"]["efficency"] = d["kernels"]["fa2"]["forward"]["hdim64"]["efficiency"]; }),
            "kernels.fa2.forward.hdim64.efficency: unknown field (expected one of: tile, efficiency, cta_overhead_tiles, partial_tile_cost)");
  EXPECT_EQ(error_for([](Json& d) { d["kernels"]["Fa-2"] = d["kernels"]["fa2"]; }), "kernels.Fa-2: a kernel name is 1 to 32 of a-z, 0-9 and _");
  EXPECT_EQ(error_for([](Json& d) { d["kernels"] = Json::object(); }), "kernels: lists no kernel");
  EXPECT_EQ(error_for([](Json& d) { d.erase("kernels"); }), "kernels: missing: a profile lists its kernels (or names \"kernels_from\")");
  EXPECT_EQ(error_for([](Json& d) { d["kernels_from"] = "h200-sxm-8x"; }), "kernels: give \"kernels\" or \"kernels_from\", not both");
}

TEST(HardwareProfile, KernelsFromNamesAProfileThatListsThem) {
  EXPECT_EQ(error_for([](Json& d) { d["kernels_from"] = "nowhere"; }, "h200-sxm-8x").rfind("kernels_from: \"nowhere\": --hardware: unknown profile", 0), 0u);
  // A chain (or a profile naming itself) stops at the first level.
  EXPECT_EQ(error_for([](Json& d) { d["kernels_from"] = "h800-sxm-8x"; }, "h200-sxm-8x"),
            "kernels_from: \"h800-sxm-8x\": " + shipped("h800-sxm-8x") +
                ": kernels_from: \"h100-sxm-8x\": the profile \"kernels_from\" names must list its own kernels");
}

// Numbers that pass as numbers but mean nothing: every field has a range, so no profile gives an infinite or NaN
// step time; a blank source is no source; the device kind is one of two.
TEST(HardwareProfile, EveryNumberHasARange) {
  EXPECT_EQ(error_for([](Json& d) { d["gpu"]["sm_count"]["value"] = 1e300; }), "gpu.sm_count.value: must be at most 100000, got 1e+300");
  EXPECT_EQ(error_for([](Json& d) { d["links"]["nvlink"]["p2p"]["busbw_gb_s"]["value"] = 5e-324; }),
            "links.nvlink.p2p.busbw_gb_s.value: must be a number above 0.001, got 5e-324");
  EXPECT_EQ(error_for([](Json& d) { d["gpu"]["peak_bf16_tflops"]["value"] = 1e300; }),
            "gpu.peak_bf16_tflops.value: must be at most 1e+06, got 1e+300");
  EXPECT_EQ(error_for([](Json& d) { d["kernels"]["fa3"]["backward"]["hdim64"]["efficiency"]["value"] = 1e-300; }),
            "kernels.fa3.backward.hdim64.efficiency.value: must be a number above 0.0001, got 1e-300");
  EXPECT_EQ(error_for([](Json& d) { d["kernels"]["flex"]["forward"]["launch_us"]["value"] = 1e12; }),
            "kernels.flex.forward.launch_us.value: must be at most 1e+06, got 1000000000000.0");
  EXPECT_EQ(error_for([](Json& d) { d["kernels"]["flex"]["forward"]["hdim64"]["partial_tile_cost"]["value"] = 0; }),
            "kernels.flex.forward.hdim64.partial_tile_cost.value: must be a number above 0.001, got 0");
  EXPECT_EQ(error_for([](Json& d) { d["gpu"]["hbm_gb"]["source"] = "  \t"; }), "gpu.hbm_gb.source: blank: every number in a profile needs a source");
  EXPECT_EQ(error_for([](Json& d) { d["gpu"]["hbm_gb"]["estimate"] = "yes"; }), "gpu.hbm_gb.estimate: expected true or false, got \"yes\"");
  EXPECT_EQ(error_for([](Json& d) { d["device_kind"] = "tpu"; }), "device_kind: expected \"gpu\" or \"cpu\", got \"tpu\"");
  EXPECT_EQ(error_for([](Json& d) { d["model_error"]["median"] = -0.1; }), "model_error.median: expected a fraction from 0 to 10, got -0.1");
}

TEST(HardwareProfile, LinkCurvesRampWithTheMessage) {
  const OpCurve c{20, 3, 350};
  EXPECT_DOUBLE_EQ(c.time_us(1000), 20);                  // below the floor
  EXPECT_DOUBLE_EQ(c.time_us(350e6), 3 + 1000);           // latency + bytes / bandwidth
  EXPECT_DOUBLE_EQ(c.time_us(350e6, 7), 7 * 3 + 1000);    // per-step latency of a ring collective
  // The bandwidth a user sees ramps with the message size.
  EXPECT_LT(1e6 / c.time_us(1e6), 350e6 / c.time_us(350e6));
}

TEST(HardwareProfile, UnknownNameListsTheShippedOnes) {
  auto p = find_hardware_profile("a100-dgx");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("--hardware: unknown profile \"a100-dgx\""), std::string::npos);
  EXPECT_NE(p.error().message.find("h100-sxm-8x"), std::string::npos);
}

}  // namespace
}  // namespace cpsim
