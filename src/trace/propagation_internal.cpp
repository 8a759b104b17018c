// Small text and tag helpers the propagation styles share.
#include "trace/propagation_internal.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace datadog::trace::propagation_internal {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// Diagnostics quote header values; a hostile header must not make them huge.
constexpr std::size_t max_quoted_value = 64;

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

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
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

std::string_view persist(std::pmr::memory_resource* memory, std::string_view text) {
  if (text.empty()) return {};
  auto* data = static_cast<char*>(memory->allocate(text.size(), 1));
  std::memcpy(data, text.data(), text.size());
  return {data, text.size()};
}

NumberText decimal(std::uint64_t value) {
  NumberText text{};
  text.size =
      static_cast<std::size_t>(std::to_chars(text.data, text.data + sizeof text.data, value).ptr - text.data);
  return text;
}

NumberText decimal(int value) {
  NumberText text{};
  text.size =
      static_cast<std::size_t>(std::to_chars(text.data, text.data + sizeof text.data, value).ptr - text.data);
  return text;
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
