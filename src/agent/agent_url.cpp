// Agent URL forms follow what Datadog tracers accept, so a URL that works for
// the application's tracer works for nginx too.
#include "agent/agent_url.hpp"

#include <charconv>

namespace datadog::agent {
namespace {

constexpr std::string_view expected_forms =
    "expected http://host[:port], http://[ipv6]:port, unix:///path or http+unix:///path";

AgentUrlParse failure(std::string_view url, std::string_view why) {
  AgentUrlParse result;
  result.error = "invalid agent URL \"";
  result.error.append(url);
  result.error.append("\": ");
  result.error.append(why);
  return result;
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) {
    return false;
  }
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != prefix[i]) {
      return false;
    }
  }
  return true;
}

AgentUrlParse parse_unix(std::string_view url, std::string_view path) {
  if (path.empty() || path.front() != '/') {
    return failure(url, "a unix socket path must be absolute (unix:///path/to/socket)");
  }
  AgentUrlParse result;
  result.endpoint = UnixEndpoint{std::string(path)};
  return result;
}

AgentUrlParse parse_http(std::string_view url, std::string_view rest) {
  // rest: authority followed by an optional "/".
  std::string_view authority = rest.substr(0, rest.find('/'));
  std::string_view path = rest.substr(authority.size());
  if (!path.empty() && path != "/") {
    return failure(url, "a path after the host is not supported");
  }
  if (authority.find('@') != std::string_view::npos) {
    return failure(url, "user information is not supported");
  }

  std::string_view host;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return failure(url, "an IPv6 address must end with ']'");
    }
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return failure(url, "expected ':' and a port after the IPv6 address");
      }
      port_text = after.substr(1);
      if (port_text.empty()) {
        return failure(url, "the port is empty");
      }
    }
    if (host.find(':') == std::string_view::npos) {
      return failure(url, "brackets are only for IPv6 addresses");
    }
  } else {
    const auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) {
        return failure(url, "the port is empty");
      }
      if (port_text.find(':') != std::string_view::npos) {
        return failure(url, "an IPv6 address must be written in brackets, e.g. http://[::1]:8126");
      }
    }
  }
  if (host.empty()) {
    return failure(url, "the host is empty");
  }

  std::uint16_t port = default_agent_port;
  if (!port_text.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 || value > 65535) {
      return failure(url, "the port must be a number from 1 to 65535");
    }
    port = static_cast<std::uint16_t>(value);
  }

  AgentUrlParse result;
  result.endpoint = TcpEndpoint{std::string(host), port};
  return result;
}

}  // namespace

AgentUrlParse parse_agent_url(std::string_view url) {
  if (starts_with_ignoring_case(url, "http+unix://")) {
    return parse_unix(url, url.substr(12));
  }
  if (starts_with_ignoring_case(url, "unix://")) {
    return parse_unix(url, url.substr(7));
  }
  if (starts_with_ignoring_case(url, "http://")) {
    return parse_http(url, url.substr(7));
  }
  if (starts_with_ignoring_case(url, "https://")) {
    return failure(url, "the agent speaks plain HTTP; use http:// (or a unix socket)");
  }
  return failure(url, expected_forms);
}

}  // namespace datadog::agent
