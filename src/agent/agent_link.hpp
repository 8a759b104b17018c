// The decision core of one worker's link to the agent, with no I/O: which
// address to try, when to retry, what to count, and which rare log line to
// write. The nginx glue reports what happened; this says what to do next.
//
// Address policy: a worker keeps the last address that worked and uses only
// that one while it works. When it fails, the others are tried in their
// configured order within the same flush. The preferred address is not
// probed again while its fallback works: for the common case (localhost
// resolving to [::1] first, the agent listening on 127.0.0.1 only) probing
// would cost a refused connect per flush and gain nothing, and the preferred
// address comes back into play by itself the next time the fallback fails.
//
// Logging: one line when the agent becomes unreachable (every address tried,
// each error), one when it is reachable again (outage duration, traces
// dropped meanwhile), one when delivery moves to another address than the one
// last reported; nothing per request, per flush or per retry. Rejected
// payloads (400/413) are logged with their reason, at most once a minute.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/backoff.hpp"

namespace datadog::agent {

using Clock = std::chrono::steady_clock;

enum class LogLevel { error, warn, notice, info };

struct LogLine {
  LogLevel level;
  std::string text;
};

// What went wrong, for counters. The first three happen before a connection
// exists, so another address is tried at once; the others happen on a
// connection to an agent that was reached, so the payload is retried later on
// the same address.
enum class Failure : std::uint8_t {
  connect_refused,
  connect_timeout,
  connect_error,
  io_error,          // reset, broken pipe, closed before the response was complete
  response_timeout,  // no complete response within the request timeout
  bad_response,      // not HTTP, or over the parser's limits
  http_status,       // a status other than 2xx, 400 and 413 (e.g. 429, 404, 5xx)
};
inline constexpr std::size_t failure_kinds = 7;
std::string_view failure_name(Failure failure) noexcept;

enum class DropReason : std::uint8_t {
  buffer_full,        // over datadog_buffer_size while the agent was slow or away
  too_large,          // one trace bigger than a payload
  rejected,           // the agent answered 400 or 413
  retries_exhausted,  // the agent kept failing on the same payload
  worker_exit,        // still held when the worker exited: not delivered within datadog_exit_flush_timeout
};
inline constexpr std::size_t drop_reasons = 5;
std::string_view drop_reason_name(DropReason reason) noexcept;

struct AgentCounters {
  std::uint64_t payloads_sent = 0;
  std::uint64_t traces_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t payloads_rejected = 0;
  std::array<std::uint64_t, failure_kinds> failures{};  // attempts and payloads, by kind
  std::array<std::uint64_t, drop_reasons> traces_dropped{};
  std::string last_error;  // "127.0.0.1:8126: connection refused"

  std::uint64_t traces_dropped_total() const noexcept;
};

enum class LinkState { unknown, reachable, unreachable };

struct LinkConfig {
  BackoffPolicy backoff;
  // Replies that failed for the same payload (5xx, 429, garbage, timeouts)
  // before it is dropped, so one payload the agent chokes on cannot stall the
  // buffer forever. Connect failures do not count: the payload is not at
  // fault when nothing listens.
  unsigned max_payload_failures = 5;
  std::chrono::seconds rejection_log_interval{60};
  std::uint64_t jitter_seed = 0;  // e.g. from the pid; any value works
};

struct AfterFailure {
  // Connect to this address now, within the same flush...
  std::optional<std::size_t> next_address;
  // ...or else send nothing before this time.
  Clock::time_point retry_at{};
  // The payload failed too often: release it (its traces are already counted
  // as dropped, reason retries_exhausted).
  bool drop_payload = false;
  std::optional<LogLine> log;
};

class AgentLink {
 public:
  // `address_names` are printable ("[::1]:8126", "127.0.0.1:8126",
  // "unix:/var/run/datadog/apm.socket"), in the order to try them; the glue
  // keeps the matching socket addresses at the same indices.
  explicit AgentLink(std::vector<std::string> address_names, LinkConfig config = {});

  std::size_t address_count() const noexcept { return names_.size(); }

  // The agent's host name resolved anew (nginx's resolver, after every
  // address failed): tries the new addresses, in their order, at once. The
  // link's state, counters and backoff stay: an outage goes on until a
  // payload is delivered. Call between rounds only.
  void replace_addresses(std::vector<std::string> address_names);
  const std::string& address_name(std::size_t address) const { return names_.at(address); }

  // False while backing off after a failure.
  bool ready(Clock::time_point now) const noexcept { return now >= retry_at_; }
  Clock::time_point retry_at() const noexcept { return retry_at_; }

  // Starts trying to deliver a payload; returns the address to use first: the
  // last one that worked.
  std::size_t start_round();

  // Connecting to `address` failed (refused, timed out, unreachable): the next
  // address to try in this round, or, once every address has failed, when to
  // try again.
  AfterFailure attempt_failed(std::size_t address, Failure failure, std::string_view detail,
                              Clock::time_point now);

  // The agent at `address` was reached but the exchange failed (5xx, 429,
  // garbage, reset, timeout): retry the same payload later, same address.
  AfterFailure payload_failed(std::size_t address, Failure failure, std::string_view detail,
                              std::size_t traces, Clock::time_point now);

  // A 2xx reply: the payload is delivered.
  std::optional<LogLine> payload_delivered(std::size_t address, std::size_t traces, std::size_t bytes,
                                           Clock::time_point now);

  // A 400 or 413 reply: the payload will never be accepted; it is dropped and
  // counted.
  std::optional<LogLine> payload_rejected(std::size_t address, int status, std::size_t traces,
                                          std::size_t bytes, Clock::time_point now);

  // Traces dropped before they became a payload (buffer full, too large).
  void traces_dropped(DropReason reason, std::uint64_t count) noexcept;

  // The line to log once when the buffer first overflows (until a payload
  // is delivered again): the user must act (agent away, or the buffer too
  // small for the traffic), so it is logged at error, as the outage is.
  // std::nullopt when there is nothing new to say.
  std::optional<LogLine> take_buffer_full_notice();

  LinkState state() const noexcept { return state_; }
  std::optional<Clock::time_point> down_since() const noexcept { return down_since_; }
  std::size_t preferred_address() const noexcept { return preferred_; }
  const AgentCounters& counters() const noexcept { return counters_; }

 private:
  void record_failure(std::size_t address, Failure failure, std::string_view detail);
  AfterFailure back_off(Clock::time_point now, std::string down_text);
  std::string recovery_text(std::size_t address, Clock::time_point now) const;
  void mark_reachable(std::size_t address);

  std::vector<std::string> names_;
  LinkConfig config_;
  Backoff backoff_;
  JitterSource jitter_;
  std::size_t preferred_ = 0;             // the last address that worked
  std::size_t announced_ = 0;             // the address the log last named as in use
  std::vector<bool> tried_;               // in this round
  std::vector<std::string> last_errors_;  // per address
  std::string round_errors_;
  LinkState state_ = LinkState::unknown;
  bool ever_reachable_ = false;
  std::optional<Clock::time_point> down_since_;
  std::uint64_t dropped_when_down_ = 0;
  bool buffer_full_pending_ = false;    // a drop the log has not told yet
  bool buffer_full_announced_ = false;  // told, since the last delivery
  Clock::time_point retry_at_{};
  unsigned payload_failures_ = 0;
  std::optional<Clock::time_point> last_rejection_log_;
  std::uint64_t rejections_not_logged_ = 0;
  AgentCounters counters_;
};

}  // namespace datadog::agent
