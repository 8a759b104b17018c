// A worker's session with the agent, driven by a fake glue: which I/O it asks
// for after each event, what goes on the wire, and what the operator sees.
#include "agent/agent_session.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using datadog::agent::AgentRequestWriter;
using datadog::agent::AgentSession;
using datadog::agent::Clock;
using datadog::agent::Command;
using datadog::agent::DropReason;
using datadog::agent::Failure;
using datadog::agent::LinkState;
using datadog::agent::LogLevel;
using datadog::agent::LogLine;
using datadog::agent::Reaction;
using datadog::agent::ServiceRates;
using datadog::agent::SessionConfig;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const std::string ok_reply =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 41\r\n\r\n"
    R"({"rate_by_service":{"service:,env:":0.5}})";
const std::string ok_reply_closing =
    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 41\r\n\r\n"
    R"({"rate_by_service":{"service:,env:":0.5}})";

std::string reply_with_status(int status) {
  return "HTTP/1.1 " + std::to_string(status) + " Something\r\nContent-Length: 0\r\n\r\n";
}

// What listens behind one address.
struct Agent {
  enum class Kind { refuses, never_accepts, answers };
  Kind kind = Kind::answers;
  std::string reply = ok_reply;
  bool bytewise = false;  // the reply arrives one byte per read
};

// Performs the session's commands against fake agents, synchronously.
struct FakeGlue {
  AgentSession session;
  std::vector<Agent> agents;
  Clock::time_point now{seconds(5000)};
  std::vector<LogLine> lines;
  std::vector<std::size_t> connects;
  std::vector<std::string> requests;
  std::vector<std::size_t> request_addresses;
  bool connection_open = false;
  std::size_t connection_address = 0;
  ServiceRates rates;
  int rate_updates = 0;

  FakeGlue(std::vector<std::string> names, std::vector<Agent> behind, SessionConfig config = {})
      : session(std::move(names), AgentRequestWriter("localhost:8126", "1.0.0", "202002"), config),
        agents(std::move(behind)) {}

  void add_trace(const std::string& encoded) {
    std::string* out = session.begin_trace();
    if (out != nullptr) {
      *out += encoded;
      session.commit_trace();
    }
  }

  Command::Kind run(Reaction reaction) {
    while (true) {
      if (reaction.log) {
        lines.push_back(*reaction.log);
      }
      if (reaction.rates) {
        rates = *reaction.rates;
        ++rate_updates;
      }
      const Command command = reaction.command;
      if (command.close_connection) {
        connection_open = false;
      }
      switch (command.kind) {
        case Command::Kind::none:
        case Command::Kind::idle:
          return command.kind;
        case Command::Kind::connect: {
          EXPECT_FALSE(connection_open) << "connect while a connection is open";
          EXPECT_EQ(command.deadline, now + milliseconds(2000));
          connects.push_back(command.address);
          const Agent& agent = agents.at(command.address);
          if (agent.kind == Agent::Kind::refuses) {
            reaction = session.connect_failed(Failure::connect_refused, "connection refused", now);
          } else if (agent.kind == Agent::Kind::never_accepts) {
            now = command.deadline;
            reaction = session.connect_failed(Failure::connect_timeout, "timed out", now);
          } else {
            connection_open = true;
            connection_address = command.address;
            reaction = session.connected(now);
          }
          break;
        }
        case Command::Kind::send: {
          EXPECT_TRUE(connection_open) << "send without a connection";
          requests.push_back(std::string(command.head) + std::string(command.body));
          request_addresses.push_back(connection_address);
          const Agent& agent = agents.at(connection_address);
          if (agent.bytewise) {
            for (std::size_t i = 0; i + 1 < agent.reply.size(); ++i) {
              const Reaction partial = session.received(agent.reply.substr(i, 1), now);
              EXPECT_EQ(partial.command.kind, Command::Kind::none) << i;
            }
            reaction = session.received(agent.reply.substr(agent.reply.size() - 1), now);
          } else {
            reaction = session.received(agent.reply, now);
          }
          break;
        }
      }
    }
  }

  Command::Kind flush() { return run(session.flush(now)); }

  std::uint64_t dropped(DropReason reason) const {
    return session.link().counters().traces_dropped[static_cast<std::size_t>(reason)];
  }
};

std::string trace_of(std::size_t size, char fill = 'x') {
  std::string trace = "\x91\xc4";
  trace += static_cast<char>(size - 3);
  trace.append(size - 3, fill);
  return trace;
}

std::string body_of(const std::string& request) { return request.substr(request.find("\r\n\r\n") + 4); }

}  // namespace

TEST(AgentSession, DeliversTracesAsOnePutWithTheirCountAndLength) {
  FakeGlue glue({"127.0.0.1:8126"}, {Agent{}});
  glue.add_trace(trace_of(10, 'a'));
  glue.add_trace(trace_of(20, 'b'));
  EXPECT_EQ(glue.flush(), Command::Kind::idle);
  ASSERT_EQ(glue.requests.size(), 1u);
  const std::string& request = glue.requests[0];
  EXPECT_EQ(request.rfind("PUT /v0.4/traces HTTP/1.1\r\nHost: localhost:8126\r\n", 0), 0u);
  EXPECT_NE(request.find("\r\nContent-Length: 31\r\nX-Datadog-Trace-Count: 2\r\n\r\n"), std::string::npos);
  EXPECT_EQ(body_of(request), "\x92" + trace_of(10, 'a') + trace_of(20, 'b'));
  EXPECT_TRUE(glue.lines.empty());
  EXPECT_EQ(glue.session.link().counters().payloads_sent, 1u);
  EXPECT_EQ(glue.session.link().counters().traces_sent, 2u);
  EXPECT_EQ(glue.session.link().counters().bytes_sent, 31u);
  EXPECT_EQ(glue.session.batch().buffered_traces(), 0u);
}

TEST(AgentSession, AgentRatesGoToTheSampler) {
  FakeGlue glue({"127.0.0.1:8126"}, {Agent{}});
  glue.add_trace(trace_of(10));
  glue.flush();
  ASSERT_EQ(glue.rate_updates, 1);
  EXPECT_DOUBLE_EQ(glue.rates.at("service:,env:"), 0.5);
}

TEST(AgentSession, UnusableRatesAreReportedOnceAndTheDeliveryStillCounts) {
  Agent agent;
  agent.reply = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nnot json";
  FakeGlue glue({"127.0.0.1:8126"}, {agent});
  for (int i = 0; i < 5; ++i) {
    glue.add_trace(trace_of(10));
    glue.flush();
  }
  EXPECT_EQ(glue.rate_updates, 0);
  ASSERT_EQ(glue.lines.size(), 1u);
  EXPECT_EQ(glue.lines[0].text,
            "datadog: ignored the agent's sampling rates: the agent's reply is not valid JSON");
  EXPECT_EQ(glue.session.bad_rate_replies(), 5u);
  EXPECT_EQ(glue.session.link().counters().payloads_sent, 5u);
}

TEST(AgentSession, NothingToSendMeansNoConnection) {
  FakeGlue glue({"127.0.0.1:8126"}, {Agent{}});
  EXPECT_EQ(glue.flush(), Command::Kind::idle);
  EXPECT_TRUE(glue.connects.empty());
}

TEST(AgentSession, KeptAliveConnectionCarriesTheNextPayloads) {
  FakeGlue glue({"127.0.0.1:8126"}, {Agent{}});
  for (int i = 0; i < 10; ++i) {
    glue.add_trace(trace_of(10));
    glue.flush();
  }
  EXPECT_EQ(glue.requests.size(), 10u);
  EXPECT_EQ(glue.connects.size(), 1u);
  EXPECT_TRUE(glue.connection_open);
}

TEST(AgentSession, ConnectionClosedByTheAgentIsNotReused) {
  Agent agent;
  agent.reply = ok_reply_closing;
  FakeGlue glue({"127.0.0.1:8126"}, {agent});
  for (int i = 0; i < 3; ++i) {
    glue.add_trace(trace_of(10));
    glue.flush();
    EXPECT_FALSE(glue.connection_open);
  }
  EXPECT_EQ(glue.connects.size(), 3u);
}

TEST(AgentSession, RefusedIpv6FallsBackToIpv4InOneFlushAndLogsOnceOverAHundredFlushes) {
  Agent ipv4;
  ipv4.reply = ok_reply_closing;  // a fresh connect every flush
  FakeGlue glue({"[::1]:8126", "127.0.0.1:8126"}, {Agent{Agent::Kind::refuses}, ipv4});
  for (int flush = 0; flush < 100; ++flush) {
    glue.add_trace(trace_of(10));
    glue.flush();
    glue.now += seconds(1);
  }
  EXPECT_EQ(glue.requests.size(), 100u);
  EXPECT_EQ(glue.connects.size(), 101u);  // [::1] once, then 127.0.0.1 every time
  EXPECT_EQ(glue.connects[0], 0u);
  ASSERT_EQ(glue.lines.size(), 1u);
  EXPECT_EQ(glue.lines[0].text,
            "datadog: agent at [::1]:8126 failed (connection refused); using 127.0.0.1:8126");
}

TEST(AgentSession, ConnectTimeoutMovesOnToTheNextAddress) {
  FakeGlue glue({"10.0.0.1:8126", "127.0.0.1:8126"}, {Agent{Agent::Kind::never_accepts}, Agent{}});
  glue.add_trace(trace_of(10));
  glue.flush();
  EXPECT_EQ(glue.request_addresses, (std::vector<std::size_t>{1}));
  ASSERT_EQ(glue.lines.size(), 1u);
  EXPECT_EQ(glue.lines[0].text, "datadog: agent at 10.0.0.1:8126 failed (timed out); using 127.0.0.1:8126");
}

TEST(AgentSession, OutageKeepsTracesUpToTheCapRetriesWithBackoffThenDrainsTheBacklog) {
  SessionConfig config;
  config.batch.max_payload = 1000;
  config.batch.max_buffered = 5000;
  FakeGlue glue({"[::1]:8126", "127.0.0.1:8126"}, {Agent{Agent::Kind::refuses}, Agent{}}, config);
  glue.add_trace(trace_of(100));
  glue.flush();  // start-up: fallback to 127.0.0.1
  glue.lines.clear();

  glue.agents[1].kind = Agent::Kind::refuses;  // the agent stops, closing its connections
  glue.run(glue.session.peer_closed(glue.now));
  const Clock::time_point outage_start = glue.now;
  std::size_t connects_before = glue.connects.size();
  int rounds = 0;
  for (int tick = 0; tick < 600; ++tick) {  // a minute, a trace every 100 ms, flush every second
    glue.add_trace(trace_of(100));
    if (tick % 10 == 0) {
      const auto before = glue.connects.size();
      glue.flush();
      rounds += glue.connects.size() > before ? 1 : 0;
    }
    glue.now += milliseconds(100);
  }
  EXPECT_LT(rounds, 20);  // backing off, not connecting every second
  EXPECT_GT(rounds, 5);
  EXPECT_EQ(glue.session.link().state(), LinkState::unreachable);
  EXPECT_EQ(glue.session.batch().buffered_bytes(), 5000u);  // the cap, the payload in flight included
  const std::size_t kept = glue.session.batch().buffered_traces();
  EXPECT_EQ(kept, 50u);
  EXPECT_EQ(glue.dropped(DropReason::buffer_full), 600u - kept);
  EXPECT_GT(glue.connects.size(), connects_before);

  glue.agents[1].kind = Agent::Kind::answers;  // the agent is back
  while (!glue.session.link().ready(glue.now)) {
    glue.now += milliseconds(100);
  }
  const auto requests_before = glue.requests.size();
  glue.flush();
  // One flush sends the payload in flight (1 trace) and every full payload
  // behind it (9 traces of 100 bytes fit in 1000); only the partly filled one
  // waits for the next tick.
  EXPECT_EQ(glue.requests.size() - requests_before, 6u);
  EXPECT_EQ(glue.session.batch().buffered_traces(), 49u - 9u * 5u);
  glue.flush();
  EXPECT_EQ(glue.session.batch().buffered_traces(), 0u);

  // Three lines for a minute's outage, each at error (visible at Debian's
  // default error_log level): down, buffer full (once), back.
  ASSERT_EQ(glue.lines.size(), 3u);
  for (const LogLine& line : glue.lines) EXPECT_EQ(line.level, LogLevel::error) << line.text;
  EXPECT_EQ(glue.lines[0].text,
            "datadog: agent unreachable: 127.0.0.1:8126: connection refused; [::1]:8126: connection refused "
            "(traces are kept up to the buffer cap and retried)");
  EXPECT_EQ(
      glue.lines[1].text,
      "datadog: the trace buffer is full while the agent is unreachable; new traces are dropped until it "
      "has room (datadog_buffer_size)");
  const std::string expected_up = "datadog: agent reachable again at 127.0.0.1:8126 after " +
                                  std::to_string((glue.now - outage_start) / seconds(1)) + ".";
  EXPECT_EQ(glue.lines[2].text.rfind(expected_up, 0), 0u) << glue.lines[2].text;
  EXPECT_NE(glue.lines[2].text.find("; 550 traces were dropped meanwhile"), std::string::npos)
      << glue.lines[2].text;
}

TEST(AgentSession, BufferFullIsToldOncePerEpisodeAndAgainAfterADelivery) {
  SessionConfig config;
  config.batch.max_buffered = 100;
  FakeGlue glue({"127.0.0.1:8126"}, {Agent{}}, config);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 5; ++i) glue.add_trace(trace_of(100));  // one fits, four dropped
    glue.flush();  // delivers the one kept: the next overflow is news again
  }
  ASSERT_EQ(glue.lines.size(), 2u);
  for (const LogLine& line : glue.lines) {
    EXPECT_EQ(line.level, LogLevel::error);
    EXPECT_EQ(
        line.text,
        "datadog: the trace buffer is full; new traces are dropped until it has room (datadog_buffer_size)");
  }
  EXPECT_EQ(glue.dropped(DropReason::buffer_full), 8u);
}

TEST(AgentSession, FullBufferSkipsEncodingAndCountsTheDrop) {
  SessionConfig config;
  config.batch.max_buffered = 100;
  FakeGlue glue({"127.0.0.1:8126"}, {Agent{}}, config);
  std::string* out = glue.session.begin_trace();
  ASSERT_NE(out, nullptr);
  *out += trace_of(100);
  glue.session.commit_trace();
  EXPECT_EQ(glue.session.begin_trace(), nullptr);
  EXPECT_EQ(glue.dropped(DropReason::buffer_full), 1u);
}

TEST(AgentSession, CommitSaysWhenAFullPayloadIsWaiting) {
  SessionConfig config;
  config.batch.max_payload = 100;
  FakeGlue glue({"127.0.0.1:8126"}, {Agent{}}, config);
  *glue.session.begin_trace() += trace_of(60);
  EXPECT_FALSE(glue.session.commit_trace());
  *glue.session.begin_trace() += trace_of(60);
  EXPECT_TRUE(glue.session.commit_trace());
}

TEST(AgentSession, GarbageReplyIsAFailureAndTheSamePayloadIsRetriedLater) {
  Agent liar;
  liar.reply = "SSH-2.0-OpenSSH_9.2\r\n";
  FakeGlue glue({"127.0.0.1:8126"}, {liar});
  glue.add_trace(trace_of(10, 'a'));
  EXPECT_EQ(glue.flush(), Command::Kind::idle);
  EXPECT_FALSE(glue.connection_open);
  ASSERT_EQ(glue.lines.size(), 1u);
  EXPECT_EQ(glue.lines[0].level, LogLevel::error);
  EXPECT_EQ(glue.lines[0].text,
            "datadog: agent at 127.0.0.1:8126 failed: invalid reply: not an HTTP/1.x response: "
            "\"SSH-2.0-OpenSSH_9.2\\r\\n\" (traces are kept up to the buffer cap and retried)");

  glue.add_trace(trace_of(10, 'b'));
  glue.flush();  // backing off: nothing happens
  EXPECT_EQ(glue.requests.size(), 1u);

  glue.agents[0] = Agent{};
  glue.now = glue.session.link().retry_at();
  glue.flush();
  ASSERT_EQ(glue.requests.size(), 2u);
  EXPECT_EQ(body_of(glue.requests[1]), body_of(glue.requests[0]));  // the same batch
  glue.flush();
  ASSERT_EQ(glue.requests.size(), 3u);
  EXPECT_EQ(body_of(glue.requests[2]), "\x91" + trace_of(10, 'b'));
}

TEST(AgentSession, ServerErrorsAreRetriedWithBackoffThenThePayloadIsGivenUp) {
  Agent failing;
  failing.reply = reply_with_status(503);
  FakeGlue glue({"127.0.0.1:8126"}, {failing});
  glue.add_trace(trace_of(10));
  for (int attempt = 0; attempt < 5; ++attempt) {
    glue.flush();
    glue.now = glue.session.link().retry_at();
  }
  EXPECT_EQ(glue.requests.size(), 5u);
  EXPECT_EQ(glue.connects.size(), 1u);  // the connection stays: the agent answered properly
  EXPECT_EQ(glue.dropped(DropReason::retries_exhausted), 1u);
  EXPECT_FALSE(glue.session.batch().payload_in_flight());
  ASSERT_EQ(glue.lines.size(), 1u);
  EXPECT_EQ(
      glue.lines[0].text,
      "datadog: agent at 127.0.0.1:8126 failed: HTTP 503 (traces are kept up to the buffer cap and retried)");
}

TEST(AgentSession, RejectedPayloadIsDroppedAndExplained) {
  Agent strict;
  strict.reply = reply_with_status(413);
  FakeGlue glue({"127.0.0.1:8126"}, {strict});
  glue.add_trace(trace_of(10));
  glue.flush();
  EXPECT_EQ(glue.dropped(DropReason::rejected), 1u);
  ASSERT_EQ(glue.lines.size(), 1u);
  EXPECT_EQ(glue.lines[0].level, LogLevel::error);
  EXPECT_EQ(
      glue.lines[0].text,
      "datadog: agent at 127.0.0.1:8126 rejected a payload of 1 traces (11 bytes): HTTP 413, too large for "
      "the agent; the payload is dropped");
  glue.flush();
  EXPECT_EQ(glue.requests.size(), 1u);  // nothing is retried
}

TEST(AgentSession, ReplyArrivingOneByteAtATimeIsUnderstood) {
  Agent slow;
  slow.bytewise = true;
  FakeGlue glue({"127.0.0.1:8126"}, {slow});
  glue.add_trace(trace_of(10));
  EXPECT_EQ(glue.flush(), Command::Kind::idle);
  EXPECT_EQ(glue.session.link().counters().payloads_sent, 1u);
  EXPECT_EQ(glue.rate_updates, 1);
}

TEST(AgentSession, StaleKeptAliveConnectionIsReplacedWithoutCountingAFailure) {
  FakeGlue glue({"127.0.0.1:8126"}, {Agent{}});
  glue.add_trace(trace_of(10));
  glue.flush();
  glue.add_trace(trace_of(10));

  Reaction reaction = glue.session.flush(glue.now);
  ASSERT_EQ(reaction.command.kind, Command::Kind::send);  // on the kept connection
  reaction = glue.session.peer_closed(glue.now);          // the agent had closed it meanwhile
  ASSERT_EQ(reaction.command.kind, Command::Kind::connect);
  EXPECT_TRUE(reaction.command.close_connection);
  glue.connection_open = false;
  EXPECT_EQ(glue.run(reaction), Command::Kind::idle);

  EXPECT_EQ(glue.session.link().counters().payloads_sent, 2u);
  EXPECT_EQ(glue.session.link().counters().failures, (std::array<std::uint64_t, 7>{}));
  EXPECT_TRUE(glue.lines.empty());
}

TEST(AgentSession, ReplyTimeoutOnAKeptAliveConnectionIsNotSentAgain) {
  FakeGlue glue({"127.0.0.1:8126"}, {Agent{}});
  glue.add_trace(trace_of(10));
  glue.flush();
  glue.add_trace(trace_of(10));

  Reaction reaction = glue.session.flush(glue.now);
  ASSERT_EQ(reaction.command.kind, Command::Kind::send);  // on the kept connection
  // The agent read the payload but is slow to answer: it may have it.
  reaction = glue.session.exchange_failed(Failure::response_timeout, "timed out", glue.now);
  EXPECT_EQ(reaction.command.kind, Command::Kind::idle);
  EXPECT_TRUE(reaction.command.close_connection);
  EXPECT_EQ(glue.connects.size(), 1u);
  EXPECT_EQ(glue.session.link().counters().payloads_sent, 1u);
}

TEST(AgentSession, IdleConnectionClosedByTheAgentIsForgotten) {
  FakeGlue glue({"127.0.0.1:8126"}, {Agent{}});
  glue.add_trace(trace_of(10));
  glue.flush();
  const Reaction reaction = glue.session.peer_closed(glue.now);
  EXPECT_EQ(reaction.command.kind, Command::Kind::idle);
  EXPECT_TRUE(reaction.command.close_connection);
  glue.connection_open = false;
  glue.add_trace(trace_of(10));
  glue.flush();
  EXPECT_EQ(glue.connects.size(), 2u);
  EXPECT_TRUE(glue.lines.empty());
}

TEST(AgentSession, CloseDelimitedReplyCompletesAtEof) {
  FakeGlue glue({"127.0.0.1:8126"}, {Agent{}});
  glue.add_trace(trace_of(10));
  Reaction reaction = glue.session.flush(glue.now);
  ASSERT_EQ(reaction.command.kind, Command::Kind::connect);
  reaction = glue.session.connected(glue.now);
  ASSERT_EQ(reaction.command.kind, Command::Kind::send);
  reaction = glue.session.received("HTTP/1.0 200 OK\r\n\r\n{}", glue.now);
  EXPECT_EQ(reaction.command.kind, Command::Kind::none);
  reaction = glue.session.peer_closed(glue.now);
  EXPECT_EQ(reaction.command.kind, Command::Kind::idle);
  EXPECT_TRUE(reaction.command.close_connection);
  EXPECT_EQ(glue.session.link().counters().payloads_sent, 1u);
}

TEST(AgentSession, ReplyTimeoutIsAFailureAndClosesTheConnection) {
  FakeGlue glue({"127.0.0.1:8126"}, {Agent{}});
  glue.add_trace(trace_of(10));
  Reaction reaction = glue.session.flush(glue.now);
  reaction = glue.session.connected(glue.now);
  ASSERT_EQ(reaction.command.kind, Command::Kind::send);
  EXPECT_EQ(reaction.command.deadline, glue.now + milliseconds(10000));
  EXPECT_EQ(glue.session.flush(glue.now).command.kind, Command::Kind::none);  // busy: carry on
  reaction = glue.session.exchange_failed(Failure::response_timeout, "timed out", reaction.command.deadline);
  EXPECT_EQ(reaction.command.kind, Command::Kind::idle);
  EXPECT_TRUE(reaction.command.close_connection);
  ASSERT_TRUE(reaction.log.has_value());
  EXPECT_EQ(reaction.log->text,
            "datadog: agent at 127.0.0.1:8126 failed: timed out (traces are kept up to the buffer cap and "
            "retried)");
  EXPECT_TRUE(glue.session.batch().payload_in_flight());
}

TEST(AgentSession, EarlyRejectionWhileStillWritingEndsTheExchange) {
  FakeGlue glue({"127.0.0.1:8126"}, {Agent{}});
  glue.add_trace(trace_of(10));
  glue.session.flush(glue.now);
  glue.session.connected(glue.now);
  const Reaction reaction = glue.session.received(
      "HTTP/1.1 413 Request Entity Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", glue.now);
  EXPECT_EQ(reaction.command.kind, Command::Kind::idle);  // stop writing
  EXPECT_TRUE(reaction.command.close_connection);
  EXPECT_FALSE(glue.session.batch().payload_in_flight());
}

TEST(AgentSession, NewAddressesReplaceAKeptAliveConnectionAndTakeTheBufferedTraces) {
  FakeGlue glue({"10.0.0.2:8126"}, {Agent{}, Agent{}});
  glue.add_trace(trace_of(10));
  glue.flush();
  ASSERT_TRUE(glue.connection_open);
  ASSERT_EQ(glue.connects, std::vector<std::size_t>{0});

  // The glue closes the kept-alive connection to the old address itself.
  ASSERT_TRUE(glue.session.replace_addresses({"10.0.0.3:8126", "10.0.0.4:8126"}));
  glue.connection_open = false;
  glue.agents = {Agent{Agent::Kind::refuses}, Agent{}};
  glue.add_trace(trace_of(10, 'y'));
  EXPECT_EQ(glue.flush(), Command::Kind::idle);
  // A new connection (not the old one), to the new addresses, in order.
  EXPECT_EQ(glue.connects, (std::vector<std::size_t>{0, 0, 1}));
  ASSERT_EQ(glue.requests.size(), 2u);
  EXPECT_EQ(glue.request_addresses.back(), 1u);
  EXPECT_NE(body_of(glue.requests.back()).find("yyyy"), std::string::npos);
}

TEST(AgentSession, AddressesAreNotReplacedDuringAnExchange) {
  FakeGlue glue({"127.0.0.1:8126"}, {Agent{}});
  glue.add_trace(trace_of(10));
  const Reaction connect = glue.session.flush(glue.now);
  ASSERT_EQ(connect.command.kind, Command::Kind::connect);
  EXPECT_FALSE(glue.session.replace_addresses({"10.0.0.3:8126"}));
  EXPECT_EQ(glue.session.link().address_name(0), "127.0.0.1:8126");
}

TEST(AgentSession, ExitFinishesTheExchangeUnderWayThenSendsTheRestWithoutSendingAnythingTwice) {
  FakeGlue glue({"127.0.0.1:8126"}, {Agent{}});
  glue.add_trace(trace_of(10, 'a'));
  Reaction reaction = glue.session.flush(glue.now);
  ASSERT_EQ(reaction.command.kind, Command::Kind::connect);
  reaction = glue.session.connected(glue.now);
  ASSERT_EQ(reaction.command.kind, Command::Kind::send);
  const std::string first_body(reaction.command.body);
  glue.add_trace(trace_of(10, 'b'));  // waits behind the payload in flight

  // The worker exits while the agent's reply is pending: carry on.
  EXPECT_EQ(glue.session.begin_exit(glue.now).command.kind, Command::Kind::none);
  EXPECT_TRUE(glue.session.busy());
  // The reply: the rest follows at once on the same connection, although it
  // is far from a full payload.
  reaction = glue.session.received(ok_reply, glue.now);
  ASSERT_EQ(reaction.command.kind, Command::Kind::send);
  EXPECT_FALSE(reaction.command.close_connection);
  EXPECT_EQ(reaction.command.body, "\x91" + trace_of(10, 'b'));
  EXPECT_NE(std::string(reaction.command.body), first_body);
  EXPECT_EQ(glue.session.received(ok_reply, glue.now).command.kind, Command::Kind::idle);

  const Reaction end = glue.session.end_exit();
  EXPECT_EQ(end.command.kind, Command::Kind::idle);
  EXPECT_FALSE(end.log.has_value());
  EXPECT_EQ(glue.session.link().counters().traces_sent, 2u);
  EXPECT_EQ(glue.dropped(DropReason::worker_exit), 0u);
}

TEST(AgentSession, ExitDeliversEveryBufferedPayloadOneAfterAnother) {
  SessionConfig config;
  config.batch.max_payload = 1000;
  FakeGlue glue({"127.0.0.1:8126"}, {Agent{}}, config);
  for (int i = 0; i < 25; ++i) glue.add_trace(trace_of(100));  // three payloads, the last one partial
  EXPECT_EQ(glue.run(glue.session.begin_exit(glue.now)), Command::Kind::idle);
  EXPECT_EQ(glue.requests.size(), 3u);
  EXPECT_EQ(glue.connects.size(), 1u);
  EXPECT_EQ(glue.session.link().counters().traces_sent, 25u);
  EXPECT_FALSE(glue.session.end_exit().log.has_value());
}

TEST(AgentSession, ExitIgnoresTheBackoffAndStillFallsBackToTheNextAddress) {
  FakeGlue glue({"[::1]:8126", "127.0.0.1:8126"}, {Agent{Agent::Kind::refuses}, Agent{Agent::Kind::refuses}});
  glue.add_trace(trace_of(10));
  glue.flush();  // every address refuses: backing off
  ASSERT_GT(glue.session.link().retry_at(), glue.now);
  glue.agents[1] = Agent{};  // the agent is back, before the backoff ends
  glue.connects.clear();
  EXPECT_EQ(glue.run(glue.session.begin_exit(glue.now)), Command::Kind::idle);
  EXPECT_EQ(glue.connects, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(glue.session.link().counters().traces_sent, 1u);
}

TEST(AgentSession, ReplyStillPendingWhenTheExitFlushEndsCountsEveryHeldTraceAsDropped) {
  FakeGlue glue({"127.0.0.1:8126"}, {Agent{}});
  glue.add_trace(trace_of(10));
  glue.add_trace(trace_of(10));
  glue.session.flush(glue.now);
  ASSERT_EQ(glue.session.connected(glue.now).command.kind, Command::Kind::send);
  glue.add_trace(trace_of(10));
  EXPECT_EQ(glue.session.begin_exit(glue.now).command.kind, Command::Kind::none);

  const Reaction end = glue.session.end_exit();  // the exit deadline passed
  EXPECT_EQ(end.command.kind, Command::Kind::idle);
  EXPECT_TRUE(end.command.close_connection);
  ASSERT_TRUE(end.log.has_value());
  EXPECT_EQ(end.log->level, LogLevel::error);
  EXPECT_EQ(end.log->text,
            "datadog: 3 traces could not be delivered before the worker exited (no reply yet from "
            "127.0.0.1:8126)");
  EXPECT_EQ(glue.dropped(DropReason::worker_exit), 3u);
  EXPECT_EQ(glue.session.link().counters().traces_dropped_total(), 3u);
  EXPECT_EQ(glue.session.batch().buffered_traces(), 0u);
  EXPECT_FALSE(glue.session.busy());
  // A late reply changes nothing.
  glue.session.received(ok_reply, glue.now);
  EXPECT_EQ(glue.session.link().counters().traces_sent, 0u);
}

TEST(AgentSession, FailedPayloadAtExitIsNotRetriedAndIsCountedAsDropped) {
  Agent failing;
  failing.reply = reply_with_status(503);
  FakeGlue glue({"127.0.0.1:8126"}, {failing});
  glue.add_trace(trace_of(10));
  EXPECT_EQ(glue.run(glue.session.begin_exit(glue.now)), Command::Kind::idle);
  EXPECT_EQ(glue.requests.size(), 1u);
  const Reaction end = glue.session.end_exit();
  ASSERT_TRUE(end.log.has_value());
  EXPECT_EQ(end.log->text,
            "datadog: 1 traces could not be delivered before the worker exited (127.0.0.1:8126: HTTP 503)");
  EXPECT_EQ(glue.dropped(DropReason::worker_exit), 1u);
}

TEST(AgentSession, NothingHeldAtExitMeansNoConnectionAndNoLogLine) {
  FakeGlue glue({"127.0.0.1:8126"}, {Agent{}});
  EXPECT_EQ(glue.run(glue.session.begin_exit(glue.now)), Command::Kind::idle);
  EXPECT_TRUE(glue.connects.empty());
  EXPECT_FALSE(glue.session.end_exit().log.has_value());
}
