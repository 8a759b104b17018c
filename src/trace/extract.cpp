// Extraction across styles: each configured style reads its headers, the
// first one in order with a trace id supplies the context, and W3C trace
// context with the same trace id refines it (PROTOCOLS.md section 3).
#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

#include "trace/baggage.hpp"
#include "trace/propagation_internal.hpp"

namespace datadog::trace {

using namespace propagation_internal;

namespace {

// The baggage headers a request may have and still be read (values are joined).
constexpr std::size_t max_baggage_headers = 16;

constexpr std::size_t index_of(PropagationStyle style) { return static_cast<std::size_t>(style); }

// The headers without one of which a style has nothing to read (B3 may carry
// a sampling decision alone). The default styles' come first, so that they
// alone are asked for when only those styles are configured.
constexpr std::string_view trigger_names[] = {"x-datadog-trace-id", "traceparent", "baggage",     "b3",
                                              "x-b3-traceid",       "x-b3-flags",  "x-b3-sampled"};

// Which trigger_names belong to `style`, bit i for trigger_names[i].
constexpr std::uint64_t trigger_bits(PropagationStyle style) {
  switch (style) {
    case PropagationStyle::datadog:
      return 0b0000001;
    case PropagationStyle::tracecontext:
      return 0b0000010;
    case PropagationStyle::baggage:
      return 0b0000100;
    case PropagationStyle::b3:
      return 0b1111000;
    case PropagationStyle::b3multi:
      return 0b1110000;
    case PropagationStyle::b3single:
      return 0b0001000;
    case PropagationStyle::none:
      break;
  }
  return 0;
}

void extract_baggage(const HeaderReader& headers, const PropagationLimits& limits, ExtractedContext& result) {
  std::array<std::string_view, max_baggage_headers> values;
  const std::size_t count = headers.get("baggage", values.data(), values.size());
  if (count == 0) return;
  if (count > values.size()) {
    result.baggage_error = "malformed";
  } else {
    result.baggage_error = parse_baggage({values.data(), count}, result.baggage, limits);
  }
  if (!result.baggage_error.empty()) {
    note(result, "ignored baggage header:");
    result.diagnostics += ' ';
    result.diagnostics += result.baggage_error;
  }
}

// Error tags (`_dd.propagation_error`, `_dd.w3c_extraction_error`) describe
// the request's headers whichever style wins; so does the debug sentence.
void absorb_findings(ExtractedContext& result, ExtractedContext& style_context) {
  for (const auto& tag : style_context.span_tags) set_tag(result.span_tags, tag.key, tag.value);
  if (!style_context.diagnostics.empty()) note(result, style_context.diagnostics);
}

// What the winning style supplied becomes the result.
void take_context(ExtractedContext& result, ExtractedContext&& winner) {
  result.trace_id = winner.trace_id;
  result.parent_id = winner.parent_id;
  result.sampling_priority = winner.sampling_priority;
  result.origin = std::move(winner.origin);
  result.trace_tags = std::move(winner.trace_tags);
  result.tracestate_others = std::move(winner.tracestate_others);
  result.style = winner.style;
}

// The trace styles' part of extract(), for a request that has some of their
// headers (`present`, bits of trigger_names).
void extract_trace(const HeaderReader& headers, const PropagationStyles& styles, std::uint64_t present,
                   std::pmr::memory_resource* memory, const PropagationLimits& limits,
                   ExtractedContext& result) {
  std::array<std::optional<ExtractedContext>, index_of(PropagationStyle::none) + 1> by_style;
  bool w3c_has_datadog_member = false;
  std::string_view w3c_last_datadog_parent;

  for (const auto style : styles) {
    auto& slot = by_style[index_of(style)];
    if (slot || (present & trigger_bits(style)) == 0) continue;
    switch (style) {
      case PropagationStyle::datadog:
        slot.emplace(extract_datadog(headers, memory, limits.datadog_tags_bytes));
        break;
      case PropagationStyle::tracecontext: {
        auto w3c = extract_tracecontext(headers, memory);
        w3c_has_datadog_member = w3c.has_datadog_member;
        w3c_last_datadog_parent = w3c.last_datadog_parent;
        slot.emplace(std::move(w3c.context));
        break;
      }
      case PropagationStyle::b3:
      case PropagationStyle::b3multi:
      case PropagationStyle::b3single:
        slot.emplace(extract_b3(headers, style, memory));
        break;
      case PropagationStyle::baggage:
      case PropagationStyle::none:
        continue;
    }
    absorb_findings(result, *slot);
  }

  const auto winner = std::find_if(styles.begin(), styles.end(), [&by_style](PropagationStyle style) {
    const auto& slot = by_style[index_of(style)];
    return slot && !slot->trace_id.is_zero();
  });
  if (winner == styles.end()) {
    // No trace to continue; a B3 sampling-only header may still carry the
    // upstream's decision for the new trace.
    for (const auto style : styles) {
      const auto& slot = by_style[index_of(style)];
      if (slot && slot->sampling_priority) {
        result.sampling_priority = slot->sampling_priority;
        result.style = style;
        break;
      }
    }
  } else {
    take_context(result, std::move(*by_style[index_of(*winner)]));
    const auto& w3c = by_style[index_of(PropagationStyle::tracecontext)];
    if (*winner == PropagationStyle::tracecontext) {
      // The W3C upstream passed through a Datadog tracer: record its last
      // Datadog span (zeros when it did not say).
      if (w3c_has_datadog_member) {
        set_tag(result.span_tags, parent_id_tag,
                w3c_last_datadog_parent.empty() ? "0000000000000000" : w3c_last_datadog_parent);
      }
    } else if (w3c && w3c->trace_id == result.trace_id) {
      result.tracestate_others = w3c->tracestate_others;
      if (w3c->parent_id != result.parent_id) {
        // The W3C parent is the closer one; keep the Datadog parent as
        // `_dd.parent_id` so the backend can reparent.
        const auto& datadog = by_style[index_of(PropagationStyle::datadog)];
        if (!w3c_last_datadog_parent.empty() && w3c_last_datadog_parent != "0000000000000000") {
          set_tag(result.span_tags, parent_id_tag, w3c_last_datadog_parent);
        } else if (datadog && datadog->trace_id == result.trace_id && datadog->parent_id != 0) {
          const auto hex = hex16(datadog->parent_id);
          set_tag(result.span_tags, parent_id_tag, {hex.data(), hex.size()});
        }
        result.parent_id = w3c->parent_id;
      }
    }
  }
}

}  // namespace

ExtractedContext::ExtractedContext(std::pmr::memory_resource* memory)
    : origin(memory),
      trace_tags(memory),
      span_tags(memory),
      tracestate_others(memory),
      baggage(memory),
      diagnostics(memory) {}

std::optional<std::string_view> find_tag(std::span<const Tag> tags, std::string_view key) {
  for (const auto& tag : tags) {
    if (tag.key == key) return std::string_view(tag.value);
  }
  return std::nullopt;
}

std::uint64_t HeaderReader::which_present(std::span<const std::string_view> lowercase_names) const {
  std::uint64_t present = 0;
  std::string_view unused;
  for (std::size_t i = 0; i < lowercase_names.size() && i < 64; ++i) {
    if (get(lowercase_names[i], &unused, 0) != 0) present |= std::uint64_t{1} << i;
  }
  return present;
}

ExtractedContext extract(const HeaderReader& headers, const PropagationStyles& styles,
                         std::pmr::memory_resource* memory, const PropagationLimits& limits) {
  ExtractedContext result(memory);
  std::uint64_t wanted = 0;
  for (const auto style : styles) wanted |= trigger_bits(style);
  if (wanted == 0) return result;
  // A style none of whose trigger headers the request has would yield an
  // empty context, which changes nothing: it is not even run. Most requests
  // have no propagation header at all and end here.
  const std::uint64_t present =
      wanted & headers.which_present(std::span(trigger_names).first(std::bit_width(wanted)));
  const std::uint64_t baggage_bit = trigger_bits(PropagationStyle::baggage);
  if ((present & ~baggage_bit) != 0) extract_trace(headers, styles, present, memory, limits, result);
  if ((present & baggage_bit) != 0) extract_baggage(headers, limits, result);
  return result;
}

}  // namespace datadog::trace
