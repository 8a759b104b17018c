// One worker's session with the agent, as a state machine without I/O: it owns the
// batch buffer and the link policy, writes request heads, parses replies, and
// tells the nginx glue which I/O to perform next. The glue owns the socket,
// the timers and the clock, and reports back.
//
// The glue's side, per worker:
//   log phase:   if (auto* out = session.begin_trace()) { encode the trace
//                into *out; if (session.commit_trace()) schedule a flush; }
//   flush timer (every datadog_flush_interval) or scheduled flush:
//                react(session.flush(now))
//   connect done:          react(session.connected(now))
//   connect failed:        react(session.connect_failed(Failure::connect_refused
//                          for ECONNREFUSED, else connect_error, strerror(errno), now))
//   connect timer:         react(session.connect_failed(Failure::connect_timeout, "timed out", now))
//   readable:              react(session.received(bytes, now)) for what was read;
//                          react(session.peer_closed(now)) on EOF
//   write/read error:      react(session.exchange_failed(Failure::io_error, strerror(errno), now))
//   request timer:         react(session.exchange_failed(Failure::response_timeout, "timed out", now))
// where react(reaction) logs reaction.log, hands *reaction.rates to the
// sampler, and performs reaction.command:
//   none:     carry on with what is under way (or stay idle)
//   idle:     the exchange is over: stop writing; close the connection if
//             close_connection, else keep it open for the next flush (an EOF on
//             it is reported with peer_closed)
//   connect:  close the current connection if close_connection, start a
//             non-blocking connect to address `address`, arm a timer at
//             `deadline`
//   send:     write head then body on the open connection while reading the
//             reply; arm a timer at `deadline` (the whole exchange)
// Views in a send command stay valid until the next reaction that is not
// `none`.
//
// At worker exit nginx's event loop no longer runs, possibly with an exchange
// under way (a fast stop, a single-process nginx quitting, nginx closing the
// connection at worker_shutdown_timeout). The glue then drives this same
// session with a bounded poll loop on its socket, feeding the same events:
//   react(session.begin_exit(now)); while (session.busy() and the exit
//   deadline has not passed) { poll; connected/received/... as above }
//   react(session.end_exit())
// so the exchange under way is finished, never started over: a payload the
// agent may already have is not sent twice.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/agent_link.hpp"
#include "agent/agent_request.hpp"
#include "agent/agent_response_parser.hpp"
#include "agent/rate_by_service.hpp"
#include "agent/trace_batch.hpp"

namespace datadog::agent {

struct SessionConfig {
  TraceBatchLimits batch;
  LinkConfig link;
  ResponseLimits response;
  // Connects to a local agent complete in microseconds; waiting longer than
  // this only holds the payload back while other addresses could work.
  std::chrono::milliseconds connect_timeout{2000};
  // From the first byte written to the complete reply: 4 MiB to a local
  // agent takes milliseconds; an agent this slow is overloaded.
  std::chrono::milliseconds request_timeout{10000};
};

struct Command {
  enum class Kind { none, idle, connect, send };
  Kind kind = Kind::none;
  bool close_connection = false;
  std::size_t address = 0;  // connect
  std::string_view head;    // send
  std::string_view body;    // send
  Clock::time_point deadline{};
};

struct Reaction {
  Command command;
  std::optional<LogLine> log;
  // New agent sampling rates; valid until the next call.
  const ServiceRates* rates = nullptr;
};

class AgentSession {
 public:
  AgentSession(std::vector<std::string> address_names, AgentRequestWriter writer, SessionConfig config = {});

  // Log phase. nullptr when the buffer is full (the trace is counted as
  // dropped and need not be encoded).
  std::string* begin_trace();
  // True when a full payload is waiting: worth flushing before the timer.
  bool commit_trace();
  void abandon_trace() { batch_.abandon_trace(); }

  Reaction flush(Clock::time_point now);
  Reaction connected(Clock::time_point now);
  Reaction connect_failed(Failure failure, std::string_view detail, Clock::time_point now);
  Reaction received(std::string_view bytes, Clock::time_point now);
  Reaction peer_closed(Clock::time_point now);
  Reaction exchange_failed(Failure failure, std::string_view detail, Clock::time_point now);

  bool busy() const noexcept { return phase_ != Phase::idle; }

  // New addresses for the agent (see AgentLink::replace_addresses). Only
  // while idle: false, and nothing changed, while an exchange is under way.
  // A kept-alive connection belongs to an old address: the caller closes it.
  bool replace_addresses(std::vector<std::string> address_names);
  const TraceBatch& batch() const noexcept { return batch_; }

  // The worker exits: from now on the backoff is ignored, and every delivered
  // payload is followed at once by the next one, however small, until nothing
  // is left or an exchange fails (nothing is retried at exit). Carries on
  // with an exchange under way (command none), else starts one.
  Reaction begin_exit(Clock::time_point now);
  // The exit flush is over (the session went idle, or the exit deadline
  // passed with an exchange still under way): what is still held is counted
  // as dropped (DropReason::worker_exit) and logged. Command idle, closing
  // the connection.
  Reaction end_exit();
  const AgentLink& link() const noexcept { return link_; }
  // Replies whose rate_by_service could not be used.
  std::uint64_t bad_rate_replies() const noexcept { return bad_rate_replies_; }

 private:
  enum class Phase { idle, connecting, exchanging };

  Reaction start_flush(Clock::time_point now);
  Reaction send_on_connection(Clock::time_point now);
  Reaction handle_response(Clock::time_point now);
  std::optional<Reaction> retry_stale_connection(Failure failure, Clock::time_point now);
  // A connect command to address_ (closing the open connection first if asked).
  Reaction start_connecting(bool close_first, Clock::time_point now);
  void take_rates(Reaction& reaction);

  TraceBatch batch_;
  AgentLink link_;
  AgentRequestWriter writer_;
  AgentResponseParser parser_;
  SessionConfig config_;
  Phase phase_ = Phase::idle;
  std::size_t address_ = 0;  // being connected to, or of the open connection
  bool connection_open_ = false;
  bool connection_reused_ = false;  // the exchange runs on a kept-alive connection
  bool stale_retry_done_ = false;
  bool exiting_ = false;
  Payload payload_;
  ServiceRates rates_;
  std::uint64_t bad_rate_replies_ = 0;
  bool bad_rates_logged_ = false;
};

}  // namespace datadog::agent
