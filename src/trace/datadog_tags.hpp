// The x-datadog-tags header: `key=value,key=value` propagated trace tags.
// Keys are printable ASCII without space, ',' or '='; values printable ASCII
// (space included) without ','; neither may be empty. The header carries at
// most 512 bytes either way, unless DD_TRACE_TAGS_PROPAGATION_MAX_LENGTH says
// otherwise (PropagationLimits).
#pragma once

#include <cstddef>
#include <string_view>

#include "trace/propagation.hpp"

namespace datadog::trace {

inline constexpr std::size_t max_datadog_tags_size = PropagationLimits{}.datadog_tags_bytes;

bool is_datadog_tag_key(std::string_view key);
bool is_datadog_tag_value(std::string_view value);

enum class DatadogTagsDecode { ok, too_large, malformed };

// Splits a well-formed header into its members: the next key and value (the
// value without surrounding spaces) from `rest`, which shrinks; false at the end.
// Only meaningful after datadog_tags_well_formed() said yes.
bool next_datadog_tag(std::string_view& rest, std::string_view& key, std::string_view& value);
// One trailing ',' is tolerated (tracers have sent it); "" is an empty tag set.
bool datadog_tags_well_formed(std::string_view header);

// Calls visit(key, value) for every member, but only once the whole header is
// known to be valid: a malformed or oversized (over `max_size`) header yields
// no tag at all.
template <class Visit>
DatadogTagsDecode decode_datadog_tags(std::string_view header, std::size_t max_size, Visit&& visit) {
  if (header.size() > max_size) return DatadogTagsDecode::too_large;
  if (!datadog_tags_well_formed(header)) return DatadogTagsDecode::malformed;
  std::string_view key;
  std::string_view value;
  while (next_datadog_tag(header, key, value)) visit(key, value);
  return DatadogTagsDecode::ok;
}

// `_dd.p.tid` (from trace_id.high, when non-zero) first, then every other
// valid `_dd.p.*` trace tag of `context` (invalid ones are skipped), written
// at `out`, which has room for `max_size` characters. Over that size the
// header is too_large and is not sent; `size` 0 means nothing to send.
struct DatadogTagsText {
  std::size_t size = 0;
  bool too_large = false;
};
DatadogTagsText write_datadog_tags(const OutgoingContext& context, char* out,
                                   std::size_t max_size = max_datadog_tags_size);

}  // namespace datadog::trace
