// Extraction of W3C trace context: traceparent, then the tracestate that goes
// with it (our dd= member and the other vendors' members).
#include "trace/datadog_tags.hpp"
#include "trace/propagation_internal.hpp"
#include "trace/tracestate.hpp"

namespace datadog::trace::propagation_internal {
namespace {

// Enough to join any real request's tracestate headers; a request with more
// is treated as one whose tracestate is unusable.
constexpr std::size_t max_tracestate_headers = 64;

struct Traceparent {
  TraceId trace_id;
  SpanId parent_id = 0;
  bool sampled = false;
};

// The value of `_dd.w3c_extraction_error` when the header is invalid, or empty.
std::string_view parse_traceparent(std::string_view text, Traceparent& out) {
  // version "-" trace-id "-" parent-id "-" trace-flags: 2+1+32+1+16+1+2 = 55.
  constexpr std::size_t v00_size = 55;
  text = trim_blanks(text);
  if (text.size() < v00_size || text[2] != '-' || text[35] != '-' || text[52] != '-') {
    return "malformed_traceparent";
  }
  const auto version = text.substr(0, 2);
  const auto trace_id = text.substr(3, 32);
  const auto parent_id = text.substr(36, 16);
  const auto flags = text.substr(53, 2);
  if (!is_lower_hex(version) || !is_lower_hex(trace_id) || !is_lower_hex(parent_id) || !is_lower_hex(flags)) {
    return "malformed_traceparent";
  }
  if (version == "ff") return "invalid_version";
  // Version 00 is exactly 55 characters; a later version may append fields,
  // but only after a '-'.
  if (version == "00" ? text.size() != v00_size : text.size() > v00_size && text[v00_size] != '-') {
    return "malformed_traceparent";
  }
  out.trace_id = *parse_hex128(trace_id);
  if (out.trace_id.is_zero()) return "trace_id_zero";
  out.parent_id = *parse_hex64(parent_id);
  if (out.parent_id == 0) return "parent_id_zero";
  out.sampled = (*parse_hex64(flags) & 1) != 0;
  return {};
}

std::string_view describe(TracestateParse outcome) {
  switch (outcome) {
    case TracestateParse::ok:
      break;
    case TracestateParse::invalid_member:
      return "ignored tracestate: a list-member is not key=value in the W3C grammar";
    case TracestateParse::duplicate_key:
      return "ignored tracestate: a key appears twice";
    case TracestateParse::too_many_members:
      return "ignored tracestate: more than 32 list-members";
  }
  return {};
}

void replace_all(std::pmr::string& text, char from, char to) {
  for (char& c : text) {
    if (c == from) c = to;
  }
}

// The dd= value: s:<priority>;o:<origin>;p:<last Datadog parent>;t.<tag>:<value>.
// Unknown or unusable fields are skipped.
void parse_datadog_member(std::string_view value, TracecontextExtraction& out,
                          std::optional<int>& tracestate_priority) {
  ExtractedContext& context = out.context;
  while (!value.empty()) {
    const auto semicolon = value.find(';');
    const auto field = value.substr(0, semicolon);
    value = semicolon == std::string_view::npos ? std::string_view() : value.substr(semicolon + 1);
    const auto colon = field.find(':');
    if (colon == std::string_view::npos) continue;
    const auto key = field.substr(0, colon);
    const auto text = field.substr(colon + 1);
    if (text.empty()) continue;
    if (key == "s") {
      if (const auto priority = parse_int(text)) tracestate_priority = priority;
    } else if (key == "o") {
      // Trimmed as x-datadog-origin is: it is forwarded as a header value,
      // which cannot start or end with a blank.
      const auto origin = trim_blanks(text);
      if (origin.empty()) continue;
      context.origin = origin;
      replace_all(context.origin, '~', '=');
    } else if (key == "p") {
      out.last_datadog_parent = text;
    } else if (key.size() > 2 && starts_with(key, "t.")) {
      const auto name = key.substr(2);
      if (name == "tid") continue;  // the high half comes from traceparent
      std::pmr::string tag_key(propagated_tag_prefix, context.trace_tags.get_allocator());
      tag_key += name;
      // Trimmed as x-datadog-tags values are, for the same reason.
      std::pmr::string tag_value(trim_blanks(text), context.trace_tags.get_allocator());
      replace_all(tag_value, '~', '=');
      if (is_datadog_tag_key(tag_key) && is_datadog_tag_value(tag_value)) {
        set_tag(context.trace_tags, tag_key, tag_value);
      }
    }
  }
}

void extract_tracestate(const HeaderReader& headers, TracecontextExtraction& out,
                        std::optional<int>& tracestate_priority) {
  std::array<std::string_view, max_tracestate_headers> values;
  const std::size_t count = headers.get("tracestate", values.data(), values.size());
  if (count == 0) return;
  if (count > values.size()) {
    note(out.context, "ignored tracestate: too many tracestate headers");
    return;
  }
  TracestateList list;
  const auto outcome = parse_tracestate({values.data(), count}, list);
  if (outcome != TracestateParse::ok) {
    note(out.context, describe(outcome));
    return;
  }
  for (const auto& member : list.view()) {
    if (member.key == "dd") {
      out.has_datadog_member = true;
      parse_datadog_member(member.value, out, tracestate_priority);
      continue;
    }
    auto& others = out.context.tracestate_others;
    if (!others.empty()) others += ',';
    others += member.key;
    others += '=';
    others += member.value;
  }
}

}  // namespace

TracecontextExtraction extract_tracecontext(const HeaderReader& headers, std::pmr::memory_resource* memory) {
  TracecontextExtraction out{ExtractedContext(memory), false, {}};
  ExtractedContext& context = out.context;
  context.style = PropagationStyle::tracecontext;

  std::array<std::string_view, 2> values;
  const std::size_t count = headers.get("traceparent", values.data(), values.size());
  if (count == 0) return out;
  Traceparent traceparent;
  std::string_view error;
  if (count > 1) {
    error = "malformed_traceparent";
    note(context, "ignored W3C headers: more than one traceparent header");
  } else {
    error = parse_traceparent(values[0], traceparent);
    if (!error.empty()) note(context, "ignored W3C headers: invalid traceparent", values[0]);
  }
  if (!error.empty()) {
    set_tag(context.span_tags, w3c_extraction_error_tag, error);
    return out;
  }

  context.trace_id = traceparent.trace_id;
  context.parent_id = traceparent.parent_id;
  std::optional<int> tracestate_priority;
  extract_tracestate(headers, out, tracestate_priority);

  // The sampled flag is authoritative; tracestate's s: refines it only when
  // both agree on keep versus drop. When they disagree the flag wins, and the
  // decision maker no longer describes the decision: it becomes "default" on
  // keep and goes away on drop.
  const int flag_priority = traceparent.sampled ? 1 : 0;
  if (!tracestate_priority || (*tracestate_priority > 0) == traceparent.sampled) {
    context.sampling_priority = tracestate_priority.value_or(flag_priority);
  } else {
    context.sampling_priority = flag_priority;
    if (traceparent.sampled) {
      set_tag(context.trace_tags, decision_maker_tag, "-0");
    } else {
      remove_tag(context.trace_tags, decision_maker_tag);
    }
  }
  if (context.trace_id.high != 0) {
    const auto high = hex16(context.trace_id.high);
    set_tag(context.trace_tags, trace_id_high_tag, {high.data(), high.size()});
  }
  return out;
}

}  // namespace datadog::trace::propagation_internal
