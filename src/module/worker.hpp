// Worker-lifetime state: created in init_process, released in exit_process.
// Each worker owns its id generator, its batch of encoded traces and its
// connection to the agent, so nothing here is shared or locked.
#pragma once

#include <cstdint>
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
};

}  // namespace datadog::module
