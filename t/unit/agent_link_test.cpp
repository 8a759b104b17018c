// The link policy of one worker: which address to use, when to retry, what to
// count, and the few log lines an operator sees.
#include "agent/agent_link.hpp"

#include <gtest/gtest.h>

#include <vector>

using datadog::agent::AfterFailure;
using datadog::agent::AgentLink;
using datadog::agent::Clock;
using datadog::agent::DropReason;
using datadog::agent::Failure;
using datadog::agent::LinkConfig;
using datadog::agent::LinkState;
using datadog::agent::LogLevel;
using datadog::agent::LogLine;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const Clock::time_point start{seconds(1000)};

std::vector<std::string> localhost_addresses() { return {"[::1]:8126", "127.0.0.1:8126"}; }

// Drives a link the way the glue does for one payload: connect to the
// addresses it names until one accepts, then deliver. `refusing[i]` says
// whether address i refuses connections.
struct Driver {
  AgentLink link;
  std::vector<LogLine> lines;
  Clock::time_point now = start;

  explicit Driver(std::vector<std::string> names, LinkConfig config = {}) : link(std::move(names), config) {}

  void keep(std::optional<LogLine> line) {
    if (line) {
      lines.push_back(*line);
    }
  }

  // Returns the address that took the payload, or nullopt after a failed round.
  std::optional<std::size_t> flush(const std::vector<bool>& refusing, std::size_t traces = 10) {
    std::size_t address = link.start_round();
    while (refusing[address]) {
      AfterFailure after = link.attempt_failed(address, Failure::connect_refused, "connection refused", now);
      keep(after.log);
      if (!after.next_address) {
        EXPECT_GT(after.retry_at, now);
        return std::nullopt;
      }
      address = *after.next_address;
    }
    keep(link.payload_delivered(address, traces, traces * 100, now));
    return address;
  }
};

}  // namespace

TEST(AgentLink, RefusedIpv6FallsBackToIpv4WithinTheSameFlush) {
  Driver driver(localhost_addresses());
  EXPECT_EQ(driver.link.start_round(), 0u);
  const AfterFailure after =
      driver.link.attempt_failed(0, Failure::connect_refused, "connection refused", driver.now);
  ASSERT_TRUE(after.next_address.has_value());
  EXPECT_EQ(*after.next_address, 1u);
  EXPECT_FALSE(after.log.has_value());
  EXPECT_TRUE(driver.link.ready(driver.now));  // no backoff: the round is not over
}

TEST(AgentLink, FallbackOverAHundredFlushesLogsExactlyOneLine) {
  Driver driver(localhost_addresses());
  for (int flush = 0; flush < 100; ++flush) {
    ASSERT_EQ(driver.flush({true, false}), 1u);
    driver.now += seconds(1);
  }
  ASSERT_EQ(driver.lines.size(), 1u);
  EXPECT_EQ(driver.lines[0].level, LogLevel::notice);
  EXPECT_EQ(driver.lines[0].text,
            "datadog: agent at [::1]:8126 failed (connection refused); using 127.0.0.1:8126");
  EXPECT_EQ(driver.link.state(), LinkState::reachable);
  EXPECT_EQ(driver.link.preferred_address(), 1u);
}

TEST(AgentLink, WorkingFallbackIsKeptWithoutProbingThePreferredAddressAgain) {
  Driver driver(localhost_addresses());
  driver.flush({true, false});
  for (int flush = 0; flush < 100; ++flush) {
    EXPECT_EQ(driver.link.start_round(), 1u);
    driver.link.payload_delivered(1, 1, 100, driver.now);
  }
  // Only the first flush tried [::1].
  EXPECT_EQ(driver.link.counters().failures[static_cast<std::size_t>(Failure::connect_refused)], 1u);
}

TEST(AgentLink, FirstAddressWorkingLogsNothing) {
  Driver driver(localhost_addresses());
  for (int flush = 0; flush < 10; ++flush) {
    ASSERT_EQ(driver.flush({false, true}), 0u);
  }
  EXPECT_TRUE(driver.lines.empty());
  EXPECT_EQ(driver.link.counters().payloads_sent, 10u);
  EXPECT_EQ(driver.link.counters().traces_sent, 100u);
  EXPECT_EQ(driver.link.counters().bytes_sent, 10000u);
}

TEST(AgentLink, OutageOfManyRoundsLogsOneLineDownAndOneLineUp) {
  Driver driver(localhost_addresses());
  driver.flush({true, false});  // start-up: the fallback line
  driver.lines.clear();
  driver.now += seconds(1);

  const Clock::time_point outage_start = driver.now;
  int rounds = 0;
  while (driver.now < outage_start + seconds(60)) {
    if (driver.link.ready(driver.now)) {
      ASSERT_FALSE(driver.flush({true, true}).has_value());
      ++rounds;
    }
    driver.link.traces_dropped(DropReason::buffer_full, 1);  // one trace a second over the cap
    driver.now += milliseconds(100);
  }
  EXPECT_GT(rounds, 5);
  ASSERT_EQ(driver.link.state(), LinkState::unreachable);
  ASSERT_EQ(driver.link.down_since(), outage_start);

  while (!driver.link.ready(driver.now)) {
    driver.now += milliseconds(100);
  }
  driver.now = outage_start + milliseconds(72300);
  ASSERT_EQ(driver.flush({true, false}), 1u);

  ASSERT_EQ(driver.lines.size(), 2u);
  EXPECT_EQ(driver.lines[0].level, LogLevel::error);
  EXPECT_EQ(driver.lines[0].text,
            "datadog: agent unreachable: 127.0.0.1:8126: connection refused; [::1]:8126: connection refused "
            "(traces are kept up to the buffer cap and retried)");
  EXPECT_EQ(driver.lines[1].level, LogLevel::error);
  EXPECT_EQ(
      driver.lines[1].text,
      "datadog: agent reachable again at 127.0.0.1:8126 after 72.3 s; 600 traces were dropped meanwhile");
  EXPECT_EQ(driver.link.state(), LinkState::reachable);
}

TEST(AgentLink, AgentNotYetUpAtStartupIsReportedOnceItAnswers) {
  Driver driver({"127.0.0.1:8126"});
  EXPECT_FALSE(driver.flush({true}).has_value());
  driver.now += seconds(3);
  EXPECT_EQ(driver.flush({false}), 0u);
  ASSERT_EQ(driver.lines.size(), 2u);
  EXPECT_EQ(
      driver.lines[0].text,
      "datadog: agent unreachable: 127.0.0.1:8126: connection refused (traces are kept up to the buffer cap "
      "and retried)");
  EXPECT_EQ(driver.lines[1].text,
            "datadog: agent reachable at 127.0.0.1:8126 after 3.0 s; 0 traces were dropped meanwhile");
}

TEST(AgentLink, BackoffGrowsWithFailedRoundsAndResetsOnDelivery) {
  Driver driver({"127.0.0.1:8126"});
  for (int round = 1; round <= 6; ++round) {
    driver.link.start_round();
    const AfterFailure after =
        driver.link.attempt_failed(0, Failure::connect_timeout, "timed out", driver.now);
    const auto wait = std::chrono::duration_cast<milliseconds>(after.retry_at - driver.now);
    const milliseconds step = std::min(milliseconds(1000 << (round - 1)), milliseconds(10000));
    EXPECT_GE(wait, step / 2) << round;
    EXPECT_LE(wait, step) << round;
    EXPECT_FALSE(driver.link.ready(after.retry_at - milliseconds(1)));
    EXPECT_TRUE(driver.link.ready(after.retry_at));
    driver.now = after.retry_at;
  }
  driver.link.payload_delivered(0, 1, 100, driver.now);
  EXPECT_TRUE(driver.link.ready(driver.now));
  driver.link.start_round();
  const AfterFailure after = driver.link.attempt_failed(0, Failure::connect_refused, "refused", driver.now);
  EXPECT_LE(after.retry_at - driver.now, milliseconds(1000));
}

TEST(AgentLink, PreferredAddressThatFailsLaterFallsBackAndSaysSoOnce) {
  Driver driver(localhost_addresses());
  driver.flush({false, false});
  for (int flush = 0; flush < 20; ++flush) {
    driver.flush({true, false});
  }
  ASSERT_EQ(driver.lines.size(), 1u);
  EXPECT_EQ(driver.lines[0].text,
            "datadog: agent at [::1]:8126 failed (connection refused); using 127.0.0.1:8126");
}

TEST(AgentLink, RoundTriesTheLastWorkingAddressFirstThenTheOthersInOrder) {
  Driver driver({"a:1", "b:2", "c:3"});
  driver.flush({true, true, false});  // now prefers c
  std::vector<std::size_t> order;
  std::size_t address = driver.link.start_round();
  order.push_back(address);
  while (
      auto next =
          driver.link.attempt_failed(address, Failure::connect_error, "no route", driver.now).next_address) {
    address = *next;
    order.push_back(address);
  }
  EXPECT_EQ(order, (std::vector<std::size_t>{2, 0, 1}));
}

TEST(AgentLink, AgentErrorsAreRetriedLaterOnTheSameAddressWithOneLine) {
  Driver driver({"127.0.0.1:8126"});
  driver.flush({false});
  for (int attempt = 0; attempt < 3; ++attempt) {
    const AfterFailure after =
        driver.link.payload_failed(0, Failure::http_status, "HTTP 503", 10, driver.now);
    EXPECT_FALSE(after.next_address.has_value());
    EXPECT_GT(after.retry_at, driver.now);
    EXPECT_FALSE(after.drop_payload);
    driver.keep(after.log);
    driver.now = after.retry_at;
  }
  ASSERT_EQ(driver.lines.size(), 1u);
  EXPECT_EQ(driver.lines[0].level, LogLevel::error);
  EXPECT_EQ(
      driver.lines[0].text,
      "datadog: agent at 127.0.0.1:8126 failed: HTTP 503 (traces are kept up to the buffer cap and retried)");
  EXPECT_EQ(driver.link.counters().failures[static_cast<std::size_t>(Failure::http_status)], 3u);
  EXPECT_EQ(driver.link.counters().last_error, "127.0.0.1:8126: HTTP 503");
}

TEST(AgentLink, PayloadTheAgentKeepsFailingOnIsDroppedAfterFiveTries) {
  Driver driver({"127.0.0.1:8126"});
  for (int attempt = 1; attempt <= 5; ++attempt) {
    const AfterFailure after =
        driver.link.payload_failed(0, Failure::bad_response, "invalid reply", 7, driver.now);
    EXPECT_EQ(after.drop_payload, attempt == 5) << attempt;
  }
  EXPECT_EQ(driver.link.counters().traces_dropped[static_cast<std::size_t>(DropReason::retries_exhausted)],
            7u);
  // The count starts over for the next payload.
  EXPECT_FALSE(
      driver.link.payload_failed(0, Failure::bad_response, "invalid reply", 7, driver.now).drop_payload);
}

TEST(AgentLink, ConnectFailuresNeverDropThePayload) {
  Driver driver({"127.0.0.1:8126"});
  for (int round = 0; round < 100; ++round) {
    driver.link.start_round();
    EXPECT_FALSE(driver.link.attempt_failed(0, Failure::connect_refused, "refused", driver.now).drop_payload);
  }
  EXPECT_EQ(driver.link.counters().traces_dropped_total(), 0u);
}

TEST(AgentLink, DeliveryResetsTheFailureCountOfTheNextPayload) {
  Driver driver({"127.0.0.1:8126"});
  for (int i = 0; i < 4; ++i) {
    driver.link.payload_failed(0, Failure::response_timeout, "timed out", 1, driver.now);
  }
  driver.link.payload_delivered(0, 1, 10, driver.now);
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(
        driver.link.payload_failed(0, Failure::response_timeout, "timed out", 1, driver.now).drop_payload);
  }
}

TEST(AgentLink, RejectedPayloadIsDroppedCountedAndExplained) {
  Driver driver({"127.0.0.1:8126"});
  driver.flush({false});
  const auto line = driver.link.payload_rejected(0, 413, 12, 5000, driver.now);
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->level, LogLevel::error);
  EXPECT_EQ(line->text,
            "datadog: agent at 127.0.0.1:8126 rejected a payload of 12 traces (5000 bytes): HTTP 413, too "
            "large for "
            "the agent; the payload is dropped");
  EXPECT_EQ(driver.link.counters().traces_dropped[static_cast<std::size_t>(DropReason::rejected)], 12u);
  EXPECT_EQ(driver.link.counters().payloads_rejected, 1u);
  EXPECT_EQ(driver.link.state(), LinkState::reachable);
}

TEST(AgentLink, RejectionsAreReportedAtMostOnceAMinute) {
  Driver driver({"127.0.0.1:8126"});
  EXPECT_TRUE(driver.link.payload_rejected(0, 400, 1, 10, driver.now).has_value());
  for (int i = 0; i < 59; ++i) {
    driver.now += seconds(1);
    EXPECT_FALSE(driver.link.payload_rejected(0, 400, 1, 10, driver.now).has_value());
  }
  driver.now += seconds(1);
  const auto line = driver.link.payload_rejected(0, 400, 1, 10, driver.now);
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(
      line->text,
      "datadog: agent at 127.0.0.1:8126 rejected a payload of 1 traces (10 bytes): HTTP 400, the agent could "
      "not decode it; the payload is dropped (59 more rejected since the last report)");
}

TEST(AgentLink, RejectionAfterAnOutageReportsTheRecoveryToo) {
  Driver driver({"127.0.0.1:8126"});
  driver.flush({false});
  driver.flush({true});
  driver.lines.clear();
  driver.now += seconds(2);
  const auto line = driver.link.payload_rejected(0, 400, 3, 30, driver.now);
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(
      line->text,
      "datadog: agent reachable again at 127.0.0.1:8126 after 2.0 s; 0 traces were dropped meanwhile; it "
      "rejected a payload of 3 traces (30 bytes): HTTP 400, the agent could not decode it; the payload is "
      "dropped");
  EXPECT_EQ(driver.link.state(), LinkState::reachable);
}

TEST(AgentLink, DropsAreCountedByReason) {
  AgentLink link({"127.0.0.1:8126"});
  link.traces_dropped(DropReason::buffer_full, 5);
  link.traces_dropped(DropReason::too_large, 1);
  EXPECT_EQ(link.counters().traces_dropped[static_cast<std::size_t>(DropReason::buffer_full)], 5u);
  EXPECT_EQ(link.counters().traces_dropped_total(), 6u);
  EXPECT_EQ(datadog::agent::drop_reason_name(DropReason::buffer_full), "buffer_full");
  EXPECT_EQ(datadog::agent::failure_name(Failure::connect_refused), "connect_refused");
}

TEST(AgentLink, UnixSocketAddressIsNamedInLogs) {
  Driver driver({"unix:/var/run/datadog/apm.socket"});
  driver.flush({true});
  ASSERT_EQ(driver.lines.size(), 1u);
  EXPECT_EQ(
      driver.lines[0].text,
      "datadog: agent unreachable: unix:/var/run/datadog/apm.socket: connection refused (traces are kept up "
      "to the buffer cap and retried)");
}

TEST(AgentLink, AnAddressListIsNeverEmpty) {
  AgentLink link({});
  EXPECT_EQ(link.address_count(), 1u);
  EXPECT_EQ(link.start_round(), 0u);
}

TEST(AgentLinkAddresses, NewAddressesAreTriedAtOnceAndTheOutageEndsOnDelivery) {
  Driver d({"10.0.0.2:8126"});
  ASSERT_EQ(d.flush({true}), std::nullopt);  // the agent's old address refuses
  EXPECT_EQ(d.link.state(), LinkState::unreachable);
  EXPECT_FALSE(d.link.ready(d.now));  // backing off

  // The name resolved again: two new addresses, usable now, not after the backoff.
  d.link.replace_addresses({"10.0.0.3:8126", "10.0.0.4:8126"});
  EXPECT_EQ(d.link.address_count(), 2u);
  EXPECT_EQ(d.link.address_name(1), "10.0.0.4:8126");
  EXPECT_TRUE(d.link.ready(d.now));
  EXPECT_EQ(d.link.state(), LinkState::unreachable) << "the outage ends with a delivery, not a lookup";

  // The first new address refuses, the second takes the payload.
  EXPECT_EQ(d.flush({true, false}), std::optional<std::size_t>(1));
  EXPECT_EQ(d.link.state(), LinkState::reachable);
  EXPECT_EQ(d.link.preferred_address(), 1u);
  EXPECT_EQ(d.link.counters().failures[static_cast<std::size_t>(Failure::connect_refused)], 2u);
  // The unreachable line, then one recovery line naming the new address.
  ASSERT_EQ(d.lines.size(), 2u);
  EXPECT_NE(d.lines[1].text.find("10.0.0.4:8126"), std::string::npos) << d.lines[1].text;
}

TEST(AgentLinkAddresses, AnEmptyListKeepsAPlaceholder) {
  AgentLink link({"127.0.0.1:8126"});
  link.replace_addresses({});
  EXPECT_EQ(link.address_count(), 1u);
  EXPECT_EQ(link.preferred_address(), 0u);
}
