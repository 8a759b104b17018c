// Decoding and encoding of x-datadog-tags.
#include "trace/datadog_tags.hpp"

#include <algorithm>

#include "trace/propagation_internal.hpp"
#include "trace/short_copy.hpp"

namespace datadog::trace {
namespace {

using propagation_internal::propagated_tag_prefix;
using propagation_internal::starts_with;
using propagation_internal::trace_id_high_tag;

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

bool is_member_well_formed(std::string_view member) {
  const auto equals = member.find('=');
  if (equals == std::string_view::npos) return false;
  return is_datadog_tag_key(member.substr(0, equals)) &&
         is_datadog_tag_value(trim_spaces(member.substr(equals + 1)));
}

// A `_dd.p.*` tag that x-datadog-tags (and tracestate) may carry.
bool is_sendable(const Tag& tag) {
  // The prefix is made of valid key characters: only the rest needs a look.
  return tag.key.size() > propagated_tag_prefix.size() && starts_with(tag.key, propagated_tag_prefix) &&
         tag.key != trace_id_high_tag &&
         is_datadog_tag_key(std::string_view(tag.key).substr(propagated_tag_prefix.size())) &&
         is_datadog_tag_value(tag.value);
}

}  // namespace

bool is_datadog_tag_key(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(),
                                     [](char c) { return c > 0x20 && c < 0x7f && c != ',' && c != '='; });
}

bool is_datadog_tag_value(std::string_view value) {
  return !value.empty() && value.front() != ' ' && value.back() != ' ' &&
         std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != ','; });
}

bool datadog_tags_well_formed(std::string_view header) {
  if (header.empty()) return true;
  if (header.back() == ',') header.remove_suffix(1);
  if (header.empty()) return false;
  while (true) {
    const auto comma = header.find(',');
    if (!is_member_well_formed(header.substr(0, comma))) return false;
    if (comma == std::string_view::npos) return true;
    header.remove_prefix(comma + 1);
  }
}

bool next_datadog_tag(std::string_view& rest, std::string_view& key, std::string_view& value) {
  if (rest.empty()) return false;
  const auto comma = rest.find(',');
  const std::string_view member = rest.substr(0, comma);
  rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  const auto equals = member.find('=');
  key = member.substr(0, equals);
  value = trim_spaces(member.substr(equals + 1));
  return true;
}

DatadogTagsText write_datadog_tags(const OutgoingContext& context, char* out, std::size_t max_size) {
  std::size_t size = 0;
  // Members only add to the size: the first one that does not fit makes the
  // whole header too large.
  const auto append_member = [&](std::string_view key, std::string_view value) {
    const std::size_t member_size = (size == 0 ? 0 : 1) + key.size() + 1 + value.size();
    if (member_size > max_size - size) return false;
    char* at = out + size;
    if (size != 0) *at++ = ',';
    at = copy_short(at, key);
    *at++ = '=';
    copy_short(at, value);
    size += member_size;
    return true;
  };
  if (context.trace_id.high != 0) {
    char high[16];
    write_hex16(context.trace_id.high, high);
    if (!append_member(trace_id_high_tag, {high, sizeof high})) return {0, true};
  }
  for (const auto& tag : context.trace_tags) {
    if (is_sendable(tag) && !append_member(tag.key, tag.value)) return {0, true};
  }
  return {size, false};
}

}  // namespace datadog::trace
