// Datadog's tracers accept the same six words and two digits for a boolean;
// nginx-datadog reads its environment and RUM options through them.
#include "text/boolean.hpp"

namespace datadog::text {
namespace {

bool equals_ignoring_case(std::string_view text, std::string_view lower) noexcept {
  if (text.size() != lower.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

std::string_view trim_blanks(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::optional<bool> parse_boolean(std::string_view text) noexcept {
  text = trim_blanks(text);
  for (const std::string_view word : {"true", "1", "yes", "on"}) {
    if (equals_ignoring_case(text, word)) return true;
  }
  for (const std::string_view word : {"false", "0", "no", "off"}) {
    if (equals_ignoring_case(text, word)) return false;
  }
  return std::nullopt;
}

}  // namespace datadog::text
