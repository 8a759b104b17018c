// Which header formats carry trace context in and out of nginx, as configured by
// `datadog_propagation_styles` or DD_TRACE_PROPAGATION_STYLE.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace datadog::trace {

enum class PropagationStyle : std::uint8_t {
  datadog,       // x-datadog-*
  tracecontext,  // W3C traceparent / tracestate
  b3,            // extract: the single `b3` header wins over X-B3-*; inject: X-B3-*
  b3multi,       // X-B3-* only
  b3single,      // the single `b3` header only ("b3 single header")
  baggage,       // W3C baggage
  none,
};

// A small ordered set of styles (no heap); each style appears at most once.
struct PropagationStyles {
  std::array<PropagationStyle, 8> items{};
  std::uint8_t count = 0;

  const PropagationStyle* begin() const { return items.data(); }
  const PropagationStyle* end() const { return items.data() + count; }
  bool empty() const { return count == 0; }
  bool contains(PropagationStyle style) const;
  // Appends unless already present (or full, which the seven styles cannot make it).
  void add(PropagationStyle style);
};

struct StylesParse {
  PropagationStyles styles;
  std::string error;  // empty when the text is valid
  bool ok() const { return error.empty(); }
};

// "datadog,tracecontext", "Datadog tracecontext b3", "b3 single header, baggage":
// case-insensitive names separated by commas and/or blanks. "none" alone means no
// style; next to other names it is ignored. Repeated names count once.
StylesParse parse_propagation_styles(std::string_view text);

// datadog, tracecontext, baggage (PROTOCOLS.md section 3).
PropagationStyles default_propagation_styles();

// The name a user writes ("b3 single header" for b3single).
std::string_view to_string(PropagationStyle style);

namespace propagation_style_detail {
inline constexpr std::string_view datadog_headers[] = {"x-datadog-trace-id", "x-datadog-parent-id",
                                                       "x-datadog-sampling-priority", "x-datadog-origin",
                                                       "x-datadog-tags"};
inline constexpr std::string_view tracecontext_headers[] = {"traceparent", "tracestate"};
inline constexpr std::string_view b3_headers[] = {"b3",           "x-b3-traceid", "x-b3-spanid",
                                                  "x-b3-sampled", "x-b3-flags",   "x-b3-parentspanid"};
inline constexpr std::string_view b3multi_headers[] = {"x-b3-traceid", "x-b3-spanid", "x-b3-sampled",
                                                       "x-b3-flags", "x-b3-parentspanid"};
inline constexpr std::string_view b3single_headers[] = {"b3"};
inline constexpr std::string_view baggage_headers[] = {"baggage"};
}  // namespace propagation_style_detail

// Every lowercase header name that extracting or injecting `style` reads or
// writes. The glue removes client-sent copies of these before injecting, so
// nothing that failed validation is ever forwarded upstream. Inline: the glue
// asks for every request header.
inline std::span<const std::string_view> propagation_header_names(PropagationStyle style) {
  using namespace propagation_style_detail;
  switch (style) {
    case PropagationStyle::datadog:
      return datadog_headers;
    case PropagationStyle::tracecontext:
      return tracecontext_headers;
    case PropagationStyle::b3:
      return b3_headers;
    case PropagationStyle::b3multi:
      return b3multi_headers;
    case PropagationStyle::b3single:
      return b3single_headers;
    case PropagationStyle::baggage:
      return baggage_headers;
    case PropagationStyle::none:
      break;
  }
  return {};
}

}  // namespace datadog::trace
