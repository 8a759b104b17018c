// The address, retry and logging policy of agent_link.hpp. Every event
// returns at most one log line, and only on a change the operator cares about.
#include "agent/agent_link.hpp"

#include <numeric>

namespace datadog::agent {
namespace {

constexpr std::string_view kept_note = " (traces are kept up to the buffer cap and retried)";

std::string seconds_text(Clock::duration elapsed) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  const auto tenths = ms < 0 ? 0 : ms / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
}

std::string rejection_reason(int status) {
  switch (status) {
    case 400:
      return "HTTP 400, the agent could not decode it";
    case 413:
      return "HTTP 413, too large for the agent";
    default:
      return "HTTP " + std::to_string(status);
  }
}

}  // namespace

std::string_view failure_name(Failure failure) noexcept {
  switch (failure) {
    case Failure::connect_refused:
      return "connect_refused";
    case Failure::connect_timeout:
      return "connect_timeout";
    case Failure::connect_error:
      return "connect_error";
    case Failure::io_error:
      return "io_error";
    case Failure::response_timeout:
      return "response_timeout";
    case Failure::bad_response:
      return "bad_response";
    case Failure::http_status:
      return "http_status";
  }
  return "unknown";
}

std::string_view drop_reason_name(DropReason reason) noexcept {
  switch (reason) {
    case DropReason::buffer_full:
      return "buffer_full";
    case DropReason::too_large:
      return "too_large";
    case DropReason::rejected:
      return "rejected";
    case DropReason::retries_exhausted:
      return "retries_exhausted";
    case DropReason::worker_exit:
      return "worker_exit";
  }
  return "unknown";
}

std::uint64_t AgentCounters::traces_dropped_total() const noexcept {
  return std::accumulate(traces_dropped.begin(), traces_dropped.end(), std::uint64_t{0});
}

AgentLink::AgentLink(std::vector<std::string> address_names, LinkConfig config)
    : names_(std::move(address_names)),
      config_(config),
      backoff_(config.backoff),
      jitter_(config.jitter_seed) {
  if (names_.empty()) {
    names_.emplace_back("(no agent address)");
  }
  tried_.assign(names_.size(), false);
  last_errors_.resize(names_.size());
}

void AgentLink::replace_addresses(std::vector<std::string> address_names) {
  names_ = std::move(address_names);
  if (names_.empty()) {
    names_.emplace_back("(no agent address)");
  }
  tried_.assign(names_.size(), false);
  last_errors_.assign(names_.size(), std::string());
  preferred_ = 0;
  announced_ = 0;
  retry_at_ = {};
}

std::size_t AgentLink::start_round() {
  tried_.assign(names_.size(), false);
  round_errors_.clear();
  return preferred_;
}

void AgentLink::record_failure(std::size_t address, Failure failure, std::string_view detail) {
  ++counters_.failures[static_cast<std::size_t>(failure)];
  counters_.last_error = names_[address];
  counters_.last_error += ": ";
  counters_.last_error += detail;
  last_errors_[address] = detail;
}

AfterFailure AgentLink::attempt_failed(std::size_t address, Failure failure, std::string_view detail,
                                       Clock::time_point now) {
  if (address >= names_.size()) {
    address = preferred_;
  }
  record_failure(address, failure, detail);
  tried_[address] = true;
  if (!round_errors_.empty()) {
    round_errors_ += "; ";
  }
  round_errors_ += counters_.last_error;

  AfterFailure after;
  if (!tried_[preferred_]) {
    after.next_address = preferred_;
    return after;
  }
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (!tried_[i]) {
      after.next_address = i;
      return after;
    }
  }
  return back_off(now, "datadog: agent unreachable: " + round_errors_ + std::string(kept_note));
}

AfterFailure AgentLink::payload_failed(std::size_t address, Failure failure, std::string_view detail,
                                       std::size_t traces, Clock::time_point now) {
  if (address >= names_.size()) {
    address = preferred_;
  }
  record_failure(address, failure, detail);
  // The connection itself worked: this is the agent's address.
  preferred_ = address;
  const bool give_up = ++payload_failures_ >= config_.max_payload_failures;
  if (give_up) {
    payload_failures_ = 0;
    counters_.traces_dropped[static_cast<std::size_t>(DropReason::retries_exhausted)] += traces;
  }
  AfterFailure after = back_off(now, "datadog: agent at " + names_[address] +
                                         " failed: " + std::string(detail) + std::string(kept_note));
  after.drop_payload = give_up;
  return after;
}

AfterFailure AgentLink::back_off(Clock::time_point now, std::string down_text) {
  AfterFailure after;
  retry_at_ = now + backoff_.next_delay(jitter_.next());
  after.retry_at = retry_at_;
  if (state_ != LinkState::unreachable) {
    state_ = LinkState::unreachable;
    down_since_ = now;
    dropped_when_down_ = counters_.traces_dropped_total();
    // Error, not warn: Debian's default error_log level is error, and an
    // outage the user cannot see is one they cannot fix.
    after.log = LogLine{LogLevel::error, std::move(down_text)};
  }
  return after;
}

std::string AgentLink::recovery_text(std::size_t address, Clock::time_point now) const {
  std::string text = ever_reachable_ ? "datadog: agent reachable again at " : "datadog: agent reachable at ";
  text += names_[address];
  text += " after ";
  text += seconds_text(now - down_since_.value_or(now));
  text += "; ";
  text += std::to_string(counters_.traces_dropped_total() - dropped_when_down_);
  text += " traces were dropped meanwhile";
  return text;
}

void AgentLink::mark_reachable(std::size_t address) {
  state_ = LinkState::reachable;
  ever_reachable_ = true;
  down_since_.reset();
  preferred_ = address;
  announced_ = address;
  payload_failures_ = 0;
  buffer_full_pending_ = false;
  buffer_full_announced_ = false;
  backoff_.reset();
  retry_at_ = Clock::time_point{};
}

std::optional<LogLine> AgentLink::payload_delivered(std::size_t address, std::size_t traces,
                                                    std::size_t bytes, Clock::time_point now) {
  if (address >= names_.size()) {
    address = preferred_;
  }
  ++counters_.payloads_sent;
  counters_.traces_sent += traces;
  counters_.bytes_sent += bytes;

  std::optional<LogLine> line;
  if (state_ == LinkState::unreachable) {
    // At the outage line's level, so that whoever saw it sees the end too.
    line = LogLine{LogLevel::error, recovery_text(address, now)};
  } else if (address != announced_) {
    const std::string& why = last_errors_[announced_];
    line = LogLine{LogLevel::notice, "datadog: agent at " + names_[announced_] + " failed (" +
                                         (why.empty() ? std::string("unknown error") : why) + "); using " +
                                         names_[address]};
  }
  mark_reachable(address);
  return line;
}

std::optional<LogLine> AgentLink::payload_rejected(std::size_t address, int status, std::size_t traces,
                                                   std::size_t bytes, Clock::time_point now) {
  if (address >= names_.size()) {
    address = preferred_;
  }
  std::optional<std::string> prefix;
  if (state_ == LinkState::unreachable) {
    prefix = recovery_text(address, now);
  }
  ++counters_.payloads_rejected;
  counters_.traces_dropped[static_cast<std::size_t>(DropReason::rejected)] += traces;
  mark_reachable(address);

  // A rejection is a bug somewhere (ours or the agent's) and says nothing
  // new the second time: report the first, then at most one per interval.
  const bool due = !last_rejection_log_ || now - *last_rejection_log_ >= config_.rejection_log_interval ||
                   prefix.has_value();
  if (!due) {
    ++rejections_not_logged_;
    return std::nullopt;
  }
  std::string text = prefix ? *prefix + "; it" : "datadog: agent at " + names_[address];
  text += " rejected a payload of " + std::to_string(traces) + " traces (" + std::to_string(bytes) +
          " bytes): " + rejection_reason(status) + "; the payload is dropped";
  if (rejections_not_logged_ > 0) {
    text += " (" + std::to_string(rejections_not_logged_) + " more rejected since the last report)";
  }
  rejections_not_logged_ = 0;
  last_rejection_log_ = now;
  return LogLine{LogLevel::error, std::move(text)};
}

void AgentLink::traces_dropped(DropReason reason, std::uint64_t count) noexcept {
  counters_.traces_dropped[static_cast<std::size_t>(reason)] += count;
  if (reason == DropReason::buffer_full && !buffer_full_announced_) buffer_full_pending_ = true;
}

std::optional<LogLine> AgentLink::take_buffer_full_notice() {
  if (!buffer_full_pending_) return std::nullopt;
  buffer_full_pending_ = false;
  buffer_full_announced_ = true;
  std::string text = "datadog: the trace buffer is full";
  text += state_ == LinkState::unreachable ? " while the agent is unreachable" : "";
  text += "; new traces are dropped until it has room (datadog_buffer_size)";
  return LogLine{LogLevel::error, std::move(text)};
}

}  // namespace datadog::agent
