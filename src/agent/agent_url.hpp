// Parsing of the Datadog Agent URL (datadog_agent_url, DD_TRACE_AGENT_URL):
// which transport to use and where, or a sentence saying what is wrong.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace datadog::agent {

inline constexpr std::uint16_t default_agent_port = 8126;

struct TcpEndpoint {
  std::string host;  // a name, an IPv4 literal, or an IPv6 literal without brackets
  std::uint16_t port = default_agent_port;
  bool operator==(const TcpEndpoint&) const = default;
};

struct UnixEndpoint {
  std::string path;  // absolute
  bool operator==(const UnixEndpoint&) const = default;
};

using AgentEndpoint = std::variant<TcpEndpoint, UnixEndpoint>;

struct AgentUrlParse {
  AgentEndpoint endpoint;
  std::string error;  // empty when the URL is valid
  bool ok() const { return error.empty(); }
};

// Accepts http://host[:port][/], http://[v6]:port, unix:///abs/path and
// http+unix:///abs/path.
AgentUrlParse parse_agent_url(std::string_view url);

}  // namespace datadog::agent
