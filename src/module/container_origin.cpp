// The facts container_id.hpp decides on, read from the kernel's files.
#include "module/container_origin.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <fstream>
#include <sstream>
#include <string>

#include "agent/container_id.hpp"
#include "module/main_conf.hpp"
#include "module/str_view.hpp"

namespace datadog::module {
namespace {

std::optional<std::uint64_t> inode_of(const char* path) {
  struct stat info;
  if (stat(path, &info) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(info.st_ino);
}

agent::ContainerIdentity this_container() {
  agent::ContainerFacts facts;
  struct statfs filesystem;
  if (statfs("/sys/fs/cgroup", &filesystem) == 0)
    facts.version = agent::cgroup_version_of_filesystem(static_cast<std::uint64_t>(filesystem.f_type));
  std::string text;
  if (std::ifstream file("/proc/self/cgroup"); file) {
    std::ostringstream content;
    content << file.rdbuf();
    text = content.str();
  }
  facts.cgroup_text = text;
  facts.namespace_inode = inode_of("/proc/self/ns/cgroup");
  facts.cgroup_inode = inode_of("/sys/fs/cgroup");
  return agent::identify_container(facts);
}

bool agent_on_unix_socket(const MainConf& conf) {
  return conf.agent_address_count != 0 && conf.agent_addresses[0].sockaddr->sa_family == AF_UNIX;
}

}  // namespace

agent::AgentRequestWriter agent_request_writer(const MainConf& conf, std::string_view tracer_version) {
  const std::string_view host = to_string_view(conf.agent_host_header);
  if (agent_on_unix_socket(conf)) return agent::AgentRequestWriter(host, tracer_version);
  const agent::ContainerIdentity container = this_container();
  return agent::AgentRequestWriter(host, tracer_version, agent::cpp_language_version(),
                                   {.container_id = container.container_id,
                                    .entity_id = container.entity_id,
                                    .external_env = to_string_view(conf.external_env)});
}

}  // namespace datadog::module
