// Claiming, releasing, publishing and reading status slots.
#include "agent/status_board.hpp"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

namespace datadog::agent {
namespace {

constexpr auto relaxed = std::memory_order_relaxed;

void add_counters(StatusSlot& to, const StatusSlot& from) {
  auto add = [](std::atomic<std::uint64_t>& a, const std::atomic<std::uint64_t>& b) {
    a.fetch_add(b.load(relaxed), relaxed);
  };
  add(to.spans_created, from.spans_created);
  add(to.payloads_sent, from.payloads_sent);
  add(to.traces_sent, from.traces_sent);
  add(to.bytes_sent, from.bytes_sent);
  add(to.payloads_rejected, from.payloads_rejected);
  for (std::size_t i = 0; i < failure_kinds; ++i) add(to.failures[i], from.failures[i]);
  for (std::size_t i = 0; i < drop_reasons; ++i) add(to.traces_dropped[i], from.traces_dropped[i]);
  add(to.rum_injected, from.rum_injected);
  add(to.rum_no_injection_point, from.rum_no_injection_point);
  add(to.rum_decoded, from.rum_decoded);
  add(to.rum_failed, from.rum_failed);
  for (std::size_t i = 0; i < rum::kSkipReasonCount; ++i) add(to.rum_skipped[i], from.rum_skipped[i]);
}

void reset(StatusSlot& slot) {
  for (auto* counter : {&slot.spans_created, &slot.payloads_sent, &slot.traces_sent, &slot.bytes_sent,
                        &slot.payloads_rejected, &slot.rum_injected, &slot.rum_no_injection_point,
                        &slot.rum_decoded, &slot.rum_failed}) {
    counter->store(0, relaxed);
  }
  for (auto& counter : slot.failures) counter.store(0, relaxed);
  for (auto& counter : slot.traces_dropped) counter.store(0, relaxed);
  for (auto& counter : slot.rum_skipped) counter.store(0, relaxed);
  slot.state.store(0, relaxed);
  slot.address[0] = '\0';
  slot.last_error[0] = '\0';
}

void copy_text(char* to, std::size_t size, std::string_view text) {
  const std::size_t n = std::min(text.size(), size - 1);
  if (n != 0) std::memcpy(to, text.data(), n);  // an empty view's data() may be null
  to[n] = '\0';
}

std::string_view state_name(std::uint8_t state) {
  switch (static_cast<LinkState>(state)) {
    case LinkState::reachable:
      return "reachable";
    case LinkState::unreachable:
      return "unreachable";
    case LinkState::unknown:
      break;
  }
  return "unknown";
}

nlohmann::json counters_json(const StatusSlot& slot) {
  nlohmann::json failures = nlohmann::json::object();
  for (std::size_t i = 0; i < failure_kinds; ++i) {
    failures[std::string(failure_name(static_cast<Failure>(i)))] = slot.failures[i].load(relaxed);
  }
  nlohmann::json dropped = nlohmann::json::object();
  std::uint64_t dropped_total = 0;
  for (std::size_t i = 0; i < drop_reasons; ++i) {
    const auto n = slot.traces_dropped[i].load(relaxed);
    dropped[std::string(drop_reason_name(static_cast<DropReason>(i)))] = n;
    dropped_total += n;
  }
  nlohmann::json skipped = nlohmann::json::object();
  for (std::size_t i = 1; i < rum::kSkipReasonCount; ++i) {
    skipped[std::string(rum::skip_reason_name(static_cast<rum::SkipReason>(i)))] =
        slot.rum_skipped[i].load(relaxed);
  }
  nlohmann::json rum = {{"injected", slot.rum_injected.load(relaxed)},
                        {"no_injection_point", slot.rum_no_injection_point.load(relaxed)},
                        {"decoded", slot.rum_decoded.load(relaxed)},
                        {"failed", slot.rum_failed.load(relaxed)},
                        {"skipped_by_reason", skipped}};
  return {{"spans_created", slot.spans_created.load(relaxed)},
          {"payloads_sent", slot.payloads_sent.load(relaxed)},
          {"traces_sent", slot.traces_sent.load(relaxed)},
          {"bytes_sent", slot.bytes_sent.load(relaxed)},
          {"payloads_rejected", slot.payloads_rejected.load(relaxed)},
          {"traces_dropped", dropped_total},
          {"traces_dropped_by_reason", dropped},
          {"failures_by_kind", failures},
          {"rum", rum}};
}

}  // namespace

StatusSlot* StatusBoard::claim(std::int64_t pid, bool (*alive)(std::int64_t)) noexcept {
  for (auto& slot : workers) {
    std::int64_t owner = slot.pid.load();
    // A slot that names our own pid belonged to a dead worker whose pid was
    // reused. Whoever wins the exchange to -1 moves the counters, once.
    if (owner > 0 && (owner == pid || (alive != nullptr && !alive(owner))) &&
        slot.pid.compare_exchange_strong(owner, -1)) {
      release(slot);
    }
  }
  for (auto& slot : workers) {
    std::int64_t free = 0;
    if (slot.pid.compare_exchange_strong(free, pid)) {
      reset(slot);
      return &slot;
    }
  }
  return nullptr;
}

void StatusBoard::release(StatusSlot& slot) noexcept {
  add_counters(exited, slot);
  reset(slot);
  slot.pid.store(0);
}

std::string StatusBoard::to_json() const {
  StatusSlot total;
  add_counters(total, exited);
  nlohmann::json workers_json = nlohmann::json::array();
  for (const auto& slot : workers) {
    const auto pid = slot.pid.load();
    if (pid <= 0) continue;
    add_counters(total, slot);
    nlohmann::json worker = counters_json(slot);
    worker["pid"] = pid;
    worker["agent_state"] = state_name(slot.state.load(relaxed));
    worker["agent_address"] = std::string(slot.address, strnlen(slot.address, sizeof(slot.address)));
    worker["last_error"] = std::string(slot.last_error, strnlen(slot.last_error, sizeof(slot.last_error)));
    workers_json.push_back(std::move(worker));
  }
  nlohmann::json status = counters_json(total);
  status["workers"] = std::move(workers_json);
  return status.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

void publish(StatusSlot& slot, const AgentCounters& counters, LinkState state,
             std::string_view address) noexcept {
  slot.payloads_sent.store(counters.payloads_sent, relaxed);
  slot.traces_sent.store(counters.traces_sent, relaxed);
  slot.bytes_sent.store(counters.bytes_sent, relaxed);
  slot.payloads_rejected.store(counters.payloads_rejected, relaxed);
  for (std::size_t i = 0; i < failure_kinds; ++i) slot.failures[i].store(counters.failures[i], relaxed);
  for (std::size_t i = 0; i < drop_reasons; ++i)
    slot.traces_dropped[i].store(counters.traces_dropped[i], relaxed);
  slot.state.store(static_cast<std::uint8_t>(state), relaxed);
  copy_text(slot.address, sizeof(slot.address), address);
  copy_text(slot.last_error, sizeof(slot.last_error), counters.last_error);
}

}  // namespace datadog::agent
