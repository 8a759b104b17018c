// The request writer for the agent, with the origin-detection headers of this
// worker's container: gathered once, when the worker starts.
#pragma once

#include <string_view>

#include "agent/agent_request.hpp"

namespace datadog::module {

struct MainConf;

// Reads /proc/self/cgroup, statfs and stat of /sys/fs/cgroup and the inode of
// /proc/self/ns/cgroup (a blocking read of small kernel files, at worker start
// only). Like dd-trace-cpp, sends no origin header to an agent on a unix
// socket: the agent learns the sender's container from the socket itself.
agent::AgentRequestWriter agent_request_writer(const MainConf& conf, std::string_view tracer_version);

}  // namespace datadog::module
