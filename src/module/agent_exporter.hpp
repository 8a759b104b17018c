// The worker's connection to the Datadog Agent, driven entirely by nginx's
// event loop: non-blocking connect, write, read; one payload in flight while
// the next batch accumulates; the next address when one fails.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "module/nginx.hpp"
#include "trace/span_record.hpp"

namespace datadog::module {

struct MainConf;

class AgentExporter {
 public:
  AgentExporter(ngx_cycle_t* cycle, const MainConf& conf);
  ~AgentExporter();
  AgentExporter(const AgentExporter&) = delete;
  AgentExporter& operator=(const AgentExporter&) = delete;

  void record_trace(std::span<const trace::SpanRecord> spans) noexcept;
  // At worker exit: one last bounded, blocking attempt to deliver what is left
  // (the event loop no longer runs).
  void flush_at_exit() noexcept;

 private:
  enum class State { idle, connecting, sending, receiving };

  static void on_timer(ngx_event_t* event);
  static void on_connection_event(ngx_event_t* event);
  static void capture_error(ngx_log_t* log, ngx_uint_t level, u_char* buf, size_t len);

  void schedule_flush();
  void start_flush();
  void prepare_payload();
  void connect_next();
  void on_writable();
  void on_readable();
  void attempt_failed(const char* what);
  void payload_finished(int status);
  void close_connection();
  void build_request_head();

  ngx_cycle_t* cycle_;
  const MainConf& conf_;
  ngx_event_t timer_{};
  ngx_log_t quiet_log_{};
  char last_error_[256]{};

  State state_ = State::idle;
  ngx_connection_t* connection_ = nullptr;
  ngx_uint_t address_index_ = 0;    // the address that last worked (or is being tried)
  ngx_uint_t addresses_tried_ = 0;  // in the current attempt
  bool reachable_ = true;           // for logging state changes only
  std::string failures_;            // every address's error of the current outage

  std::string batch_;  // encoded traces waiting for the next payload
  std::uint32_t batch_traces_ = 0;
  std::string payload_;  // msgpack array header + traces, in flight
  std::uint32_t payload_traces_ = 0;
  std::string request_head_;
  std::size_t sent_ = 0;
  std::string response_;
  std::uint64_t traces_dropped_ = 0;
};

}  // namespace datadog::module
