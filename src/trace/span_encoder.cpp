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

// Non-ASCII text: client bytes may be invalid UTF-8 (see utf8.hpp).
[[gnu::noinline]] char* write_non_ascii_str(char* at, std::string_view text) {
  const std::size_t n = repaired_utf8_size(text);
  if (n == text.size()) return write_long_str(at, text);  // valid as it is
  return write_repaired_utf8(write_str_header(at, n), text);
}

class Cursor {
 public:
  explicit Cursor(char* at) : at_(at) {}
  char* position() const { return at_; }

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
    if (!is_ascii(text)) [[unlikely]] {
      at_ = write_non_ascii_str(at_, text);
    } else if (text.size() < 32) {  // fixstr: nearly every string of a span
      byte(0xa0 | static_cast<unsigned>(text.size()));
      at_ = copy_short(at_, text);
    } else {
      at_ = write_long_str(at_, text);
    }
  }

 private:
  char* at_;
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

// Room for a string: repairing invalid UTF-8 turns a byte into three.
std::size_t str_size(std::string_view text) { return is_ascii(text) ? text.size() : 3 * text.size(); }

std::size_t size_bound(const SpanRecord& span, std::string_view resource) {
  std::size_t size = 1 + k_service.size + k_name.size + k_resource.size + k_type.size + k_trace_id.size +
                     k_span_id.size + k_parent_id.size + k_start.size + k_duration.size + k_error.size +
                     k_meta.size + k_metrics.size;
  size += 3 * 9 + 2 * 9 + 1 + 2 * 5;  // ids, times, error, two map headers
  size += str_size(span.service) + str_size(span.name) + str_size(resource) + str_size(span.type) +
          4 * str_overhead;
  for (const Meta& entry : span.meta) size += str_size(entry.key) + str_size(entry.value) + 2 * str_overhead;
  for (const Metric& entry : span.metrics) size += str_size(entry.key) + str_overhead + 9;
  return size;
}

}  // namespace

void encode_span(std::string& out, const SpanRecord& span) {
  const std::string_view resource = span.resource.empty() ? span.name : span.resource;
  const std::size_t start = out.size();
  out.resize(start + size_bound(span, resource));
  Cursor c(out.data() + start);

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
  c.map_header(span.meta.size());
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
  out.resize(static_cast<std::size_t>(c.position() - out.data()));
}

void encode_trace(std::string& out, std::span<const SpanRecord> spans) {
  msgpack::write_array_header(out, static_cast<std::uint32_t>(spans.size()));
  for (const SpanRecord& span : spans) {
    encode_span(out, span);
  }
}

}  // namespace datadog::trace
