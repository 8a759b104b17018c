// A worker's buffer of encoded traces, cut into payloads for the agent: at most
// one payload in flight (kept for retry until released) while newer traces
// accumulate behind it, all under one byte cap.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace datadog::agent {

struct TraceBatchLimits {
  // The agent refuses bodies over 25 MiB (413); staying far below keeps each
  // request short and a rejected one cheap.
  std::size_t max_payload = 4 * 1024 * 1024;
  // Everything held: the payload in flight and all traces waiting
  // (datadog_buffer_size).
  std::size_t max_buffered = 16 * 1024 * 1024;
};

enum class AppendResult {
  accepted,
  buffer_full,  // the cap would be exceeded: the trace is dropped
  too_large,    // the trace alone does not fit in a payload: dropped
  empty,        // nothing was written between begin_trace and commit_trace
};

struct Payload {
  std::string_view bytes;  // a msgpack array of traces, ready to be the request body
  std::size_t traces = 0;
};

class TraceBatch {
 public:
  explicit TraceBatch(TraceBatchLimits limits = {});

  // Two-step append, so the encoder writes one complete msgpack trace (an
  // array of span maps) straight into the buffer with no intermediate copy:
  // append bytes to the returned string (never modify what is already in it),
  // then commit_trace() or abandon_trace(). Nothing else may be called in
  // between.
  std::string& begin_trace();
  AppendResult commit_trace();
  void abandon_trace();

  // The same for a trace already encoded elsewhere (tests, fuzzers).
  AppendResult append_trace(std::string_view encoded);

  // False when not even one more byte fits: the caller can skip encoding and
  // count the trace as dropped (buffer_full).
  bool has_room() const noexcept { return buffered_bytes_ < limits_.max_buffered; }
  // A payload of (nearly) max_payload bytes is waiting: worth flushing before
  // the timer fires.
  bool full_payload_ready() const noexcept { return pending_.size() > 1; }

  // The payload to send now: the one in flight if there is one (a retry), else
  // the oldest waiting traces, up to max_payload bytes, which become the
  // payload in flight. nullopt when there is nothing to send. The view stays
  // valid until release_payload().
  std::optional<Payload> next_payload();
  bool payload_in_flight() const noexcept { return in_flight_active_; }
  // The payload in flight was delivered, or given up: its memory is reused.
  void release_payload();
  // Forgets every trace held, the payload in flight included (the worker
  // exits without delivering them).
  void clear();

  // All traces held, the payload in flight included.
  std::size_t buffered_bytes() const noexcept { return buffered_bytes_; }
  std::size_t buffered_traces() const noexcept { return buffered_traces_; }
  const TraceBatchLimits& limits() const noexcept { return limits_; }

 private:
  // Traces follow a slot reserved for the msgpack array header, which is
  // written when the chunk becomes a payload: sending needs no copy.
  struct Chunk {
    std::string bytes;
    std::size_t traces = 0;
  };

  std::string fresh_buffer();
  void recycle(std::string buffer);

  TraceBatchLimits limits_;
  std::vector<Chunk> pending_;  // oldest first; back() takes new traces; never empty
  Chunk in_flight_;
  std::size_t in_flight_offset_ = 0;  // where the header starts in in_flight_.bytes
  bool in_flight_active_ = false;
  std::vector<std::string> spare_;  // cleared buffers that keep their capacity
  std::size_t trace_start_ = std::string::npos;
  std::size_t buffered_bytes_ = 0;
  std::size_t buffered_traces_ = 0;
};

// The msgpack array header for `count` elements (fixarray, array16 or
// array32), written into `out`; returns its length (1, 3 or 5).
std::size_t write_array_header(std::size_t count, char* out) noexcept;

}  // namespace datadog::agent
