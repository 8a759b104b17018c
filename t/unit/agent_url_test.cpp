// The agent URL forms of PROTOCOLS.md section 1, and the sentences users see
// when a URL is wrong.
#include "agent/agent_url.hpp"

#include <gtest/gtest.h>

using datadog::agent::parse_agent_url;
using datadog::agent::TcpEndpoint;
using datadog::agent::UnixEndpoint;

namespace {

TcpEndpoint tcp(std::string_view url) {
  const auto parsed = parse_agent_url(url);
  EXPECT_TRUE(parsed.ok()) << parsed.error;
  const auto* endpoint = std::get_if<TcpEndpoint>(&parsed.endpoint);
  EXPECT_NE(endpoint, nullptr) << url;
  return endpoint ? *endpoint : TcpEndpoint{};
}

std::string error_of(std::string_view url) {
  const auto parsed = parse_agent_url(url);
  EXPECT_FALSE(parsed.ok()) << url << " was accepted";
  return parsed.error;
}

}  // namespace

TEST(AgentUrl, HostWithoutPortUsesTheAgentDefaultPort) {
  EXPECT_EQ(tcp("http://localhost"), (TcpEndpoint{"localhost", 8126}));
  EXPECT_EQ(tcp("http://localhost/"), (TcpEndpoint{"localhost", 8126}));
}

TEST(AgentUrl, HostAndPort) {
  EXPECT_EQ(tcp("http://127.0.0.1:9126"), (TcpEndpoint{"127.0.0.1", 9126}));
  EXPECT_EQ(tcp("HTTP://dd-agent:1"), (TcpEndpoint{"dd-agent", 1}));
}

TEST(AgentUrl, BracketedIpv6LosesItsBrackets) {
  EXPECT_EQ(tcp("http://[::1]:8126"), (TcpEndpoint{"::1", 8126}));
  EXPECT_EQ(tcp("http://[fe80::1]"), (TcpEndpoint{"fe80::1", 8126}));
}

TEST(AgentUrl, UnixSocketForms) {
  for (const char* url : {"unix:///var/run/datadog/apm.socket", "http+unix:///var/run/datadog/apm.socket"}) {
    const auto parsed = parse_agent_url(url);
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    EXPECT_EQ(std::get<UnixEndpoint>(parsed.endpoint).path, "/var/run/datadog/apm.socket");
  }
}

TEST(AgentUrl, RelativeUnixPathIsRejected) {
  EXPECT_NE(error_of("unix://relative/apm.socket").find("must be absolute"), std::string::npos);
  EXPECT_NE(error_of("unix://").find("must be absolute"), std::string::npos);
}

TEST(AgentUrl, PortOutOfRangeOrNotANumberIsRejected) {
  for (const char* url : {"http://localhost:0", "http://localhost:65536", "http://localhost:80x",
                          "http://localhost:-1", "http://[::1]:99999"}) {
    EXPECT_NE(error_of(url).find("port must be a number from 1 to 65535"), std::string::npos) << url;
  }
  EXPECT_NE(error_of("http://localhost:").find("port is empty"), std::string::npos);
}

TEST(AgentUrl, UnbracketedIpv6IsExplained) {
  EXPECT_NE(error_of("http://::1:8126").find("must be written in brackets"), std::string::npos);
  EXPECT_NE(error_of("http://[::1:8126").find("must end with ']'"), std::string::npos);
}

TEST(AgentUrl, UnsupportedFormsNameTheAcceptedOnes) {
  EXPECT_NE(error_of("localhost:8126").find("expected http://host[:port]"), std::string::npos);
  EXPECT_NE(error_of("ftp://x").find("expected http://host[:port]"), std::string::npos);
  EXPECT_NE(error_of("https://agent:8126").find("use http://"), std::string::npos);
  EXPECT_NE(error_of("http://agent:8126/v0.4/traces").find("path after the host"), std::string::npos);
  EXPECT_NE(error_of("http://").find("host is empty"), std::string::npos);
  EXPECT_NE(error_of("http://user@agent").find("user information"), std::string::npos);
}

TEST(AgentUrl, ErrorQuotesTheUrl) {
  EXPECT_EQ(error_of("nope"),
            "invalid agent URL \"nope\": expected http://host[:port], http://[ipv6]:port, "
            "unix:///path or http+unix:///path");
}
