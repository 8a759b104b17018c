// Injection: the headers nginx writes for its upstream, one writer per style.
// Every value is built from the outgoing context (never copied from the
// request), so nothing that failed validation can be forwarded.
#include <algorithm>
#include <array>

#include "trace/baggage.hpp"
#include "trace/datadog_tags.hpp"
#include "trace/propagation_internal.hpp"
#include "trace/tracestate.hpp"

namespace datadog::trace {

using namespace propagation_internal;

namespace {

bool is_printable_ascii(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

void inject_datadog(const OutgoingContext& context, HeaderWriter& headers, std::pmr::memory_resource* memory,
                    std::pmr::vector<Tag>* span_tags) {
  headers.set("x-datadog-trace-id", persist(memory, decimal(context.trace_id.low).view()));
  headers.set("x-datadog-parent-id", persist(memory, decimal(context.span_id).view()));
  headers.set("x-datadog-sampling-priority", persist(memory, decimal(context.sampling_priority).view()));
  if (!context.origin.empty() && is_printable_ascii(context.origin)) {
    headers.set("x-datadog-origin", persist(memory, context.origin));
  }
  const auto tags = encode_datadog_tags(context, memory);
  if (tags.too_large) {
    if (span_tags) set_tag(*span_tags, propagation_error_tag, "inject_max_size");
  } else if (!tags.header.empty()) {
    headers.set("x-datadog-tags", tags.header);
  }
}

void inject_tracecontext(const OutgoingContext& context, HeaderWriter& headers,
                         std::pmr::memory_resource* memory) {
  // 00-<trace id>-<span id>-<flags>
  std::array<char, 55> traceparent;
  const auto trace_id = hex32(context.trace_id);
  const auto span_id = hex16(context.span_id);
  char* out = traceparent.data();
  *out++ = '0';
  *out++ = '0';
  *out++ = '-';
  out = std::copy(trace_id.begin(), trace_id.end(), out);
  *out++ = '-';
  out = std::copy(span_id.begin(), span_id.end(), out);
  *out++ = '-';
  *out++ = '0';
  *out++ = context.sampling_priority > 0 ? '1' : '0';
  headers.set("traceparent", persist(memory, {traceparent.data(), traceparent.size()}));
  headers.set("tracestate", encode_tracestate(context, memory));
}

std::string_view b3_trace_id(const OutgoingContext& context, std::pmr::memory_resource* memory) {
  const auto full = hex32(context.trace_id);
  const std::string_view text(full.data(), full.size());
  return persist(memory, context.trace_id.high != 0 ? text : text.substr(16));
}

void inject_b3_multi(const OutgoingContext& context, HeaderWriter& headers,
                     std::pmr::memory_resource* memory) {
  const auto span_id = hex16(context.span_id);
  headers.set("x-b3-traceid", b3_trace_id(context, memory));
  headers.set("x-b3-spanid", persist(memory, {span_id.data(), span_id.size()}));
  headers.set("x-b3-sampled", context.sampling_priority > 0 ? "1" : "0");
}

void inject_b3_single(const OutgoingContext& context, HeaderWriter& headers,
                      std::pmr::memory_resource* memory) {
  // {trace id}-{span id}-{1|0}
  std::array<char, 32 + 1 + 16 + 2> text;
  const auto full = hex32(context.trace_id);
  const auto span_id = hex16(context.span_id);
  const std::size_t skip = context.trace_id.high != 0 ? 0 : 16;
  char* out = std::copy(full.begin() + skip, full.end(), text.data());
  *out++ = '-';
  out = std::copy(span_id.begin(), span_id.end(), out);
  *out++ = '-';
  *out++ = context.sampling_priority > 0 ? '1' : '0';
  headers.set("b3", persist(memory, {text.data(), static_cast<std::size_t>(out - text.data())}));
}

}  // namespace

void inject(const OutgoingContext& context, const PropagationStyles& styles, HeaderWriter& headers,
            std::pmr::memory_resource* memory, std::pmr::vector<Tag>* span_tags) {
  const bool has_trace = !context.trace_id.is_zero() && context.span_id != 0;
  for (const auto style : styles) {
    switch (style) {
      case PropagationStyle::datadog:
        if (has_trace) inject_datadog(context, headers, memory, span_tags);
        break;
      case PropagationStyle::tracecontext:
        if (has_trace) inject_tracecontext(context, headers, memory);
        break;
      case PropagationStyle::b3:
      case PropagationStyle::b3multi:
        if (has_trace) inject_b3_multi(context, headers, memory);
        break;
      case PropagationStyle::b3single:
        if (has_trace) inject_b3_single(context, headers, memory);
        break;
      case PropagationStyle::baggage:
        if (const auto baggage = encode_baggage(context.baggage, memory); !baggage.header.empty()) {
          headers.set("baggage", baggage.header);
        }
        break;
      case PropagationStyle::none:
        break;
    }
  }
}

}  // namespace datadog::trace
