// W3C baggage: `key=value[;properties],...` with percent-encoded keys and
// values, at most 64 items and 8192 bytes (PropagationLimits: the
// DD_TRACE_BAGGAGE_MAX_ITEMS / _BYTES variables change both).
//
// Extract: a header that is malformed (a member without '=', an empty key or
// value, an empty member, a control character) or over either limit is
// ignored whole, as dd-trace does; properties are dropped. Inject: items are
// written in order until the next one would pass either limit; the rest are
// left out.
#pragma once

#include <cstddef>
#include <memory_resource>
#include <span>
#include <string_view>

#include "trace/propagation.hpp"

namespace datadog::trace {

inline constexpr std::size_t max_baggage_items = PropagationLimits{}.baggage_items;
inline constexpr std::size_t max_baggage_bytes = PropagationLimits{}.baggage_bytes;

// Decodes the values of every baggage header of a request, read as one list,
// into `items` (a key seen again replaces its value). Returns why the header
// was ignored ("malformed", "item_count_exceeded", "byte_count_exceeded"),
// leaving `items` empty, or an empty view.
std::string_view parse_baggage(std::span<const std::string_view> header_values, std::pmr::vector<Tag>& items,
                               const PropagationLimits& limits = {});

// Appends to `tags` a `baggage.<key>` tag for each item whose key is in
// `keys` (every item with `all`). The key is made valid UTF-8 here, each
// invalid byte becoming U+FFFD as the span encoder would write it, so that
// items whose keys differ only in invalid bytes (%FF, %FE) give one tag, with
// the value of the later item as for any key given twice: the agent rejects a
// span whose meta repeats a key.
void add_baggage_span_tags(std::span<const Tag> items, std::span<const std::string_view> keys, bool all,
                           std::pmr::vector<Tag>& tags);

struct BaggageEncode {
  std::string_view header;  // persisted in the memory resource; empty when no item fits
  bool truncated = false;   // some items were left out to respect the limits
};

BaggageEncode encode_baggage(std::span<const Tag> items, std::pmr::memory_resource* memory,
                             const PropagationLimits& limits = {});

}  // namespace datadog::trace
