// Field order and types follow PROTOCOLS.md section 1; a type the agent does
// not expect (a signed id, a float32 metric) makes it reject the payload.
// The span's size is bounded first, so the buffer grows at most once and every
// field is written through a plain pointer: this runs once per request.
#include "trace/span_encoder.hpp"

#include <bit>
#include <cstring>

#include "trace/msgpack_writer.hpp"
#include "trace/short_copy.hpp"
#include "trace/utf8.hpp"

namespace datadog::trace {
namespace {

// A field name as msgpack bytes (fixstr header + text), ready to copy.
template <std::size_t N>
struct Key {
  char bytes[N];
  constexpr Key(const char (&text)[N]) : bytes{} {
    bytes[0] = static_cast<char>(0xa0 | (N - 1));
    for (std::size_t i = 0; i + 1 < N; ++i) bytes[i + 1] = text[i];
  }
  static constexpr std::size_t size = N;  // header byte + N - 1 characters
};

char* write_str_header(char* at, std::size_t n) {
  if (n < 32) {
    *at++ = static_cast<char>(0xa0 | n);
  } else if (n <= 0xff) {
    *at++ = static_cast<char>(0xd9);
    *at++ = static_cast<char>(n);
  } else if (n <= 0xffff) {
    *at++ = static_cast<char>(0xda);
    *at++ = static_cast<char>((n >> 8) & 0xff);
    *at++ = static_cast<char>(n & 0xff);
  } else {
    *at++ = static_cast<char>(0xdb);
    for (int shift = 24; shift >= 0; shift -= 8) *at++ = static_cast<char>((n >> shift) & 0xff);
  }
  return at;
}

// A string too long for a fixstr: rare (URLs), so kept out of line and out
// of the cursor, whose position can then stay in a register.
[[gnu::noinline]] char* write_long_str(char* at, std::string_view text) {
  at = write_str_header(at, text.size());
  std::memcpy(at, text.data(), text.size());
  return at + text.size();
}

// Client bytes may be invalid UTF-8 (see utf8.hpp): valid text is written as
// it is, invalid bytes become U+FFFD, three bytes each.
[[gnu::noinline]] char* write_non_ascii_str(char* at, std::string_view text) {
  const std::size_t n = repaired_utf8_size(text);
  if (n == text.size()) return write_long_str(at, text);  // valid as it is
  return write_repaired_utf8(write_str_header(at, n), text);
}

// Writes one span through a plain pointer into room reserved beforehand. The
// first pass reserves the bytes as they are (nothing to scan for); a string
// whose repair would need more room marks the pass failed, and encode_span
// writes the span again with room for every repair (rare: a client's bytes).
class Cursor {
 public:
  Cursor(char* at, bool room_for_repairs) : at_(at), room_for_repairs_(room_for_repairs) {}
  char* position() const { return at_; }
  bool needs_repair_room() const { return needs_repair_room_; }

  template <std::size_t N>
  void key(const Key<N>& k) {
    std::memcpy(at_, k.bytes, N);
    at_ += N;
  }
  void byte(unsigned value) { *at_++ = static_cast<char>(value); }
  void be64(std::uint64_t value) {
    value = __builtin_bswap64(value);
    std::memcpy(at_, &value, 8);
    at_ += 8;
  }
  void raw(std::string_view bytes) {
    if (bytes.empty()) return;  // memcpy from a null pointer is undefined, even for 0 bytes
    std::memcpy(at_, bytes.data(), bytes.size());
    at_ += bytes.size();
  }
  void map_header(std::size_t count) {
    if (count < 16) {
      byte(0x80 | static_cast<unsigned>(count));
    } else {
      byte(0xde);
      byte(static_cast<unsigned>(count >> 8) & 0xff);
      byte(static_cast<unsigned>(count) & 0xff);
    }
  }
  void str(std::string_view text) {
    if (text.size() < 32) [[likely]] {  // fixstr: nearly every string of a span
      *at_ = static_cast<char>(0xa0 | text.size());
      if (copy_short_ascii(at_ + 1, text)) [[likely]] {
        at_ += 1 + text.size();
        return;
      }
    } else if (is_ascii(text)) {
      at_ = write_long_str(at_, text);
      return;
    }
    non_ascii(text);
  }

 private:
  [[gnu::noinline]] void non_ascii(std::string_view text) {
    if (room_for_repairs_) {
      at_ = write_non_ascii_str(at_, text);
    } else if (repaired_utf8_size(text) == text.size()) {
      at_ = write_long_str(at_, text);  // valid UTF-8 fits the room of its bytes
    } else {
      needs_repair_room_ = true;  // this pass is thrown away
      at_ = write_long_str(at_, text);
    }
  }

  char* at_;
  bool room_for_repairs_;
  bool needs_repair_room_ = false;
};

constexpr Key k_service("service");
constexpr Key k_name("name");
constexpr Key k_resource("resource");
constexpr Key k_type("type");
constexpr Key k_trace_id("trace_id");
constexpr Key k_span_id("span_id");
constexpr Key k_parent_id("parent_id");
constexpr Key k_start("start");
constexpr Key k_duration("duration");
constexpr Key k_error("error");
constexpr Key k_meta("meta");
constexpr Key k_metrics("metrics");

// Largest msgpack string header.
constexpr std::size_t str_overhead = 5;

// Room for a string written as it is, or repaired (a byte can become three).
template <bool RoomForRepairs>
std::size_t str_size(std::string_view text) {
  if constexpr (RoomForRepairs) return is_ascii(text) ? text.size() : 3 * text.size();
  return text.size();
}

template <bool RoomForRepairs>
std::size_t size_bound(const SpanRecord& span, std::string_view resource) {
  constexpr auto str_room = [](std::string_view text) {
    return str_size<RoomForRepairs>(text) + str_overhead;
  };
  std::size_t size = 1 + k_service.size + k_name.size + k_resource.size + k_type.size + k_trace_id.size +
                     k_span_id.size + k_parent_id.size + k_start.size + k_duration.size + k_error.size +
                     k_meta.size + k_metrics.size;
  size += 3 * 9 + 2 * 9 + 1 + 2 * 5;  // ids, times, error, two map headers
  size += str_room(span.service) + str_room(span.name) + str_room(resource) + str_room(span.type);
  size += span.fixed_meta.size();
  for (const Meta& entry : span.meta) size += str_room(entry.key) + str_room(entry.value);
  for (const Metric& entry : span.metrics) size += str_room(entry.key) + 9;
  return size;
}

void write_span(Cursor& c, const SpanRecord& span, std::string_view resource) {
  c.byte(0x8c);  // a map of the 12 fields
  c.key(k_service);
  c.str(span.service);
  c.key(k_name);
  c.str(span.name);
  c.key(k_resource);
  c.str(resource);
  c.key(k_type);
  c.str(span.type);
  c.key(k_trace_id);
  c.byte(0xcf);  // uint64: ids are unsigned on the wire
  c.be64(span.trace_id.low);
  c.key(k_span_id);
  c.byte(0xcf);
  c.be64(span.span_id);
  c.key(k_parent_id);
  c.byte(0xcf);
  c.be64(span.parent_id);
  c.key(k_start);
  c.byte(0xd3);  // int64
  c.be64(static_cast<std::uint64_t>(span.start_ns));
  c.key(k_duration);
  c.byte(0xd3);
  c.be64(static_cast<std::uint64_t>(span.duration_ns < 0 ? 0 : span.duration_ns));
  c.key(k_error);
  c.byte(span.error ? 1 : 0);  // positive fixint
  c.key(k_meta);
  c.map_header(span.fixed_meta_count + span.meta.size());
  c.raw(span.fixed_meta);
  for (const Meta& entry : span.meta) {
    c.str(entry.key);
    c.str(entry.value);
  }
  c.key(k_metrics);
  c.map_header(span.metrics.size());
  for (const Metric& entry : span.metrics) {
    c.str(entry.key);
    c.byte(0xcb);  // float64: the agent rejects float32
    c.be64(std::bit_cast<std::uint64_t>(entry.value));
  }
}

// One pass with the room the bytes need as they are, or two when a string
// needs repairs. Returns the end of the span, or 0 when the pass needs the
// room for repairs.
template <bool RoomForRepairs>
std::size_t write_span_at(std::string& out, std::size_t start, const SpanRecord& span,
                          std::string_view resource) {
  out.resize(start + size_bound<RoomForRepairs>(span, resource));
  Cursor c(out.data() + start, RoomForRepairs);
  write_span(c, span, resource);
  if (c.needs_repair_room()) return 0;
  return static_cast<std::size_t>(c.position() - out.data());
}

}  // namespace

void encode_span(std::string& out, const SpanRecord& span) {
  const std::string_view resource = span.resource.empty() ? span.name : span.resource;
  const std::size_t start = out.size();
  std::size_t end = write_span_at<false>(out, start, span, resource);
  if (end == 0) [[unlikely]]
    end = write_span_at<true>(out, start, span, resource);
  out.resize(end);
}

void encode_trace(std::string& out, std::span<const SpanRecord> spans) {
  msgpack::write_array_header(out, static_cast<std::uint32_t>(spans.size()));
  for (const SpanRecord& span : spans) {
    encode_span(out, span);
  }
}

}  // namespace datadog::trace
