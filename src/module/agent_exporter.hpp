// The worker's connection to the Datadog Agent: nginx event-loop I/O for the
// decisions of agent::AgentSession (what to send, where, when to retry, what
// to log). Non-blocking connect, write and read; one payload in flight while
// the next batch accumulates.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/agent_session.hpp"
#include "agent/status_board.hpp"
#include "module/nginx.hpp"
#include "trace/span_record.hpp"
#include "trace/trace_sampler.hpp"

namespace datadog::module {

struct MainConf;

class AgentExporter {
 public:
  // One address of the agent, with its printable name ("[::1]:8126").
  struct Address {
    sockaddr_storage sockaddr{};
    socklen_t socklen = 0;
    std::string name;
  };

  AgentExporter(ngx_cycle_t* cycle, const MainConf& conf, trace::TraceSampler& sampler);
  ~AgentExporter();
  AgentExporter(const AgentExporter&) = delete;
  AgentExporter& operator=(const AgentExporter&) = delete;

  void record_trace(std::span<const trace::SpanRecord> spans) noexcept;
  // At worker exit (the event loop no longer runs): finishes the exchange
  // under way and delivers what is left, within datadog_exit_flush_timeout,
  // blocking; what is still held then is counted as dropped. Then publishes
  // the final counters.
  void flush_at_exit() noexcept;

  // Where this worker's counters go for datadog_status (null: nowhere).
  void set_status_slot(agent::StatusSlot* slot) noexcept { status_ = slot; }

 private:
  static std::vector<Address> addresses_of(const MainConf& conf);
  static void on_flush_timer(ngx_event_t* event);
  static void on_resolved(ngx_resolver_ctx_t* resolution);
  // Every address failed, or there never was one: ask nginx's resolver again
  // (when the http block has one), at most every resolve_interval.
  void resolve_again() noexcept;
  void take_addresses(std::vector<Address> addresses) noexcept;
  void after_connect_failure() noexcept;
  static void on_flush_posted(ngx_event_t* event);
  static void on_deadline(ngx_event_t* event);
  static void on_connection_event(ngx_event_t* event);
  static void capture_error(ngx_log_t* log, ngx_uint_t level, u_char* buf, size_t len);

  void react(agent::Reaction reaction) noexcept;
  void connect_to(std::size_t address) noexcept;
  void on_writable() noexcept;
  void on_readable() noexcept;
  // nginx asks the connection to close (worker exit).
  void on_close_requested() noexcept;
  // The connect or the exchange took too long.
  void deadline_passed() noexcept;
  void close_connection() noexcept;
  void set_deadline(agent::Clock::time_point deadline) noexcept;
  void publish_status() noexcept;

  ngx_cycle_t* cycle_;
  const MainConf& conf_;
  trace::TraceSampler& sampler_;
  std::vector<Address> addresses_;
  agent::AgentSession session_;
  ngx_resolver_ctx_t* resolution_ = nullptr;  // a resolution under way
  ngx_msec_t last_resolution_ = 0;
  bool resolved_once_ = false;
  std::string last_resolution_error_;
  std::string tracer_version_;

  ngx_event_t flush_timer_{};
  ngx_event_t flush_posted_{};
  ngx_event_t deadline_{};
  ngx_log_t quiet_log_{};
  char last_error_[256]{};

  agent::StatusSlot* status_ = nullptr;
  ngx_connection_t* connection_ = nullptr;
  bool connecting_ = false;
  std::string_view head_;
  std::string_view body_;
  std::size_t sent_ = 0;
  agent::Clock::time_point exchange_deadline_{};  // of the connect or exchange under way
  bool exiting_ = false;                          // in flush_at_exit
};

}  // namespace datadog::module
