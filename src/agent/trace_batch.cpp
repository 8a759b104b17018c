// Chunks are filled in place and handed out as payloads by swapping buffers,
// so in steady state (one chunk filling, one in flight, one spare) no trace
// causes an allocation once the buffers have grown to their working size.
#include "agent/trace_batch.hpp"

#include <algorithm>

namespace datadog::agent {
namespace {

constexpr std::size_t header_slot = 5;  // the largest msgpack array header

std::size_t array_header_size(std::size_t count) noexcept {
  return count <= 15 ? 1 : count <= 0xffff ? 3 : 5;
}

}  // namespace

std::size_t write_array_header(std::size_t count, char* out) noexcept {
  if (count <= 15) {
    out[0] = static_cast<char>(0x90 | count);
    return 1;
  }
  if (count <= 0xffff) {
    out[0] = static_cast<char>(0xdc);
    out[1] = static_cast<char>(count >> 8);
    out[2] = static_cast<char>(count);
    return 3;
  }
  out[0] = static_cast<char>(0xdd);
  out[1] = static_cast<char>(count >> 24);
  out[2] = static_cast<char>(count >> 16);
  out[3] = static_cast<char>(count >> 8);
  out[4] = static_cast<char>(count);
  return 5;
}

// Room past max_payload for the trace that starts the next payload, which is
// written to the end of the current buffer before it is moved.
constexpr std::size_t overflow_room = 64 * 1024;

TraceBatch::TraceBatch(TraceBatchLimits limits) : limits_(limits) {
  // A payload must at least hold a header and a one-byte trace.
  limits_.max_payload = std::max<std::size_t>(limits_.max_payload, header_slot + 1);
  pending_.reserve(8);
  pending_.push_back(Chunk{fresh_buffer(), 0});
}

std::string TraceBatch::fresh_buffer() {
  std::string buffer;
  if (!spare_.empty()) {
    buffer = std::move(spare_.back());
    spare_.pop_back();
  }
  // Capacity for a whole payload (and the trace that overflows it) up front
  // instead of regrowing by doubling while traces arrive: reserved pages cost
  // no resident memory until written, but each regrowth copies the buffer and
  // frees the old one, whose written pages malloc keeps (measured with
  // scripts/bench/agent-down-rss: 16 MiB buffered made RSS grow by 24 MB).
  const std::size_t initial = limits_.max_payload + overflow_room;
  if (buffer.capacity() < initial) buffer.reserve(initial);
  buffer.assign(header_slot, '\0');
  return buffer;
}

void TraceBatch::recycle(std::string buffer) {
  // One spare is all the steady state needs; buffers beyond that (left over
  // from an outage) are freed.
  if (spare_.empty()) {
    buffer.clear();
    spare_.push_back(std::move(buffer));
  }
}

std::string& TraceBatch::begin_trace() {
  abandon_trace();
  auto& open = pending_.back().bytes;
  trace_start_ = open.size();
  return open;
}

void TraceBatch::abandon_trace() {
  if (trace_start_ != std::string::npos) {
    pending_.back().bytes.resize(trace_start_);
    trace_start_ = std::string::npos;
  }
}

AppendResult TraceBatch::commit_trace() {
  if (trace_start_ == std::string::npos) {
    return AppendResult::empty;
  }
  const std::size_t start = trace_start_;
  trace_start_ = std::string::npos;
  auto& open = pending_.back();
  const std::size_t length = open.bytes.size() - start;
  if (length == 0) {
    return AppendResult::empty;
  }
  if (array_header_size(1) + length > limits_.max_payload) {
    open.bytes.resize(start);
    return AppendResult::too_large;
  }
  if (buffered_bytes_ + length > limits_.max_buffered) {
    open.bytes.resize(start);
    return AppendResult::buffer_full;
  }
  const std::size_t bytes_before = start - header_slot;
  if (open.traces > 0 && array_header_size(open.traces + 1) + bytes_before + length > limits_.max_payload) {
    // This trace starts the next payload: the one copy per max_payload bytes.
    Chunk next{fresh_buffer(), 0};
    next.bytes.append(open.bytes, start, length);
    open.bytes.resize(start);
    pending_.push_back(std::move(next));
  }
  ++pending_.back().traces;
  buffered_bytes_ += length;
  ++buffered_traces_;
  return AppendResult::accepted;
}

AppendResult TraceBatch::append_trace(std::string_view encoded) {
  begin_trace().append(encoded);
  return commit_trace();
}

std::optional<Payload> TraceBatch::next_payload() {
  if (!in_flight_active_) {
    // A trace being written belongs to the last chunk: never hand that out.
    if (pending_.front().traces == 0 || (pending_.size() == 1 && trace_start_ != std::string::npos)) {
      return std::nullopt;
    }
    in_flight_ = std::move(pending_.front());
    pending_.erase(pending_.begin());
    if (pending_.empty()) {
      pending_.push_back(Chunk{fresh_buffer(), 0});
    }
    char header[header_slot];
    const std::size_t length = write_array_header(in_flight_.traces, header);
    in_flight_offset_ = header_slot - length;
    std::copy(header, header + length,
              in_flight_.bytes.begin() + static_cast<std::ptrdiff_t>(in_flight_offset_));
    in_flight_active_ = true;
  }
  return Payload{std::string_view(in_flight_.bytes).substr(in_flight_offset_), in_flight_.traces};
}

void TraceBatch::release_payload() {
  if (!in_flight_active_) {
    return;
  }
  buffered_bytes_ -= in_flight_.bytes.size() - header_slot;
  buffered_traces_ -= in_flight_.traces;
  recycle(std::move(in_flight_.bytes));
  in_flight_ = Chunk{};
  in_flight_active_ = false;
}

void TraceBatch::clear() {
  abandon_trace();
  release_payload();
  for (Chunk& chunk : pending_) recycle(std::move(chunk.bytes));
  pending_.clear();
  pending_.push_back(Chunk{fresh_buffer(), 0});
  buffered_bytes_ = 0;
  buffered_traces_ = 0;
}

}  // namespace datadog::agent
