// Extraction of the Datadog headers: x-datadog-trace-id, -parent-id,
// -sampling-priority, -origin and -tags.
#include "trace/datadog_tags.hpp"
#include "trace/propagation_internal.hpp"

namespace datadog::trace::propagation_internal {
namespace {

bool is_printable_ascii(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Keeps the `_dd.p.*` members of a valid header; `_dd.p.tid` only when it is
// 16 hex digits (then it also supplies the high half of the trace id).
void extract_trace_tags(std::string_view header, std::size_t max_bytes, ExtractedContext& context) {
  std::uint64_t high = 0;
  const auto outcome =
      decode_datadog_tags(header, max_bytes, [&](std::string_view key, std::string_view value) {
        if (!starts_with(key, propagated_tag_prefix)) return;
        if (key != trace_id_high_tag) {
          set_tag(context.trace_tags, key, value);
          return;
        }
        if (value.size() != 16 || !is_hex(value)) {
          std::pmr::string error("malformed_tid ", context.span_tags.get_allocator());
          error += value;
          set_tag(context.span_tags, propagation_error_tag, error);
          note(context, "ignored malformed _dd.p.tid in x-datadog-tags", value);
          return;
        }
        high = *parse_hex64(value);
      });
  switch (outcome) {
    case DatadogTagsDecode::ok:
      break;
    case DatadogTagsDecode::too_large:
      set_tag(context.span_tags, propagation_error_tag, "extract_max_size");
      note(context,
           "ignored x-datadog-tags over DD_TRACE_TAGS_PROPAGATION_MAX_LENGTH (512 bytes by default)");
      return;
    case DatadogTagsDecode::malformed:
      set_tag(context.span_tags, propagation_error_tag, "decoding_error");
      note(context, "ignored malformed x-datadog-tags", header);
      return;
  }
  if (high != 0) {
    context.trace_id.high = high;
    const auto text = hex16(high);  // lowercase, whatever case it came in
    set_tag(context.trace_tags, trace_id_high_tag, {text.data(), text.size()});
  }
}

}  // namespace

ExtractedContext extract_datadog(const HeaderReader& headers, std::pmr::memory_resource* memory,
                                 std::size_t max_tags_bytes) {
  ExtractedContext context(memory);
  context.style = PropagationStyle::datadog;
  const auto trace_id_text = first_header(headers, "x-datadog-trace-id");
  if (!trace_id_text) return context;

  const auto low = parse_decimal64(trim_blanks(*trace_id_text));
  if (!low || *low == 0) {
    note(context, "ignored Datadog headers: x-datadog-trace-id is not a non-zero decimal 64-bit id",
         *trace_id_text);
    return context;
  }
  const auto parent_text = first_header(headers, "x-datadog-parent-id");
  std::optional<std::uint64_t> parent;
  if (parent_text) {
    parent = parse_decimal64(trim_blanks(*parent_text));
    if (!parent) {
      note(context, "ignored Datadog headers: x-datadog-parent-id is not a decimal 64-bit id", *parent_text);
      return context;
    }
  }
  std::optional<int> priority;
  if (const auto priority_text = first_header(headers, "x-datadog-sampling-priority")) {
    priority = parse_int(trim_blanks(*priority_text));
    if (!priority) {
      note(context, "ignored Datadog headers: x-datadog-sampling-priority is not an integer", *priority_text);
      return context;
    }
  }
  if (const auto origin = first_header(headers, "x-datadog-origin")) {
    const auto trimmed = trim_blanks(*origin);
    if (is_printable_ascii(trimmed)) {
      context.origin = trimmed;
    } else {
      note(context, "ignored x-datadog-origin with characters outside printable ASCII");
    }
  }
  // A trace id alone is a root started elsewhere only when an origin (e.g.
  // synthetics) says so; otherwise it is half a context.
  if (!parent && context.origin.empty()) {
    note(context, "ignored Datadog headers: x-datadog-trace-id without x-datadog-parent-id");
    context.origin.clear();
    return context;
  }

  context.trace_id.low = *low;
  context.parent_id = parent.value_or(0);
  context.sampling_priority = priority;
  if (const auto tags = first_header(headers, "x-datadog-tags"))
    extract_trace_tags(*tags, max_tags_bytes, context);
  return context;
}

}  // namespace datadog::trace::propagation_internal
