// Names of paths and rotate methods, and the strategy's text and JSON forms.
#include "strategy.h"

#include <charconv>

#include "balancer.h"
#include "work.h"

namespace cpsim {
namespace {

constexpr std::string_view kTextForm = "BALANCER + [ulyssesU x ]PATH/ROTATE[ on KERNEL][ (N stages)], or ulyssesU[ on KERNEL]";

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// A positive decimal integer written plainly (no sign, no leading zero), or nothing.
std::optional<std::int64_t> plain_integer(std::string_view s) {
  if (s.empty() || s.size() > 18 || s.front() == '0') return std::nullopt;
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// "ulysses8" -> 8; nothing when `s` is not of that form.
std::optional<std::int64_t> ulysses_degree(std::string_view s) {
  constexpr std::string_view kPrefix = "ulysses";
  if (s.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  return plain_integer(s.substr(kPrefix.size()));
}

// A kernel name as profiles spell it: 1 to 32 of a-z, 0-9 and _.
bool kernel_name_ok(std::string_view s) {
  return !s.empty() && s.size() <= 32 && s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string_view::npos;
}

// Splits "X on KERNEL" into X and the kernel; `kernel` is left empty without " on ".
std::string_view split_kernel(std::string_view text, std::string_view* kernel) {
  if (text.ends_with(" on")) return trim(text.substr(0, text.size() - 3));  // "on" and no kernel after it
  const auto on = text.rfind(" on ");
  if (on == std::string_view::npos) return text;
  *kernel = trim(text.substr(on + 4));
  return trim(text.substr(0, on));
}

}  // namespace

const std::vector<AttentionPath>& all_paths() {
  static const std::vector<AttentionPath> kAll = {AttentionPath::kSdpaRing, AttentionPath::kFlexAllgather,
                                                  AttentionPath::kSparseRing, AttentionPath::kSparseGather};
  return kAll;
}

std::string_view path_name(AttentionPath path) {
  switch (path) {
    case AttentionPath::kSdpaRing: return "sdpa_ring";
    case AttentionPath::kFlexAllgather: return "flex_allgather";
    case AttentionPath::kSparseRing: return "sparse_ring";
    case AttentionPath::kSparseGather: return "sparse_gather";
  }
  return "unknown";
}

std::optional<AttentionPath> parse_path(std::string_view name) {
  for (const auto p : all_paths()) {
    if (path_name(p) == name) return p;
  }
  return std::nullopt;
}

std::string path_names() {
  std::string out;
  for (const auto p : all_paths()) out += (out.empty() ? "" : ", ") + std::string(path_name(p));
  return out;
}

std::string_view rotate_name(RotateMethod rotate) { return rotate == RotateMethod::kAllGather ? "allgather" : "alltoall"; }

std::optional<RotateMethod> parse_rotate(std::string_view name) {
  for (const auto r : {RotateMethod::kAllGather, RotateMethod::kAllToAll}) {
    if (rotate_name(r) == name) return r;
  }
  return std::nullopt;
}

Status check_strategy_world_size(const Strategy& s, std::int64_t world_size) {
  if (s.pure_ulysses ? world_size != s.ulysses : world_size % s.ulysses != 0) {
    return bad_input("--world-size: " + std::to_string(world_size) + (s.pure_ulysses ? " is not the " : " is not a multiple of the ") +
                     std::to_string(s.ulysses) + " GPUs of --strategy's Ulysses groups (" + strategy_text(s) + ")");
  }
  return Ok{};
}

Strategy Strategy::pure(std::int64_t ulysses_degree) {
  Strategy s;
  s.path = AttentionPath::kSparseGather;
  s.rotate = RotateMethod::kAllGather;
  s.ulysses = ulysses_degree;
  s.pure_ulysses = true;
  s.gather_stages = 1;
  return s;
}

Strategy Strategy::with_stages(std::int64_t stages) const {
  Strategy s = *this;
  s.gather_stages = path == AttentionPath::kSparseGather ? stages : 0;
  return s;
}

std::string path_text(const Strategy& s) {
  const std::string on = s.kernel.empty() ? "" : " on " + s.kernel;
  if (s.pure_ulysses) return "ulysses" + std::to_string(s.ulysses) + on;
  std::string out = std::string(path_name(s.path)) + "/" + std::string(rotate_name(s.rotate)) + on;
  if (s.ulysses > 1) out = "ulysses" + std::to_string(s.ulysses) + " x " + out;
  if (s.gather_stages > 1) out += " (" + std::to_string(s.gather_stages) + " stages)";
  return out;
}

std::string strategy_text(const Strategy& s) { return s.pure_ulysses ? path_text(s) : s.balancer + " + " + path_text(s); }

Result<Strategy> parse_strategy_text(std::string_view input, const std::string& field) {
  const std::string shown = describe_value(Json(std::string(input)));
  auto fail = [&](const std::string& why) { return bad_input(field + ": " + shown + ": " + why); };
  const std::string_view text = trim(input);
  const auto plus = text.find('+');
  auto with_kernel = [&](Strategy s, std::string_view kernel, bool named) -> Result<Strategy> {
    if (named && !kernel_name_ok(kernel)) return fail("expected a kernel name (a-z, 0-9, _) after \" on \", as `cpsim kernels` lists them");
    s.kernel = std::string(kernel);
    return s;
  };
  if (plus == std::string_view::npos) {
    std::string_view kernel;
    const std::string_view degree = split_kernel(text, &kernel);
    const auto u = ulysses_degree(degree);
    if (!u) return fail("not a strategy; expected " + std::string(kTextForm) + ", as compare prints it");
    if (*u < 2 || *u > kMaxWorldSize) return fail("pure Ulysses needs a degree from 2 to " + std::to_string(kMaxWorldSize));
    return with_kernel(Strategy::pure(*u), kernel, degree.size() != text.size());
  }
  Strategy s;
  s.balancer = std::string(trim(text.substr(0, plus)));
  if (find_balancer(s.balancer) == nullptr) {
    return fail("unknown balancer " + describe_value(Json(s.balancer)) + " (expected one of: " + balancer_names() + ")");
  }
  std::string_view rest = trim(text.substr(plus + 1));
  if (const auto x = rest.find(" x "); x != std::string_view::npos) {
    const auto u = ulysses_degree(trim(rest.substr(0, x)));
    if (!u || *u < 1 || *u > kMaxWorldSize) {
      return fail("expected ulyssesU before \" x \", with U from 1 to " + std::to_string(kMaxWorldSize));
    }
    s.ulysses = *u;
    rest = trim(rest.substr(x + 3));
  }
  std::string_view stages;
  if (const auto open = rest.find('('); open != std::string_view::npos) {
    if (rest.back() != ')') return fail("expected the stage count as \"(N stages)\" at the end");
    stages = trim(rest.substr(open + 1, rest.size() - open - 2));
    rest = trim(rest.substr(0, open));
  }
  std::string_view kernel;
  const std::size_t before = rest.size();
  rest = split_kernel(rest, &kernel);
  const bool named = rest.size() != before;
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) return fail("expected PATH/ROTATE after the balancer, e.g. sdpa_ring/alltoall");
  const auto path = parse_path(rest.substr(0, slash));
  if (!path) return fail("unknown attention path (expected one of: " + path_names() + ")");
  const auto rotate = parse_rotate(rest.substr(slash + 1));
  if (!rotate) return fail("unknown rotate method (expected allgather or alltoall)");
  s.path = *path;
  s.rotate = *rotate;
  if (s.path == AttentionPath::kSparseGather) s.gather_stages = 1;
  if (!stages.empty()) {
    if (s.path != AttentionPath::kSparseGather) return fail("stages apply to the sparse_gather path only");
    const auto space = stages.find(' ');
    const auto n = plain_integer(stages.substr(0, space));
    const std::string_view unit = space == std::string_view::npos ? "" : trim(stages.substr(space));
    if (!n || *n > kMaxWorldSize || (unit != "stages" && unit != "stage")) {
      return fail("expected \"(N stages)\" with N from 1 to " + std::to_string(kMaxWorldSize));
    }
    s.gather_stages = *n;
  }
  return with_kernel(s, kernel, named);
}

Json strategy_to_json(const Strategy& s) {
  Json out = {{"text", strategy_text(s)},   {"balancer", s.balancer},         {"path", path_name(s.path)},
              {"rotate", rotate_name(s.rotate)}, {"ulysses", s.ulysses}, {"pure_ulysses", s.pure_ulysses},
              {"gather_stages", s.gather_stages}};
  if (!s.kernel.empty()) out["kernel"] = s.kernel;
  return out;
}

Result<Strategy> strategy_from_json(const Json& value, const FieldReader& rd, const std::string& field) {
  CPSIM_RETURN_IF_ERROR(rd.expect_object(value, field));
  CPSIM_RETURN_IF_ERROR(
      rd.expect_only_keys(value, field, {"text", "balancer", "path", "rotate", "ulysses", "pure_ulysses", "gather_stages", "kernel"}));
  auto text_of = [&](std::string_view key) -> Result<std::string> {
    CPSIM_ASSIGN_OR_RETURN(const Json* node, rd.member(value, field, key));
    return rd.string(*node, FieldReader::join(field, key));
  };
  auto integer_of = [&](std::string_view key) -> Result<std::int64_t> {
    CPSIM_ASSIGN_OR_RETURN(const Json* node, rd.member(value, field, key));
    return rd.integer(*node, FieldReader::join(field, key));
  };
  Strategy s;
  CPSIM_ASSIGN_OR_RETURN(s.balancer, text_of("balancer"));
  if (find_balancer(s.balancer) == nullptr) {
    return rd.error(FieldReader::join(field, "balancer"),
                    "unknown balancer " + describe_value(Json(s.balancer)) + " (expected one of: " + balancer_names() + ")");
  }
  CPSIM_ASSIGN_OR_RETURN(const std::string path, text_of("path"));
  const auto p = parse_path(path);
  if (!p) return rd.error(FieldReader::join(field, "path"), "unknown attention path " + describe_value(Json(path)) + " (expected one of: " + path_names() + ")");
  s.path = *p;
  CPSIM_ASSIGN_OR_RETURN(const std::string rotate, text_of("rotate"));
  const auto r = parse_rotate(rotate);
  if (!r) return rd.error(FieldReader::join(field, "rotate"), "unknown rotate method " + describe_value(Json(rotate)) + " (expected allgather or alltoall)");
  s.rotate = *r;
  CPSIM_ASSIGN_OR_RETURN(s.ulysses, integer_of("ulysses"));
  if (s.ulysses < 1 || s.ulysses > kMaxWorldSize) {
    return rd.error(FieldReader::join(field, "ulysses"), "must be a Ulysses degree from 1 to " + std::to_string(kMaxWorldSize) + ", got " + std::to_string(s.ulysses));
  }
  CPSIM_ASSIGN_OR_RETURN(const Json* pure, rd.member(value, field, "pure_ulysses"));
  if (!pure->is_boolean()) return rd.error(FieldReader::join(field, "pure_ulysses"), "expected true or false, got " + describe_value(*pure));
  s.pure_ulysses = pure->get<bool>();
  CPSIM_ASSIGN_OR_RETURN(s.gather_stages, integer_of("gather_stages"));
  const bool gather = s.path == AttentionPath::kSparseGather;
  if (s.gather_stages < (gather ? 1 : 0) || s.gather_stages > (gather ? kMaxWorldSize : 0)) {
    return rd.error(FieldReader::join(field, "gather_stages"),
                    gather ? "must be from 1 to " + std::to_string(kMaxWorldSize) + ", got " + std::to_string(s.gather_stages)
                           : "must be 0 on " + path + " (stages are the sparse gather's), got " + std::to_string(s.gather_stages));
  }
  if (value.contains("kernel")) {
    CPSIM_ASSIGN_OR_RETURN(s.kernel, text_of("kernel"));
    if (!kernel_name_ok(s.kernel)) {
      return rd.error(FieldReader::join(field, "kernel"), "expected a kernel name (1 to 32 of a-z, 0-9, _), got " + describe_value(Json(s.kernel)));
    }
  }
  Strategy pure_form = Strategy::pure(s.ulysses);
  pure_form.kernel = s.kernel;
  if (s.pure_ulysses && !(s == pure_form && s.ulysses > 1)) {
    return rd.error(field, "pure Ulysses is contiguous + sparse_gather/allgather in one stage with ulysses >= 2, got " +
                               describe_value(strategy_to_json(s)));
  }
  CPSIM_ASSIGN_OR_RETURN(const std::string text, text_of("text"));
  if (text != strategy_text(s)) {
    return rd.error(FieldReader::join(field, "text"),
                    describe_value(Json(text)) + " does not match the fields (" + strategy_text(s) + "); the file was edited");
  }
  return s;
}

}  // namespace cpsim
