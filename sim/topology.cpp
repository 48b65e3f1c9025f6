// Builds the topology graph and derives ring-hop costs from shortest (lowest-latency) paths.
#include "sim/topology.h"

#include <algorithm>
#include <limits>
#include <string>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/dijkstra_shortest_paths.hpp>

namespace cpsim {
namespace {

enum class VertexKind { kGpu, kNvSwitch, kNic, kInfiniBand };

struct VertexInfo {
  VertexKind kind = VertexKind::kGpu;
  std::int64_t node = 0;
};

struct LinkInfo {
  double p2p_bandwidth_gb_s = 0;
  double collective_busbw_gb_s = 0;
  double latency_us = 0;
};

using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, VertexInfo, LinkInfo>;
using Vertex = boost::graph_traits<Graph>::vertex_descriptor;

// Each link carries half the path latency, so GPU -> switch -> GPU costs the profile's latency once.
LinkInfo half_link(const LinkSpec& spec) {
  return {spec.p2p_bandwidth_gb_s, spec.collective_busbw_gb_s, spec.latency_us / 2};
}

struct Machine {
  Graph graph;
  std::vector<Vertex> gpus;  // by global GPU index
};

Machine build_graph(const HardwareProfile& p) {
  Machine m;
  Vertex fabric{};
  const bool multi_node = p.nodes > 1;
  if (multi_node) fabric = boost::add_vertex(VertexInfo{VertexKind::kInfiniBand, -1}, m.graph);
  for (std::int64_t node = 0; node < p.nodes; ++node) {
    const Vertex sw = boost::add_vertex(VertexInfo{VertexKind::kNvSwitch, node}, m.graph);
    for (std::int64_t g = 0; g < p.gpus_per_node; ++g) {
      const Vertex gpu = boost::add_vertex(VertexInfo{VertexKind::kGpu, node}, m.graph);
      m.gpus.push_back(gpu);
      boost::add_edge(gpu, sw, half_link(p.nvlink), m.graph);
      if (multi_node) {  // one NIC per GPU (rail-optimised DGX layout)
        const Vertex nic = boost::add_vertex(VertexInfo{VertexKind::kNic, node}, m.graph);
        boost::add_edge(gpu, nic, LinkInfo{p.infiniband.p2p_bandwidth_gb_s, p.infiniband.collective_busbw_gb_s, 0.0}, m.graph);
        boost::add_edge(nic, fabric, half_link(p.infiniband), m.graph);
      }
    }
  }
  return m;
}

PathCost path_cost(const Machine& m, Vertex from, Vertex to) {
  const auto n = boost::num_vertices(m.graph);
  std::vector<Vertex> pred(n);
  std::vector<double> dist(n);
  boost::dijkstra_shortest_paths(
      m.graph, from,
      boost::predecessor_map(boost::make_iterator_property_map(pred.begin(), boost::get(boost::vertex_index, m.graph)))
          .distance_map(boost::make_iterator_property_map(dist.begin(), boost::get(boost::vertex_index, m.graph)))
          .weight_map(boost::get(&LinkInfo::latency_us, m.graph)));
  PathCost cost;
  cost.p2p_bandwidth_gb_s = std::numeric_limits<double>::infinity();
  cost.collective_busbw_gb_s = std::numeric_limits<double>::infinity();
  for (Vertex v = to; v != from; v = pred[v]) {
    const auto [edge, found] = boost::edge(pred[v], v, m.graph);
    if (!found) break;  // unreachable: cannot happen in the graphs built above
    const LinkInfo& link = m.graph[edge];
    cost.p2p_bandwidth_gb_s = std::min(cost.p2p_bandwidth_gb_s, link.p2p_bandwidth_gb_s);
    cost.collective_busbw_gb_s = std::min(cost.collective_busbw_gb_s, link.collective_busbw_gb_s);
    cost.latency_us += link.latency_us;
  }
  cost.crosses_nodes = m.graph[from].node != m.graph[to].node;
  return cost;
}

}  // namespace

Result<Topology> Topology::build(const HardwareProfile& profile, std::int64_t world_size) {
  if (world_size > profile.total_gpus()) {
    return bad_input("--world-size: " + std::to_string(world_size) + " ranks need more GPUs than profile " + profile.name +
                     " has (" + std::to_string(profile.nodes) + " node(s) x " + std::to_string(profile.gpus_per_node) +
                     " = " + std::to_string(profile.total_gpus()) + ")");
  }
  Topology t;
  t.world_size_ = world_size;
  t.gpus_per_node_ = profile.gpus_per_node;
  const Machine m = build_graph(profile);
  for (std::int64_t r = 0; r < world_size; ++r) {
    const std::int64_t next = (r + 1) % world_size;
    if (next == r) {
      t.ring_hops_.push_back({});  // W = 1: nothing moves
      continue;
    }
    t.ring_hops_.push_back(path_cost(m, m.gpus[static_cast<std::size_t>(r)], m.gpus[static_cast<std::size_t>(next)]));
  }
  return t;
}

std::int64_t Topology::inter_node_ring_hops() const {
  return std::count_if(ring_hops_.begin(), ring_hops_.end(), [](const PathCost& c) { return c.crosses_nodes; });
}

double Topology::ring_shift_us(double bytes) const {
  if (world_size_ <= 1) return 0;
  double slowest = 0;
  for (const PathCost& hop : ring_hops_) {
    slowest = std::max(slowest, hop.latency_us + bytes / (hop.p2p_bandwidth_gb_s * 1e3));  // GB/s = 1e3 bytes/us
  }
  return slowest;
}

double Topology::ring_collective_us(double total_bytes) const {
  if (world_size_ <= 1) return 0;
  double alpha = 0;
  double busbw = std::numeric_limits<double>::infinity();
  for (const PathCost& hop : ring_hops_) {
    alpha = std::max(alpha, hop.latency_us);
    busbw = std::min(busbw, hop.collective_busbw_gb_s);
  }
  const auto w = static_cast<double>(world_size_);
  return (w - 1) * alpha + (w - 1) / w * total_bytes / (busbw * 1e3);
}

}  // namespace cpsim
