// Worker-lifetime state: created in init_process, released in exit_process.
// Each worker owns its id generator, its batch of encoded traces and its
// connection to the agent, so nothing here is shared or locked.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "agent/status_board.hpp"
#include "module/nginx.hpp"
#include "trace/id_generator.hpp"
#include "trace/span_record.hpp"
#include "trace/span_sampler.hpp"
#include "trace/trace_sampler.hpp"

namespace datadog::module {

class AgentExporter;
struct MainConf;

class Worker {
 public:
  // Null before init_process (e.g. during `nginx -t`) and after exit_process.
  static Worker* get() noexcept { return instance_; }
  static ngx_int_t start(ngx_cycle_t* cycle) noexcept;
  static void stop(ngx_cycle_t* cycle) noexcept;

  trace::IdGenerator& ids() noexcept { return ids_; }
  trace::TraceSampler& sampler() noexcept { return sampler_; }
  trace::SpanSampler& span_sampler() noexcept { return span_sampler_; }
  // This worker's counters in shared memory; null when every slot was taken.
  agent::StatusSlot* status_slot() noexcept { return status_slot_; }
  std::string_view pid_text() const noexcept { return {pid_text_, pid_length_}; }
  // The `runtime-id` tag: a UUID drawn from this worker's id generator at start.
  std::string_view runtime_id() const noexcept { return {runtime_id_.data(), runtime_id_.size()}; }
  // The request span's tags that are the same for every span of this worker
  // (component, span.kind, language, runtime-id), msgpack-encoded once.
  std::string_view request_span_fixed_meta() const noexcept { return fixed_meta_; }
  static constexpr std::size_t request_span_fixed_meta_count = 4;
  // process_id, for child spans (the request span has its own metrics).
  std::span<const trace::Metric> child_span_metrics() const noexcept { return {&process_id_, 1}; }
  // Encodes a finished trace into the batch bound for the agent.
  void record_trace(std::span<const trace::SpanRecord> spans) noexcept;

 private:
  Worker(ngx_cycle_t* cycle, const MainConf& conf, const std::array<std::uint64_t, 4>& seed);
  ~Worker();

  static Worker* instance_;
  trace::IdGenerator ids_;
  trace::TraceSampler sampler_;
  trace::SpanSampler span_sampler_;  // DD_SPAN_SAMPLING_RULES
  AgentExporter* exporter_ = nullptr;
  agent::StatusSlot* status_slot_ = nullptr;
  char pid_text_[NGX_INT64_LEN]{};
  std::size_t pid_length_ = 0;
  std::array<char, 36> runtime_id_{};
  std::string fixed_meta_;
  trace::Metric process_id_;
};

}  // namespace datadog::module
