// tracestate list-member grammar, and the tracestate header nginx sends.
#include "trace/tracestate.hpp"

#include <algorithm>
#include <cstring>

#include "trace/propagation_internal.hpp"

namespace datadog::trace {
namespace {

using propagation_internal::decimal;
using propagation_internal::propagated_tag_prefix;
using propagation_internal::starts_with;
using propagation_internal::trace_id_high_tag;
using propagation_internal::trim_blanks;

bool is_key_start(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_key_char(char c) {
  return is_key_start(c) || c == '_' || c == '-' || c == '*' || c == '/' || c == '@';
}
bool is_value_char(char c) { return c >= 0x20 && c <= 0x7e && c != ',' && c != '='; }

// Splits "key=value" (already trimmed); false when it breaks the grammar.
bool split_member(std::string_view text, TracestateMember& member) {
  const auto equals = text.find('=');
  if (equals == std::string_view::npos) return false;
  member.key = text.substr(0, equals);
  member.value = text.substr(equals + 1);
  return is_tracestate_key(member.key) && is_tracestate_value(member.value);
}

// Characters the dd= member cannot carry in an origin or tag value.
char sanitize_value_char(char c) {
  if (c < 0x20 || c > 0x7e || c == ',' || c == ';' || c == '~') return '_';
  if (c == '=') return '~';
  return c;
}

// A tag name also may not hold ':' (the key/value separator inside dd=) or a blank.
char sanitize_key_char(char c) {
  if (c <= 0x20 || c > 0x7e || c == ',' || c == ';' || c == '=' || c == ':') return '_';
  return c;
}

// Appends whole segments to the dd= value while they fit; the first one that
// does not fit closes it, so what is dropped is always a trailing run.
class DatadogValueBuilder {
 public:
  explicit DatadogValueBuilder(std::array<char, max_tracestate_value_size>& out) : out_(out) {}

  bool open_segment(std::size_t size) {
    if (closed_ || size_ + size > out_.size()) {
      closed_ = true;
      return false;
    }
    return true;
  }
  void put(std::string_view text) {
    for (char c : text) out_[size_++] = c;
  }
  void put(std::string_view text, char (*sanitize)(char)) {
    for (char c : text) out_[size_++] = sanitize(c);
  }
  std::size_t finish() {
    // A tracestate value may not end in a blank.
    if (size_ != 0 && out_[size_ - 1] == ' ') out_[size_ - 1] = '_';
    return size_;
  }

 private:
  std::array<char, max_tracestate_value_size>& out_;
  std::size_t size_ = 0;
  bool closed_ = false;
};

}  // namespace

bool is_tracestate_key(std::string_view key) {
  return !key.empty() && key.size() <= 256 && is_key_start(key.front()) &&
         std::all_of(key.begin() + 1, key.end(), is_key_char);
}

bool is_tracestate_value(std::string_view value) {
  return !value.empty() && value.size() <= max_tracestate_value_size && value.back() != ' ' &&
         std::all_of(value.begin(), value.end(), is_value_char);
}

TracestateParse parse_tracestate(std::span<const std::string_view> header_values, TracestateList& list) {
  list.count = 0;
  const auto fail = [&list](TracestateParse why) {
    list.count = 0;
    return why;
  };
  for (std::string_view rest : header_values) {
    while (true) {
      const auto comma = rest.find(',');
      const auto text = trim_blanks(rest.substr(0, comma));
      if (!text.empty()) {
        TracestateMember member;
        if (!split_member(text, member)) return fail(TracestateParse::invalid_member);
        if (list.count == max_tracestate_members) return fail(TracestateParse::too_many_members);
        for (std::size_t i = 0; i < list.count; ++i) {
          if (list.members[i].key == member.key) return fail(TracestateParse::duplicate_key);
        }
        list.members[list.count++] = member;
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return TracestateParse::ok;
}

std::size_t encode_datadog_tracestate_value(const OutgoingContext& context,
                                            std::array<char, max_tracestate_value_size>& out) {
  DatadogValueBuilder value(out);
  const auto priority = decimal(context.sampling_priority);
  value.open_segment(2 + priority.size);  // "s:-2147483648" always fits
  value.put("s:");
  value.put(priority.view());
  const auto span_id = hex16(context.span_id);
  value.open_segment(3 + span_id.size());
  value.put(";p:");
  value.put({span_id.data(), span_id.size()});
  if (!context.origin.empty() && value.open_segment(3 + context.origin.size())) {
    value.put(";o:");
    value.put(context.origin, sanitize_value_char);
  }
  for (const auto& tag : context.trace_tags) {
    if (!starts_with(tag.key, propagated_tag_prefix) || tag.key == trace_id_high_tag) continue;
    const std::string_view name = std::string_view(tag.key).substr(propagated_tag_prefix.size());
    if (name.empty() || tag.value.empty()) continue;
    if (!value.open_segment(3 + name.size() + 1 + tag.value.size())) break;
    value.put(";t.");
    value.put(name, sanitize_key_char);
    value.put(":");
    value.put(tag.value, sanitize_value_char);
  }
  return value.finish();
}

std::string_view encode_tracestate(const OutgoingContext& context, std::pmr::memory_resource* memory) {
  std::array<char, max_tracestate_value_size> datadog_value;
  const std::size_t datadog_size = encode_datadog_tracestate_value(context, datadog_value);

  // Re-validated: only well-formed, distinct, non-dd members go out.
  std::array<TracestateMember, max_tracestate_members - 1> others;
  std::size_t other_count = 0;
  std::size_t size = 3 + datadog_size;
  std::string_view rest = context.tracestate_others;
  while (!rest.empty() && other_count < others.size()) {
    const auto comma = rest.find(',');
    const auto text = trim_blanks(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    TracestateMember member;
    if (text.empty() || !split_member(text, member) || member.key == "dd") continue;
    const bool repeated =
        std::any_of(others.begin(), others.begin() + other_count,
                    [&member](const TracestateMember& kept) { return kept.key == member.key; });
    if (repeated) continue;
    others[other_count++] = member;
    size += 1 + member.key.size() + 1 + member.value.size();
  }

  auto* begin = static_cast<char*>(memory->allocate(size, 1));
  char* out = begin;
  const auto append = [&out](std::string_view text) {
    std::memcpy(out, text.data(), text.size());
    out += text.size();
  };
  append("dd=");
  append({datadog_value.data(), datadog_size});
  for (std::size_t i = 0; i < other_count; ++i) {
    append(",");
    append(others[i].key);
    append("=");
    append(others[i].value);
  }
  return {begin, size};
}

}  // namespace datadog::trace
