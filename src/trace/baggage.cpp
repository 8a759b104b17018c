// Parsing and writing of the W3C baggage header.
#include "trace/baggage.hpp"

#include <algorithm>

#include "trace/propagation_internal.hpp"
#include "trace/utf8.hpp"

namespace datadog::trace {
namespace {

using propagation_internal::set_tag;
using propagation_internal::trim_blanks;

constexpr std::string_view malformed = "malformed";
constexpr std::string_view item_count_exceeded = "item_count_exceeded";
constexpr std::string_view byte_count_exceeded = "byte_count_exceeded";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool has_control_character(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) { return (c >= 0 && c < 0x20) || c == 0x7f; });
}

// "%XX" becomes the byte XX; a '%' not followed by two hex digits stays as it
// is (senders that forgot to encode a literal '%' are common).
void percent_decode(std::string_view text, std::pmr::string& out) {
  out.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out += static_cast<char>(high * 16 + low);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
}

// Keys are sent as RFC 9110 tokens, values as W3C baggage-octets; everything
// else (and '%' itself) is percent-encoded, UTF-8 byte by byte.
bool is_key_safe(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}
bool is_value_safe(unsigned char c) {
  return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\' && c != '%';
}

std::size_t encoded_size(std::string_view text, bool (*safe)(unsigned char)) {
  std::size_t size = 0;
  for (char c : text) size += safe(static_cast<unsigned char>(c)) ? 1 : 3;
  return size;
}

char* encode(std::string_view text, bool (*safe)(unsigned char), char* out) {
  constexpr char digits[] = "0123456789ABCDEF";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (safe(byte)) {
      *out++ = c;
    } else {
      *out++ = '%';
      *out++ = digits[byte >> 4];
      *out++ = digits[byte & 0xf];
    }
  }
  return out;
}

}  // namespace

std::string_view parse_baggage(std::span<const std::string_view> header_values, std::pmr::vector<Tag>& items,
                               const PropagationLimits& limits) {
  items.clear();
  std::size_t bytes = 0;
  for (const auto value : header_values) bytes += value.size() + (bytes == 0 ? 0 : 1);
  if (bytes > limits.baggage_bytes) return byte_count_exceeded;

  const auto fail = [&items](std::string_view why) {
    items.clear();
    return why;
  };
  std::pmr::string key(items.get_allocator());
  std::pmr::string value(items.get_allocator());
  std::size_t members = 0;
  for (std::string_view rest : header_values) {
    if (trim_blanks(rest).empty()) continue;  // an empty baggage header says nothing
    while (true) {
      const auto comma = rest.find(',');
      const auto member = trim_blanks(rest.substr(0, comma));
      // Properties (";..." after the value) are metadata we do not keep.
      const auto pair = member.substr(0, member.find(';'));
      const auto equals = pair.find('=');
      if (equals == std::string_view::npos) return fail(malformed);
      const auto raw_key = trim_blanks(pair.substr(0, equals));
      const auto raw_value = trim_blanks(pair.substr(equals + 1));
      if (raw_key.empty() || raw_value.empty() || has_control_character(member)) return fail(malformed);
      if (++members > limits.baggage_items) return fail(item_count_exceeded);
      percent_decode(raw_key, key);
      percent_decode(raw_value, value);
      set_tag(items, key, value);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return {};
}

BaggageEncode encode_baggage(std::span<const Tag> items, std::pmr::memory_resource* memory,
                             const PropagationLimits& limits) {
  BaggageEncode result;
  std::size_t size = 0;
  std::size_t count = 0;
  std::size_t last = 0;  // items[0, last) are considered
  for (; last < items.size(); ++last) {
    const auto& item = items[last];
    if (item.key.empty() || item.value.empty()) continue;
    const std::size_t item_size =
        encoded_size(item.key, is_key_safe) + 1 + encoded_size(item.value, is_value_safe);
    const std::size_t new_size = size + (count == 0 ? 0 : 1) + item_size;
    if (count == limits.baggage_items || new_size > limits.baggage_bytes) {
      result.truncated = true;
      break;
    }
    size = new_size;
    ++count;
  }
  if (count == 0) return result;

  auto* begin = static_cast<char*>(memory->allocate(size, 1));
  char* out = begin;
  for (std::size_t i = 0; i < last; ++i) {
    const auto& item = items[i];
    if (item.key.empty() || item.value.empty()) continue;
    if (out != begin) *out++ = ',';
    out = encode(item.key, is_key_safe, out);
    *out++ = '=';
    out = encode(item.value, is_value_safe, out);
  }
  result.header = {begin, size};
  return result;
}

void add_baggage_span_tags(std::span<const Tag> items, std::span<const std::string_view> keys, bool all,
                           std::pmr::vector<Tag>& tags) {
  constexpr std::string_view prefix = "baggage.";
  const std::size_t first = tags.size();
  // parse_baggage leaves no key twice, so two tags can only share a key once
  // one of them was repaired: until then, nothing to search.
  bool repaired_any = false;
  for (const Tag& item : items) {
    if (!all && std::find(keys.begin(), keys.end(), std::string_view(item.key)) == keys.end()) continue;
    std::pmr::string key(tags.get_allocator());
    const std::size_t repaired_size = repaired_utf8_size(item.key);
    const bool repaired = repaired_size != item.key.size();
    key.resize(prefix.size() + repaired_size);
    std::copy(prefix.begin(), prefix.end(), key.begin());
    write_repaired_utf8(key.data() + prefix.size(), item.key);  // valid text is copied as it is
    repaired_any = repaired_any || repaired;
    if (repaired_any) {
      const auto same = std::find_if(tags.begin() + static_cast<std::ptrdiff_t>(first), tags.end(),
                                     [&](const Tag& tag) { return tag.key == key; });
      if (same != tags.end()) {
        same->value = item.value;
        continue;
      }
    }
    tags.emplace_back(key, item.value);
  }
}

}  // namespace datadog::trace
