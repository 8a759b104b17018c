// Worker start and exit: seeding ids, starting the exporter, the final flush.
#include "module/worker.hpp"

#include <openssl/rand.h>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <new>

#include "module/agent_exporter.hpp"
#include "module/main_conf.hpp"
#include "module/status.hpp"
#include "trace/runtime_id.hpp"

extern ngx_module_t ngx_http_datadog_module;

namespace datadog::module {

Worker* Worker::instance_ = nullptr;

Worker::Worker(ngx_cycle_t* cycle, const MainConf& conf, const std::array<std::uint64_t, 4>& seed)
    : ids_(seed), sampler_(*conf.sampler_config), span_sampler_(conf.sampler_config->span_rules) {
  pid_length_ = static_cast<std::size_t>(ngx_sprintf(reinterpret_cast<u_char*>(pid_text_), "%P", ngx_pid) -
                                         reinterpret_cast<u_char*>(pid_text_));
  const std::uint64_t high = ids_.next();
  runtime_id_ = trace::uuid_v4_text(high, ids_.next());
  // fixstr headers (0xa0 | length), but str8 (0xd9, length) for the 36
  // characters of the UUID.
  fixed_meta_ = std::string(
                    "\xa9"
                    "component\xa5nginx"
                    "\xa9span.kind\xa6server"
                    "\xa8language\xa3"
                    "cpp"
                    "\xaaruntime-id") +
                '\xd9' + static_cast<char>(runtime_id_.size()) + std::string(runtime_id());
  process_id_ = {"process_id", static_cast<double>(ngx_pid)};
  exporter_ = new AgentExporter(cycle, conf, sampler_);
  if (agent::StatusBoard* board = status_board(cycle)) {
    // Workers share a user, so kill() fails with ESRCH only for a gone pid.
    status_slot_ = board->claim(static_cast<std::int64_t>(ngx_pid), [](std::int64_t pid) {
      return kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
    });
    exporter_->set_status_slot(status_slot_);
  }
}

Worker::~Worker() { delete exporter_; }

ngx_int_t Worker::start(ngx_cycle_t* cycle) noexcept {
  // Cache manager and loader processes run init_process too; they serve no
  // requests and must not talk to the agent.
  if (ngx_process != NGX_PROCESS_WORKER && ngx_process != NGX_PROCESS_SINGLE) return NGX_OK;
  auto* conf = static_cast<MainConf*>(ngx_http_cycle_get_module_main_conf(cycle, ngx_http_datadog_module));
  if (conf == nullptr) return NGX_OK;  // no http block
  std::array<std::uint64_t, 4> seed{};
  if (RAND_bytes(reinterpret_cast<unsigned char*>(seed.data()), sizeof(seed)) != 1) {
    // Still distinct per worker and per start, though not cryptographic.
    seed = {static_cast<std::uint64_t>(ngx_pid),
            static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()),
            static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()),
            reinterpret_cast<std::uintptr_t>(&seed)};
  }
  try {
    instance_ = new Worker(cycle, *conf, seed);
  } catch (...) {
    ngx_log_error(NGX_LOG_ALERT, cycle->log, 0, "datadog: cannot start the worker's tracing state");
    return NGX_ERROR;
  }
  return NGX_OK;
}

void Worker::stop(ngx_cycle_t* cycle) noexcept {
  if (instance_ == nullptr) return;
  instance_->exporter_->flush_at_exit();
  if (instance_->status_slot_ != nullptr) {
    if (agent::StatusBoard* board = status_board(cycle)) board->release(*instance_->status_slot_);
  }
  delete instance_;
  instance_ = nullptr;
}

void Worker::record_trace(std::span<const trace::SpanRecord> spans) noexcept {
  exporter_->record_trace(spans);
}

}  // namespace datadog::module
