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

Result<Topology> Topology::build(const HardwareProfile& profile, std::int64_t world_size, std::int64_t stride) {
  if (world_size * stride > profile.total_gpus()) {
    if (stride > 1) {
      return bad_input("--world-size: " + std::to_string(world_size * stride) + " GPUs (" + std::to_string(world_size) +
                       " ring ranks x Ulysses " + std::to_string(stride) + ") exceed profile " + profile.name + "'s " +
                       std::to_string(profile.total_gpus()));
    }
    // Either side may be the mistake: name the profile's file and both of its numbers.
    return bad_input("--world-size: " + std::to_string(world_size) + " ranks need more GPUs than profile " + profile.name +
                     " has (" + std::to_string(profile.nodes) + " node(s) x " + std::to_string(profile.gpus_per_node) +
                     " = " + std::to_string(profile.total_gpus()) + ": node.nodes x node.gpus_per_node in " + profile.source + ")");
  }
  Topology t;
  t.world_size_ = world_size;
  t.gpus_per_node_ = profile.gpus_per_node;
  t.stride_ = stride;
  const Machine m = build_graph(profile);
  auto gpu = [&](std::int64_t rank) { return m.gpus[static_cast<std::size_t>(rank * stride)]; };
  for (std::int64_t r = 0; r < world_size; ++r) {
    const std::int64_t next = (r + 1) % world_size;
    if (next == r) {
      t.ring_hops_.push_back({});  // W = 1: nothing moves
      continue;
    }
    t.ring_hops_.push_back(path_cost(m, gpu(r), gpu(next)));
  }
  if (profile.gpus_per_node > 1) t.intra_node_ = path_cost(m, m.gpus[0], m.gpus[1]);
  if (profile.nodes > 1) t.inter_node_ = path_cost(m, m.gpus[0], m.gpus[static_cast<std::size_t>(profile.gpus_per_node)]);
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

std::vector<double> Topology::all_to_all_v_us(const std::vector<double>& bytes) const {
  const std::int64_t w = world_size_;
  std::vector<double> out(static_cast<std::size_t>(w), 0.0);
  for (std::int64_t r = 0; r < w; ++r) {
    double sent[2] = {0, 0}, received[2] = {0, 0};  // [0] same node, [1] other nodes
    for (std::int64_t p = 0; p < w; ++p) {
      if (p == r) continue;
      const int far = node_of_rank(p) != node_of_rank(r) ? 1 : 0;
      sent[far] += bytes[static_cast<std::size_t>(p * w + r)];
      received[far] += bytes[static_cast<std::size_t>(r * w + p)];
    }
    double slowest = 0;
    for (const int far : {0, 1}) {
      const double volume = std::max(sent[far], received[far]);
      if (volume <= 0) continue;
      const PathCost& link = far ? inter_node_ : intra_node_;
      slowest = std::max(slowest, link.latency_us + volume / (link.p2p_bandwidth_gb_s * 1e3));
    }
    out[static_cast<std::size_t>(r)] = slowest;
  }
  return out;
}

}  // namespace cpsim
