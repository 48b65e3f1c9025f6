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
  std::array<OpCurve, 4> ops;  // by CommOp
  double latency_us = 0;       // of send/recv: the weight shortest paths minimise
};

using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, VertexInfo, LinkInfo>;
using Vertex = boost::graph_traits<Graph>::vertex_descriptor;

// Each link carries half the path latency, so GPU -> switch -> GPU costs the profile's latency once.
LinkInfo half_link(const LinkSpec& spec) {
  LinkInfo l;
  l.ops = spec.ops;
  for (OpCurve& c : l.ops) c.latency_us /= 2;
  l.latency_us = l.ops[0].latency_us;
  return l;
}

// The GPU's port to its NIC: the NIC's bandwidth, no latency or floor of its own.
LinkInfo nic_port(const LinkSpec& spec) {
  LinkInfo l;
  l.ops = spec.ops;
  for (OpCurve& c : l.ops) c.latency_us = c.floor_us = 0;
  return l;
}

struct Machine {
  Graph graph;
  std::vector<Vertex> gpus;  // by global GPU index
};

Machine build_graph(const HardwareProfile& p, std::int64_t nodes) {
  Machine m;
  Vertex fabric{};
  const bool multi_node = nodes > 1;
  if (multi_node) fabric = boost::add_vertex(VertexInfo{VertexKind::kInfiniBand, -1}, m.graph);
  for (std::int64_t node = 0; node < nodes; ++node) {
    const Vertex sw = boost::add_vertex(VertexInfo{VertexKind::kNvSwitch, node}, m.graph);
    for (std::int64_t g = 0; g < p.gpus_per_node; ++g) {
      const Vertex gpu = boost::add_vertex(VertexInfo{VertexKind::kGpu, node}, m.graph);
      m.gpus.push_back(gpu);
      boost::add_edge(gpu, sw, half_link(p.nvlink), m.graph);
      if (multi_node) {  // one NIC per GPU (rail-optimised DGX layout)
        const Vertex nic = boost::add_vertex(VertexInfo{VertexKind::kNic, node}, m.graph);
        boost::add_edge(gpu, nic, nic_port(p.infiniband), m.graph);
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
  for (OpCurve& c : cost.ops) c.busbw_gb_s = std::numeric_limits<double>::infinity();
  for (Vertex v = to; v != from; v = pred[v]) {
    const auto [edge, found] = boost::edge(pred[v], v, m.graph);
    if (!found) break;  // unreachable: cannot happen in the graphs built above
    const LinkInfo& link = m.graph[edge];
    for (std::size_t i = 0; i < cost.ops.size(); ++i) {
      OpCurve& c = cost.ops[i];
      c.busbw_gb_s = std::min(c.busbw_gb_s, link.ops[i].busbw_gb_s);
      c.latency_us += link.ops[i].latency_us;
      c.floor_us = std::max(c.floor_us, link.ops[i].floor_us);
    }
  }
  cost.crosses_nodes = m.graph[from].node != m.graph[to].node;
  return cost;
}

}  // namespace

Result<Topology> Topology::build(const HardwareProfile& profile, std::int64_t world_size, std::int64_t stride) {
  const std::int64_t gpus = world_size * stride;
  if (gpus > profile.max_gpus()) {
    const std::string what = stride > 1 ? std::to_string(gpus) + " GPUs (" + std::to_string(world_size) + " ring ranks x Ulysses " +
                                              std::to_string(stride) + ")"
                                        : std::to_string(world_size) + " ranks";
    // Either side may be the mistake: name the profile's file and the field that limits it.
    if (!profile.infiniband.present) {
      return bad_input("--world-size: " + what + " need more than one node of profile " + profile.name + " (" +
                       std::to_string(profile.gpus_per_node) + " GPUs: node.gpus_per_node), and it describes no fabric between nodes "
                       "(links.infiniband in " + profile.source + ")");
    }
    return bad_input("--world-size: " + what + " need more GPUs than profile " + profile.name + " has (" + std::to_string(profile.max_nodes) +
                     " node(s) x " + std::to_string(profile.gpus_per_node) + " = " + std::to_string(profile.max_gpus()) +
                     ": node.max_nodes x node.gpus_per_node in " + profile.source + ")");
  }
  const std::int64_t nodes = profile.nodes_for(gpus);
  Topology t;
  t.world_size_ = world_size;
  t.gpus_per_node_ = profile.gpus_per_node;
  t.stride_ = stride;
  t.nodes_ = nodes;
  const Machine m = build_graph(profile, nodes);
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
  if (nodes > 1) t.inter_node_ = path_cost(m, m.gpus[0], m.gpus[static_cast<std::size_t>(profile.gpus_per_node)]);
  return t;
}

std::int64_t Topology::inter_node_ring_hops() const {
  return std::count_if(ring_hops_.begin(), ring_hops_.end(), [](const PathCost& c) { return c.crosses_nodes; });
}

double Topology::ring_shift_us(double bytes) const {
  if (world_size_ <= 1) return 0;
  double slowest = 0;
  for (const PathCost& hop : ring_hops_) slowest = std::max(slowest, hop.op(CommOp::kP2p).time_us(bytes));
  return slowest;
}

double Topology::ring_collective_us(CommOp op, double total_bytes) const {
  if (world_size_ <= 1) return 0;
  OpCurve ring{0, 0, std::numeric_limits<double>::infinity()};
  for (const PathCost& hop : ring_hops_) {
    const OpCurve& c = hop.op(op);
    ring.latency_us = std::max(ring.latency_us, c.latency_us);
    ring.floor_us = std::max(ring.floor_us, c.floor_us);
    ring.busbw_gb_s = std::min(ring.busbw_gb_s, c.busbw_gb_s);
  }
  const auto w = static_cast<double>(world_size_);
  return ring.time_us((w - 1) / w * total_bytes, w - 1);
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
      slowest = std::max(slowest, link.op(CommOp::kAllToAll).time_us(volume));
    }
    out[static_cast<std::size_t>(r)] = slowest;
  }
  return out;
}

}  // namespace cpsim
