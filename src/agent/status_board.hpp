// Counters every worker publishes for `datadog_status`, laid out for a block
// of shared memory: one slot per live worker (a single writer each, so plain
// relaxed atomics suffice), plus the totals of workers that have exited, so
// numbers survive reloads. Readers sum the slots; nothing here locks.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/agent_link.hpp"
#include "rum/eligibility.hpp"

namespace datadog::agent {

struct StatusSlot {
  std::atomic<std::int64_t> pid{0};  // 0: free; -1: being released
  std::atomic<std::uint64_t> spans_created{0};
  std::atomic<std::uint64_t> payloads_sent{0};
  std::atomic<std::uint64_t> traces_sent{0};
  std::atomic<std::uint64_t> bytes_sent{0};
  std::atomic<std::uint64_t> payloads_rejected{0};
  std::atomic<std::uint64_t> failures[failure_kinds]{};
  std::atomic<std::uint64_t> traces_dropped[drop_reasons]{};
  // RUM injection outcomes of HTML responses where datadog_rum is on.
  std::atomic<std::uint64_t> rum_injected{0};
  std::atomic<std::uint64_t> rum_no_injection_point{0};             // eligible, but no </head> or <body
  std::atomic<std::uint64_t> rum_decoded{0};                        // gzip/deflate bodies decoded to inject
  std::atomic<std::uint64_t> rum_failed{0};                         // broken compressed body, out of memory
  std::atomic<std::uint64_t> rum_skipped[rum::kSkipReasonCount]{};  // [eligible] unused
  std::atomic<std::uint8_t> state{0};                               // LinkState
  // Written by the slot's worker only; a reader may see a torn string, which
  // is acceptable for a diagnostic text.
  char address[64]{};
  char last_error[192]{};
};

struct StatusBoard {
  static constexpr std::size_t max_workers = 64;
  StatusSlot exited;  // totals of workers that are gone
  StatusSlot workers[max_workers];

  // A free slot for this worker (nullptr when all are taken: it then simply
  // does not appear in the status). Slots of workers that died without
  // releasing theirs (SIGKILL, a crash: the master respawns them) are
  // released first, when `alive` says their pid is gone.
  StatusSlot* claim(std::int64_t pid, bool (*alive)(std::int64_t pid) = nullptr) noexcept;
  // Adds the slot's counters to `exited` and frees it.
  void release(StatusSlot& slot) noexcept;
  // The status as JSON: totals, and one object per live worker.
  std::string to_json() const;
};

// Copies a worker's link counters and state into its slot.
void publish(StatusSlot& slot, const AgentCounters& counters, LinkState state,
             std::string_view address) noexcept;

}  // namespace datadog::agent
