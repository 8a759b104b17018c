// Small text and tag helpers the propagation styles share.
#include "trace/propagation_internal.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace datadog::trace::propagation_internal {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// Diagnostics quote header values; a hostile header must not make them huge.
constexpr std::size_t max_quoted_value = 64;

// "00", "01", ... "99": numbers are written two digits per step.
constexpr auto digit_pairs = [] {
  std::array<char, 200> table{};
  for (std::size_t i = 0; i < 100; ++i) {
    table[2 * i] = static_cast<char>('0' + i / 10);
    table[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  return table;
}();

void write_two_digits(std::uint32_t value, char* out) { std::memcpy(out, &digit_pairs[2 * value], 2); }

// Exactly four digits, zero-padded.
void write_four_digits(std::uint32_t value, char* out) {
  write_two_digits(value / 100, out);
  write_two_digits(value % 100, out + 2);
}

// Exactly eight digits, zero-padded: the lower parts of a long number.
void write_eight_digits(std::uint32_t value, char* out) {
  write_four_digits(value / 10000, out);
  write_four_digits(value % 10000, out + 4);
}

// One to eight digits, no padding. Short numbers (a sampling priority, the
// top digits of an id) are the common case: they take no loop.
char* write_leading_digits(std::uint32_t value, char* out) {
  if (value >= 10000) {
    out = write_leading_digits(value / 10000, out);
    write_four_digits(value % 10000, out);
    return out + 4;
  }
  if (value >= 100) {
    if (value >= 1000) {
      write_four_digits(value, out);
      return out + 4;
    }
    *out = static_cast<char>('0' + value / 100);
    write_two_digits(value % 100, out + 1);
    return out + 3;
  }
  if (value >= 10) {
    write_two_digits(value, out);
    return out + 2;
  }
  *out = static_cast<char>('0' + value);
  return out + 1;
}

}  // namespace

std::string_view trim_blanks(std::string_view text) {
  while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
  return text;
}

bool is_lower_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

void set_tag(std::pmr::vector<Tag>& tags, std::string_view key, std::string_view value) {
  for (auto& tag : tags) {
    if (tag.key == key) {
      tag.value = value;
      return;
    }
  }
  tags.emplace_back(key, value);
}

void remove_tag(std::pmr::vector<Tag>& tags, std::string_view key) {
  std::erase_if(tags, [key](const Tag& tag) { return tag.key == key; });
}

void note(ExtractedContext& context, std::string_view what, std::string_view value) {
  note(context, what);
  context.diagnostics += " \"";
  context.diagnostics += value.substr(0, max_quoted_value);
  if (value.size() > max_quoted_value) context.diagnostics += "...";
  context.diagnostics += '"';
}

void note(ExtractedContext& context, std::string_view what) {
  if (!context.diagnostics.empty()) context.diagnostics += "; ";
  context.diagnostics += what;
}

std::optional<std::string_view> first_header(const HeaderReader& headers, std::string_view name) {
  std::string_view value;
  if (headers.get(name, &value, 1) == 0) return std::nullopt;
  return value;
}

char* write_decimal(std::uint64_t value, char* out) {
  // Ids have up to 20 digits: splitting them into eight-digit parts lets
  // 32-bit arithmetic do the rest, instead of a 64-bit division per digit pair.
  constexpr std::uint64_t e8 = 100'000'000;
  if (value < e8) return write_leading_digits(static_cast<std::uint32_t>(value), out);
  if (value < e8 * e8) {
    out = write_leading_digits(static_cast<std::uint32_t>(value / e8), out);
    write_eight_digits(static_cast<std::uint32_t>(value % e8), out);
    return out + 8;
  }
  const std::uint64_t rest = value % (e8 * e8);
  out = write_leading_digits(static_cast<std::uint32_t>(value / (e8 * e8)), out);  // at most 1844
  write_eight_digits(static_cast<std::uint32_t>(rest / e8), out);
  write_eight_digits(static_cast<std::uint32_t>(rest % e8), out + 8);
  return out + 16;
}

char* write_decimal(int value, char* out) {
  // Unsigned negation, so that INT_MIN has a magnitude too.
  const auto bits = static_cast<std::uint32_t>(value);
  if (value < 0) *out++ = '-';
  return write_decimal(std::uint64_t{value < 0 ? 0u - bits : bits}, out);
}

std::optional<int> parse_int(std::string_view text) {
  int value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (begin != end && *begin == '+') return std::nullopt;
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

}  // namespace datadog::trace::propagation_internal
