// The HTTP/1.1 request head that carries one payload of traces to the agent:
// PUT /v0.4/traces with the headers Datadog tracers send.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "agent/agent_url.hpp"

namespace datadog::agent {

// What dd-trace-cpp sends as Datadog-Meta-Lang-Version: the value of
// __cplusplus the tracer was compiled with ("202002" for C++20).
std::string cpp_language_version();

// The Host header value for an agent endpoint: "host:port" ("[v6]:port" for
// IPv6 literals; the port is left out only when it is 80), "localhost" for
// unix sockets.
std::string host_header_for(const AgentEndpoint& endpoint);

// Origin-detection headers, as dd-trace-cpp sends them: each left out when
// empty (see container_id.hpp).
struct OriginHeaders {
  std::string_view container_id = {};  // Datadog-Container-ID
  std::string_view entity_id = {};     // Datadog-Entity-Id
  std::string_view external_env = {};  // Datadog-External-Env (DD_EXTERNAL_ENV)
};

class AgentRequestWriter {
 public:
  // `host` is the Host header value (see host_header_for) and
  // `tracer_version` this module's version. Header values are reduced to
  // printable ASCII, so no configuration value can split a header.
  AgentRequestWriter(std::string_view host, std::string_view tracer_version,
                     std::string_view language_version = cpp_language_version(),
                     const OriginHeaders& origin = {});

  // The complete request head (ending with the blank line) for a msgpack body
  // of `body_bytes` holding `trace_count` traces. The view stays valid until
  // the next call; the buffer is reused, so steady state allocates nothing.
  std::string_view head(std::size_t body_bytes, std::size_t trace_count);

 private:
  std::string buffer_;
  std::size_t fixed_size_ = 0;  // the part that is the same for every payload
};

}  // namespace datadog::agent
