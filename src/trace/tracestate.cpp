// tracestate list-member grammar, and the tracestate header nginx sends.
#include "trace/tracestate.hpp"

#include <algorithm>
#include <cstring>

#include "trace/propagation_internal.hpp"
#include "trace/short_copy.hpp"

namespace datadog::trace {
namespace {

using propagation_internal::propagated_tag_prefix;
using propagation_internal::starts_with;
using propagation_internal::trace_id_high_tag;
using propagation_internal::trim_blanks;
using propagation_internal::write_decimal;

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
  explicit DatadogValueBuilder(char* out) : out_(out) {}

  bool open_segment(std::size_t size) {
    if (closed_ || size_ + size > max_tracestate_value_size) {
      closed_ = true;
      return false;
    }
    return true;
  }
  void put(std::string_view text) {
    copy_short(out_ + size_, text);
    size_ += text.size();
  }
  void put_decimal(int number) {
    size_ = static_cast<std::size_t>(write_decimal(number, out_ + size_) - out_);
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
  char* out_;
  std::size_t size_ = 0;
  bool closed_ = false;
};

// The dd= value at `out` (room for max_tracestate_value_size); returns its size.
std::size_t write_datadog_value(const OutgoingContext& context, char* out) {
  DatadogValueBuilder value(out);
  value.put("s:");  // "s:-2147483648" always fits: no need to open the first segment
  value.put_decimal(context.sampling_priority);
  char span_id[16];
  write_hex16(context.span_id, span_id);
  value.open_segment(3 + sizeof span_id);
  value.put(";p:");
  value.put({span_id, sizeof span_id});
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

// Appends ",key=value" for every valid, distinct, non-dd member of `others`,
// up to the 31 that may follow ours; returns the new end.
char* append_other_members(std::string_view others, char* out) {
  std::array<std::string_view, max_tracestate_members - 1> kept_keys;
  std::size_t kept = 0;
  while (!others.empty() && kept < kept_keys.size()) {
    const auto comma = others.find(',');
    const auto text = trim_blanks(others.substr(0, comma));
    others = comma == std::string_view::npos ? std::string_view() : others.substr(comma + 1);
    TracestateMember member;
    if (text.empty() || !split_member(text, member) || member.key == "dd") continue;
    const bool repeated =
        std::find(kept_keys.begin(), kept_keys.begin() + kept, member.key) != kept_keys.begin() + kept;
    if (repeated) continue;
    kept_keys[kept++] = member.key;
    *out++ = ',';
    std::memcpy(out, text.data(), text.size());  // text is exactly key=value
    out += text.size();
  }
  return out;
}

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
  return write_datadog_value(context, out.data());
}

std::size_t tracestate_size_bound(const OutgoingContext& context) {
  // The other members come out no longer than they went in, plus one ','.
  return 3 + max_tracestate_value_size + 1 + context.tracestate_others.size();
}

std::size_t write_tracestate(const OutgoingContext& context, char* out) {
  char* const begin = out;
  std::memcpy(out, "dd=", 3);
  out += 3;
  out += write_datadog_value(context, out);
  // Most requests have no other vendor's members: skip their bookkeeping.
  if (!context.tracestate_others.empty()) out = append_other_members(context.tracestate_others, out);
  return static_cast<std::size_t>(out - begin);
}

}  // namespace datadog::trace
