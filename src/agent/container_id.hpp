// Origin detection: which container sends the traces, told to the agent in
// Datadog-Container-ID / Datadog-Entity-Id the way dd-trace-cpp computes them.
// The glue gathers the facts (file text, statfs/stat results) once per worker.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace datadog::agent {

enum class CgroupVersion { unknown, v1, v2 };

// The cgroup version from statfs("/sys/fs/cgroup").f_type: tmpfs or cgroup
// (a v1 hierarchy of mounts), cgroup2; anything else unknown.
CgroupVersion cgroup_version_of_filesystem(std::uint64_t filesystem_type);

// Whether /proc/self/ns/cgroup's inode is the host's cgroup namespace (a fixed
// number in Linux): a process there is in no container of its own.
bool is_host_cgroup_namespace(std::uint64_t namespace_inode);

// The container id in /proc/self/cgroup text: the first line naming a
// `docker-<id>.scope`, else the first line ending (before an optional
// `.scope`) in a 64-hex-digit id, a UUID (dashes or underscores), an ECS
// Fargate task id `<32 hex>-<digits>` or `<8 hex>-<4 hex>x4`. Empty if none.
std::string_view find_container_id(std::string_view cgroup_text);

struct ContainerFacts {
  CgroupVersion version = CgroupVersion::unknown;
  std::string_view cgroup_text;                  // /proc/self/cgroup
  std::optional<std::uint64_t> namespace_inode;  // /proc/self/ns/cgroup
  std::optional<std::uint64_t> cgroup_inode;     // /sys/fs/cgroup
};

struct ContainerIdentity {
  std::string container_id;  // Datadog-Container-ID; empty: not sent
  std::string entity_id;     // Datadog-Entity-Id: "ci-<id>" or "in-<inode>"; empty: not sent
};

// cgroup v1: the container id from the file, else (as v2) the cgroup inode,
// unless the process is in the host's cgroup namespace.
ContainerIdentity identify_container(const ContainerFacts& facts);

}  // namespace datadog::agent
