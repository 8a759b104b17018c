// Field order and types follow PROTOCOLS.md section 1; a type the agent does
// not expect (a signed id, a float32 metric) makes it reject the payload.
#include "trace/span_encoder.hpp"

#include "trace/msgpack_writer.hpp"

namespace datadog::trace {

void encode_span(std::string& out, const SpanRecord& span) {
  using namespace msgpack;
  write_map_header(out, 12);
  write_str(out, "service");
  write_str(out, span.service);
  write_str(out, "name");
  write_str(out, span.name);
  write_str(out, "resource");
  write_str(out, span.resource.empty() ? span.name : span.resource);
  write_str(out, "type");
  write_str(out, span.type);
  write_str(out, "trace_id");
  write_uint64(out, span.trace_id.low);
  write_str(out, "span_id");
  write_uint64(out, span.span_id);
  write_str(out, "parent_id");
  write_uint64(out, span.parent_id);
  write_str(out, "start");
  write_int64(out, span.start_ns);
  write_str(out, "duration");
  write_int64(out, span.duration_ns < 0 ? 0 : span.duration_ns);
  write_str(out, "error");
  write_small_uint(out, span.error ? 1 : 0);
  write_str(out, "meta");
  write_map_header(out, static_cast<std::uint32_t>(span.meta.size()));
  for (const Meta& entry : span.meta) {
    write_str(out, entry.key);
    write_str(out, entry.value);
  }
  write_str(out, "metrics");
  write_map_header(out, static_cast<std::uint32_t>(span.metrics.size()));
  for (const Metric& entry : span.metrics) {
    write_str(out, entry.key);
    write_float64(out, entry.value);
  }
}

void encode_trace(std::string& out, std::span<const SpanRecord> spans) {
  msgpack::write_array_header(out, static_cast<std::uint32_t>(spans.size()));
  for (const SpanRecord& span : spans) {
    encode_span(out, span);
  }
}

}  // namespace datadog::trace
