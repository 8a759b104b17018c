// The regular expressions dd-trace-cpp matches lines with are written out as
// suffix checks: the id is always the end of the line (before `.scope`).
#include "agent/container_id.hpp"

namespace datadog::agent {
namespace {

// linux/magic.h and linux/proc_ns.h.
constexpr std::uint64_t tmpfs_magic = 0x01021994;
constexpr std::uint64_t cgroup_super_magic = 0x27e0eb;
constexpr std::uint64_t cgroup2_super_magic = 0x63677270;
constexpr std::uint64_t host_cgroup_namespace_inode = 0xeffffffb;

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

bool hex_run(std::string_view text, std::size_t at, std::size_t count) {
  if (at + count > text.size()) return false;
  for (std::size_t i = at; i < at + count; ++i) {
    if (!is_lower_hex(text[i])) return false;
  }
  return true;
}

// Groups of hex digits of the given sizes separated by one of `separators`,
// exactly filling `text`.
template <std::size_t N>
bool grouped_hex(std::string_view text, const std::size_t (&groups)[N], std::string_view separators) {
  std::size_t at = 0;
  for (std::size_t g = 0; g < N; ++g) {
    if (g != 0) {
      if (at >= text.size() || separators.find(text[at]) == std::string_view::npos) return false;
      ++at;
    }
    if (!hex_run(text, at, groups[g])) return false;
    at += groups[g];
  }
  return at == text.size();
}

constexpr std::size_t uuid_groups[] = {8, 4, 4, 4, 12};
constexpr std::size_t fargate_groups[] = {8, 4, 4, 4, 4};

// `<32 hex>-<digits>` at the end of `line`, starting at `start`.
bool is_task_id(std::string_view line, std::size_t start) {
  const std::string_view text = line.substr(start);
  if (text.size() < 34 || !hex_run(text, 0, 32) || text[32] != '-') return false;
  for (std::size_t i = 33; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  return true;
}

// The id a line ends with. The regex's leading `.+` is greedy, so of the
// candidates the one starting latest wins; at one start, the alternatives in
// the regex's order (UUID, Fargate form, 64 hex, task id).
std::string_view id_at_end(std::string_view line) {
  constexpr std::string_view scope = ".scope";
  const bool scoped = line.size() >= scope.size() && line.substr(line.size() - scope.size()) == scope;
  const std::string_view body = scoped ? line.substr(0, line.size() - scope.size()) : line;
  for (std::size_t start = body.size(); start-- > 0;) {
    const std::string_view tail = body.substr(start);
    if (tail.size() == 36 && grouped_hex(tail, uuid_groups, "-_")) return tail;
    // The Fargate form is anchored before the optional `.scope`: never with it.
    if (!scoped && tail.size() == 28 && grouped_hex(tail, fargate_groups, "-")) return tail;
    if (tail.size() == 64 && hex_run(tail, 0, 64)) return tail;
    if (is_task_id(body, start)) return tail;
  }
  return {};
}

template <typename F>
std::string_view first_line_with(std::string_view text, F&& match) {
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    if (const std::string_view id = match(line); !id.empty()) return id;
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return {};
}

}  // namespace

CgroupVersion cgroup_version_of_filesystem(std::uint64_t filesystem_type) {
  if (filesystem_type == cgroup_super_magic || filesystem_type == tmpfs_magic) return CgroupVersion::v1;
  if (filesystem_type == cgroup2_super_magic) return CgroupVersion::v2;
  return CgroupVersion::unknown;
}

bool is_host_cgroup_namespace(std::uint64_t namespace_inode) {
  return namespace_inode == host_cgroup_namespace_inode;
}

std::string_view find_container_id(std::string_view cgroup_text) {
  constexpr std::string_view docker = "docker-";
  const std::string_view docker_scope = first_line_with(cgroup_text, [&](std::string_view line) {
    const std::size_t at = line.find(docker);
    if (at == std::string_view::npos) return std::string_view{};
    const std::size_t begin = at + docker.size();
    const std::size_t end = line.find(".scope", begin);
    if (end == std::string_view::npos) return std::string_view{};
    return line.substr(begin, end - begin);
  });
  if (!docker_scope.empty()) return docker_scope;
  return first_line_with(cgroup_text, id_at_end);
}

ContainerIdentity identify_container(const ContainerFacts& facts) {
  ContainerIdentity identity;
  if (facts.version == CgroupVersion::unknown) return identity;
  if (facts.version == CgroupVersion::v1) {
    if (const std::string_view id = find_container_id(facts.cgroup_text); !id.empty()) {
      identity.container_id = id;
      identity.entity_id = "ci-" + identity.container_id;
      return identity;
    }
  }
  // A namespace that cannot be read counts as not the host's, as in dd-trace-cpp.
  const bool host = facts.namespace_inode && is_host_cgroup_namespace(*facts.namespace_inode);
  if (!host && facts.cgroup_inode) identity.entity_id = "in-" + std::to_string(*facts.cgroup_inode);
  return identity;
}

}  // namespace datadog::agent
