// Extraction of B3 (openzipkin/b3-propagation): the single `b3` header and the
// X-B3-* headers. Ids are accepted in either case of hex.
#include "trace/propagation_internal.hpp"

namespace datadog::trace::propagation_internal {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char c = a[i] >= 'A' && a[i] <= 'Z' ? char(a[i] - 'A' + 'a') : a[i];
    if (c != b[i]) return false;
  }
  return true;
}

// 16 or 32 hex digits, not all zero.
std::optional<TraceId> parse_b3_trace_id(std::string_view text) {
  if ((text.size() != 16 && text.size() != 32) || !is_hex(text)) return std::nullopt;
  const auto id = parse_hex128(text);
  if (!id || id->is_zero()) return std::nullopt;
  return id;
}

// 16 hex digits, not all zero.
std::optional<SpanId> parse_b3_span_id(std::string_view text) {
  if (text.size() != 16 || !is_hex(text)) return std::nullopt;
  const auto id = parse_hex64(text);
  if (!id || *id == 0) return std::nullopt;
  return id;
}

// The single header's sampling state: 1 accept, 0 deny, d debug (a user keep).
std::optional<int> parse_sampling_state(std::string_view text) {
  if (text == "1") return 1;
  if (text == "0") return 0;
  if (text == "d") return 2;
  return std::nullopt;
}

// b3: {TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]] or b3: {SamplingState}.
bool parse_single(std::string_view text, ExtractedContext& context) {
  std::array<std::string_view, 4> fields;
  std::size_t count = 0;
  while (true) {
    if (count == fields.size()) return false;
    const auto dash = text.find('-');
    fields[count++] = text.substr(0, dash);
    if (dash == std::string_view::npos) break;
    text.remove_prefix(dash + 1);
  }
  if (count == 1) {
    const auto priority = parse_sampling_state(fields[0]);
    if (!priority) return false;
    context.sampling_priority = priority;
    return true;
  }
  const auto trace_id = parse_b3_trace_id(fields[0]);
  const auto span_id = parse_b3_span_id(fields[1]);
  if (!trace_id || !span_id) return false;
  std::optional<int> priority;
  if (count >= 3) {
    priority = parse_sampling_state(fields[2]);
    if (!priority) return false;
  }
  if (count == 4 && !parse_b3_span_id(fields[3])) return false;
  context.trace_id = *trace_id;
  context.parent_id = *span_id;
  context.sampling_priority = priority;
  return true;
}

// X-B3-Flags: 1 (debug) implies accept and wins over X-B3-Sampled, which may
// be 1/0 or, from older tracers, true/false.
std::optional<int> multi_priority(const HeaderReader& headers, ExtractedContext& context) {
  if (const auto flags = first_header(headers, "x-b3-flags"); flags && trim_blanks(*flags) == "1") return 2;
  const auto sampled = first_header(headers, "x-b3-sampled");
  if (!sampled) return std::nullopt;
  const auto text = trim_blanks(*sampled);
  if (text == "1" || iequals(text, "true")) return 1;
  if (text == "0" || iequals(text, "false")) return 0;
  note(context, "ignored invalid X-B3-Sampled", *sampled);
  return std::nullopt;
}

void parse_multi(const HeaderReader& headers, ExtractedContext& context) {
  const auto trace_id_text = first_header(headers, "x-b3-traceid");
  if (!trace_id_text) {
    // A sampling decision without ids (X-B3-Sampled: 0) is still a decision.
    context.sampling_priority = multi_priority(headers, context);
    return;
  }
  const auto trace_id = parse_b3_trace_id(trim_blanks(*trace_id_text));
  if (!trace_id) {
    note(context, "ignored B3 headers: X-B3-TraceId is not 16 or 32 hex digits", *trace_id_text);
    return;
  }
  const auto span_id_text = first_header(headers, "x-b3-spanid");
  const auto span_id = span_id_text ? parse_b3_span_id(trim_blanks(*span_id_text)) : std::nullopt;
  if (!span_id) {
    note(context, "ignored B3 headers: X-B3-SpanId is missing or not 16 hex digits",
         span_id_text.value_or(std::string_view()));
    return;
  }
  context.trace_id = *trace_id;
  context.parent_id = *span_id;
  context.sampling_priority = multi_priority(headers, context);
}

}  // namespace

ExtractedContext extract_b3(const HeaderReader& headers, PropagationStyle style,
                            std::pmr::memory_resource* memory) {
  ExtractedContext context(memory);
  context.style = style;
  if (style != PropagationStyle::b3multi) {
    if (const auto single = first_header(headers, "b3")) {
      if (parse_single(trim_blanks(*single), context)) {
        if (context.trace_id.high != 0) {
          const auto high = hex16(context.trace_id.high);
          set_tag(context.trace_tags, trace_id_high_tag, {high.data(), high.size()});
        }
        return context;
      }
      note(context, "ignored invalid b3 header", *single);
    }
    if (style == PropagationStyle::b3single) return context;
  }
  parse_multi(headers, context);
  if (context.trace_id.high != 0) {
    const auto high = hex16(context.trace_id.high);
    set_tag(context.trace_tags, trace_id_high_tag, {high.data(), high.size()});
  }
  return context;
}

}  // namespace datadog::trace::propagation_internal
