// The request head that carries a payload to the agent's /v0.4/traces.
#include "agent/agent_request.hpp"

#include <gtest/gtest.h>

using datadog::agent::AgentRequestWriter;
using datadog::agent::cpp_language_version;
using datadog::agent::host_header_for;
using datadog::agent::TcpEndpoint;
using datadog::agent::UnixEndpoint;

TEST(AgentRequest, HeadCarriesTheHeadersDatadogTracersSend) {
  AgentRequestWriter writer("localhost:8126", "0.1.0", "202002");
  EXPECT_EQ(writer.head(1234, 7),
            "PUT /v0.4/traces HTTP/1.1\r\n"
            "Host: localhost:8126\r\n"
            "Connection: keep-alive\r\n"
            "Content-Type: application/msgpack\r\n"
            "Datadog-Meta-Lang: cpp\r\n"
            "Datadog-Meta-Lang-Version: 202002\r\n"
            "Datadog-Meta-Lang-Interpreter: nginx\r\n"
            "Datadog-Meta-Tracer-Version: 0.1.0\r\n"
            "Content-Length: 1234\r\n"
            "X-Datadog-Trace-Count: 7\r\n"
            "\r\n");
}

TEST(AgentRequest, LanguageVersionIsTheCppStandardLikeDdTraceCpp) {
  EXPECT_EQ(cpp_language_version(), "202002");
  AgentRequestWriter writer("h", "v");
  EXPECT_NE(writer.head(1, 1).find("\r\nDatadog-Meta-Lang-Version: 202002\r\n"), std::string_view::npos);
}

TEST(AgentRequest, EachPayloadGetsItsOwnLengthAndCountInTheSameBuffer) {
  AgentRequestWriter writer("localhost:8126", "1.2.3");
  const auto first = writer.head(4194304, 65536);
  EXPECT_NE(first.find("Content-Length: 4194304\r\nX-Datadog-Trace-Count: 65536\r\n\r\n"),
            std::string_view::npos);
  const char* data = first.data();
  const auto second = writer.head(9, 1);
  EXPECT_EQ(second.data(), data);  // reused, not reallocated
  EXPECT_NE(second.find("Content-Length: 9\r\nX-Datadog-Trace-Count: 1\r\n\r\n"), std::string_view::npos);
  EXPECT_EQ(second.find("4194304"), std::string_view::npos);
}

TEST(AgentRequest, HostHeaderNamesTheConfiguredHostNotTheResolvedAddress) {
  EXPECT_EQ(host_header_for(TcpEndpoint{"localhost", 8126}), "localhost:8126");
  EXPECT_EQ(host_header_for(TcpEndpoint{"dd-agent", 9126}), "dd-agent:9126");
  EXPECT_EQ(host_header_for(TcpEndpoint{"::1", 8126}), "[::1]:8126");
  EXPECT_EQ(host_header_for(TcpEndpoint{"agent", 80}), "agent");
}

TEST(AgentRequest, UnixSocketHostIsLocalhost) {
  EXPECT_EQ(host_header_for(UnixEndpoint{"/var/run/datadog/apm.socket"}), "localhost");
}

TEST(AgentRequest, ConfiguredValuesCannotAddHeaderLines) {
  AgentRequestWriter writer("evil\r\nX-Injected: 1", "1.0\nX-Other: 2");
  const auto head = writer.head(1, 1);
  EXPECT_EQ(head.find("\r\nX-Injected"), std::string_view::npos);
  EXPECT_EQ(head.find("\nX-Other"), std::string_view::npos);
  EXPECT_NE(head.find("Host: evil__X-Injected:_1\r\n"), std::string_view::npos);
}

TEST(AgentRequest, OriginHeadersFollowTheTracerHeadersWhenKnown) {
  AgentRequestWriter writer(
      "localhost:8126", "0.1.0", "202002",
      {.container_id = "abc123", .entity_id = "ci-abc123", .external_env = "it-false,cn-nginx"});
  EXPECT_EQ(writer.head(5, 1),
            "PUT /v0.4/traces HTTP/1.1\r\n"
            "Host: localhost:8126\r\n"
            "Connection: keep-alive\r\n"
            "Content-Type: application/msgpack\r\n"
            "Datadog-Meta-Lang: cpp\r\n"
            "Datadog-Meta-Lang-Version: 202002\r\n"
            "Datadog-Meta-Lang-Interpreter: nginx\r\n"
            "Datadog-Meta-Tracer-Version: 0.1.0\r\n"
            "Datadog-Container-ID: abc123\r\n"
            "Datadog-Entity-Id: ci-abc123\r\n"
            "Datadog-External-Env: it-false,cn-nginx\r\n"
            "Content-Length: 5\r\n"
            "X-Datadog-Trace-Count: 1\r\n"
            "\r\n");
}

TEST(AgentRequest, OnlyTheOriginHeadersThatHaveAValueAreSent) {
  AgentRequestWriter writer("h", "v", "202002", {.entity_id = "in-4242"});
  const auto head = writer.head(1, 1);
  EXPECT_NE(head.find("\r\nDatadog-Entity-Id: in-4242\r\n"), std::string_view::npos);
  EXPECT_EQ(head.find("Datadog-Container-ID"), std::string_view::npos);
  EXPECT_EQ(head.find("Datadog-External-Env"), std::string_view::npos);
  AgentRequestWriter evil("h", "v", "202002", {.external_env = "a\r\nX-Injected: 1"});
  EXPECT_EQ(evil.head(1, 1).find("X-Injected: 1\r\n"), std::string_view::npos);
}
