// The flush state machine of agent_session.hpp: idle -> connecting (one
// address after another) -> exchanging -> idle, with the payload kept in the
// batch until it is delivered or given up.
#include "agent/agent_session.hpp"

namespace datadog::agent {
namespace {

Reaction with_command(Command::Kind kind, bool close_connection = false) {
  Reaction reaction;
  reaction.command.kind = kind;
  reaction.command.close_connection = close_connection;
  return reaction;
}

}  // namespace

AgentSession::AgentSession(std::vector<std::string> address_names, AgentRequestWriter writer,
                           SessionConfig config)
    : batch_(config.batch),
      link_(std::move(address_names), config.link),
      writer_(std::move(writer)),
      parser_(config.response),
      config_(config) {}

bool AgentSession::replace_addresses(std::vector<std::string> address_names) {
  if (phase_ != Phase::idle) return false;
  link_.replace_addresses(std::move(address_names));
  address_ = 0;
  connection_open_ = false;
  connection_reused_ = false;
  return true;
}

std::string* AgentSession::begin_trace() {
  if (!batch_.has_room()) {
    link_.traces_dropped(DropReason::buffer_full, 1);
    return nullptr;
  }
  return &batch_.begin_trace();
}

bool AgentSession::commit_trace() {
  switch (batch_.commit_trace()) {
    case AppendResult::buffer_full:
      link_.traces_dropped(DropReason::buffer_full, 1);
      break;
    case AppendResult::too_large:
      link_.traces_dropped(DropReason::too_large, 1);
      break;
    case AppendResult::accepted:
    case AppendResult::empty:
      break;
  }
  return batch_.full_payload_ready();
}

Reaction AgentSession::flush(Clock::time_point now) {
  Reaction reaction = start_flush(now);
  if (!reaction.log) reaction.log = link_.take_buffer_full_notice();
  return reaction;
}

Reaction AgentSession::start_flush(Clock::time_point now) {
  if (phase_ != Phase::idle) {
    return with_command(Command::Kind::none);
  }
  // At exit there is no later: a backoff would only turn into drops.
  if (!exiting_ && !link_.ready(now)) {
    return with_command(Command::Kind::idle);
  }
  const auto payload = batch_.next_payload();
  if (!payload) {
    return with_command(Command::Kind::idle);
  }
  payload_ = *payload;
  stale_retry_done_ = false;
  const std::size_t first = link_.start_round();
  if (connection_open_ && address_ == first) {
    connection_reused_ = true;
    return send_on_connection(now);
  }
  const bool close_first = connection_open_;
  address_ = first;
  return start_connecting(close_first, now);
}

Reaction AgentSession::connected(Clock::time_point now) {
  if (phase_ != Phase::connecting) {
    return with_command(Command::Kind::none);
  }
  connection_open_ = true;
  connection_reused_ = false;
  return send_on_connection(now);
}

Reaction AgentSession::send_on_connection(Clock::time_point now) {
  phase_ = Phase::exchanging;
  parser_.reset();
  Reaction reaction = with_command(Command::Kind::send);
  reaction.command.address = address_;
  reaction.command.head = writer_.head(payload_.bytes.size(), payload_.traces);
  reaction.command.body = payload_.bytes;
  reaction.command.deadline = now + config_.request_timeout;
  return reaction;
}

Reaction AgentSession::connect_failed(Failure failure, std::string_view detail, Clock::time_point now) {
  if (phase_ != Phase::connecting) {
    return with_command(Command::Kind::none);
  }
  connection_open_ = false;
  AfterFailure after = link_.attempt_failed(address_, failure, detail, now);
  Reaction reaction;
  reaction.log = std::move(after.log);
  if (after.next_address) {
    address_ = *after.next_address;
    reaction.command.kind = Command::Kind::connect;
    reaction.command.close_connection = true;
    reaction.command.address = address_;
    reaction.command.deadline = now + config_.connect_timeout;
    return reaction;
  }
  // Every address failed: the payload stays in flight until link_.ready().
  phase_ = Phase::idle;
  reaction.command.kind = Command::Kind::idle;
  reaction.command.close_connection = true;
  return reaction;
}

Reaction AgentSession::received(std::string_view bytes, Clock::time_point now) {
  if (phase_ == Phase::idle) {
    // Bytes nobody asked for: whatever the peer is doing, this connection is
    // not one to send the next payload on.
    connection_open_ = false;
    return with_command(Command::Kind::idle, true);
  }
  if (phase_ == Phase::connecting) {
    return with_command(Command::Kind::none);
  }
  switch (parser_.feed(bytes)) {
    case AgentResponseParser::Result::need_more:
      return with_command(Command::Kind::none);
    case AgentResponseParser::Result::complete:
      return handle_response(now);
    case AgentResponseParser::Result::error:
      break;
  }
  return exchange_failed(Failure::bad_response, "invalid reply: " + std::string(parser_.error()), now);
}

Reaction AgentSession::peer_closed(Clock::time_point now) {
  if (phase_ == Phase::connecting) {
    return connect_failed(Failure::connect_error, "connection closed", now);
  }
  if (phase_ == Phase::idle) {
    // The agent closed a kept-alive connection between flushes.
    connection_open_ = false;
    return with_command(Command::Kind::idle, true);
  }
  connection_open_ = false;
  if (parser_.finish_on_eof() == AgentResponseParser::Result::complete) {
    return handle_response(now);
  }
  return exchange_failed(Failure::io_error, parser_.error(), now);
}

std::optional<Reaction> AgentSession::retry_stale_connection(Failure failure, Clock::time_point now) {
  // An agent may close an idle kept-alive connection just as we reuse it; a
  // failure before any reply byte then says nothing about the agent. Retry
  // once on a fresh connection, without counting. Such a connection shows up
  // as an end of stream or a reset, never as a reply timeout: an agent that
  // is slow to answer may well have the payload, and sending it again would
  // duplicate every span in it.
  if (failure != Failure::io_error || !connection_reused_ || parser_.started() || stale_retry_done_) {
    return std::nullopt;
  }
  stale_retry_done_ = true;
  connection_reused_ = false;
  return start_connecting(true, now);
}

Reaction AgentSession::start_connecting(bool close_first, Clock::time_point now) {
  connection_open_ = false;
  phase_ = Phase::connecting;
  Reaction reaction = with_command(Command::Kind::connect, close_first);
  reaction.command.address = address_;
  reaction.command.deadline = now + config_.connect_timeout;
  return reaction;
}

Reaction AgentSession::exchange_failed(Failure failure, std::string_view detail, Clock::time_point now) {
  if (phase_ == Phase::connecting) {
    return connect_failed(failure, detail, now);
  }
  if (phase_ == Phase::idle) {
    connection_open_ = false;
    return with_command(Command::Kind::idle, true);
  }
  if (auto retry = retry_stale_connection(failure, now)) {
    return std::move(*retry);
  }
  connection_open_ = false;
  phase_ = Phase::idle;
  AfterFailure after = link_.payload_failed(address_, failure, detail, payload_.traces, now);
  if (after.drop_payload) {
    batch_.release_payload();
  }
  Reaction reaction = with_command(Command::Kind::idle, true);
  reaction.log = std::move(after.log);
  return reaction;
}

Reaction AgentSession::handle_response(Clock::time_point now) {
  const int status = parser_.status_code();
  const bool keep = connection_open_ && parser_.reusable();
  Reaction reaction;
  if (status >= 200 && status < 300) {
    reaction.log = link_.payload_delivered(address_, payload_.traces, payload_.bytes.size(), now);
    batch_.release_payload();
    take_rates(reaction);
  } else if (status == 400 || status == 413) {
    reaction.log = link_.payload_rejected(address_, status, payload_.traces, payload_.bytes.size(), now);
    batch_.release_payload();
  } else {
    if (status == 429) {
      take_rates(reaction);  // a busy agent may still say how much to keep
    }
    AfterFailure after = link_.payload_failed(address_, Failure::http_status,
                                              "HTTP " + std::to_string(status), payload_.traces, now);
    if (after.drop_payload) {
      batch_.release_payload();
    }
    if (after.log) {
      reaction.log = std::move(after.log);
    }
    phase_ = Phase::idle;
    connection_open_ = keep;
    reaction.command.kind = Command::Kind::idle;
    reaction.command.close_connection = !keep;
    return reaction;
  }
  phase_ = Phase::idle;
  connection_open_ = keep;
  // Drain a backlog (after an outage, or under heavy load) without waiting
  // for the timer; a partly filled payload waits for the next tick, except at
  // exit, where there is no next tick.
  Command next = batch_.full_payload_ready() || exiting_ ? flush(now).command
                                                         : with_command(Command::Kind::idle).command;
  next.close_connection = next.close_connection || !keep;
  reaction.command = next;
  return reaction;
}

Reaction AgentSession::begin_exit(Clock::time_point now) {
  exiting_ = true;
  return flush(now);
}

Reaction AgentSession::end_exit() {
  Reaction reaction = with_command(Command::Kind::idle, true);
  const std::size_t left = batch_.buffered_traces();
  std::string why;
  if (phase_ == Phase::connecting) {
    why = "still connecting to " + link_.address_name(address_);
  } else if (phase_ == Phase::exchanging) {
    why = "no reply yet from " + link_.address_name(address_);
  } else {
    why = link_.counters().last_error;
  }
  phase_ = Phase::idle;
  connection_open_ = false;
  if (left == 0) {
    return reaction;
  }
  link_.traces_dropped(DropReason::worker_exit, left);
  batch_.clear();
  reaction.log = LogLine{LogLevel::error, "datadog: " + std::to_string(left) +
                                              " traces could not be delivered before the worker exited" +
                                              (why.empty() ? std::string() : " (" + why + ")")};
  return reaction;
}

void AgentSession::take_rates(Reaction& reaction) {
  RateByServiceParse parsed = parse_rate_by_service(parser_.body());
  if (parsed.ok() && parsed.has_rates) {
    rates_ = std::move(parsed.rates);
    reaction.rates = &rates_;
  }
  if (parsed.ok() && parsed.skipped == 0) {
    return;
  }
  ++bad_rate_replies_;
  if (bad_rates_logged_ || reaction.log) {
    return;
  }
  bad_rates_logged_ = true;  // once per worker: the agent will not change its mind
  reaction.log =
      LogLine{LogLevel::warn,
              parsed.ok() ? "datadog: ignored " + std::to_string(parsed.skipped) +
                                " of the agent's sampling rates (first: " + parsed.skipped_example + ")"
                          : "datadog: ignored the agent's sampling rates: " + parsed.error};
}

}  // namespace datadog::agent
