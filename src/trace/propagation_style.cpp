// Propagation style names as configuration spells them (the headers each
// style owns are in the header).
#include "trace/propagation_style.hpp"

#include <algorithm>

namespace datadog::trace {
namespace {

bool is_separator(char c) { return c == ',' || c == ' ' || c == '\t'; }
bool is_blank(char c) { return c == ' ' || c == '\t'; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

// The token starting at or after `pos`, skipping separators; empty at the end.
std::string_view next_token(std::string_view text, std::size_t& pos) {
  while (pos < text.size() && is_separator(text[pos])) ++pos;
  const std::size_t begin = pos;
  while (pos < text.size() && !is_separator(text[pos])) ++pos;
  return text.substr(begin, pos - begin);
}

// After "b3": consumes " single header" (blank-separated, as the legacy name is
// written) and says whether it was there.
bool consume_single_header(std::string_view text, std::size_t& pos) {
  std::size_t at = pos;
  for (std::string_view word : {std::string_view("single"), std::string_view("header")}) {
    if (at >= text.size() || !is_blank(text[at])) return false;
    while (at < text.size() && is_blank(text[at])) ++at;
    const std::size_t begin = at;
    while (at < text.size() && !is_separator(text[at])) ++at;
    if (!iequals(text.substr(begin, at - begin), word)) return false;
  }
  pos = at;
  return true;
}

}  // namespace

bool PropagationStyles::contains(PropagationStyle style) const {
  return std::find(begin(), end(), style) != end();
}

void PropagationStyles::add(PropagationStyle style) {
  if (contains(style) || count == items.size()) return;
  items[count++] = style;
}

StylesParse parse_propagation_styles(std::string_view text) {
  StylesParse result;
  bool saw_any = false;
  std::size_t pos = 0;
  for (std::string_view token = next_token(text, pos); !token.empty(); token = next_token(text, pos)) {
    saw_any = true;
    if (iequals(token, "datadog")) {
      result.styles.add(PropagationStyle::datadog);
    } else if (iequals(token, "tracecontext")) {
      result.styles.add(PropagationStyle::tracecontext);
    } else if (iequals(token, "b3")) {
      result.styles.add(consume_single_header(text, pos) ? PropagationStyle::b3single : PropagationStyle::b3);
    } else if (iequals(token, "b3multi")) {
      result.styles.add(PropagationStyle::b3multi);
    } else if (iequals(token, "b3single")) {
      result.styles.add(PropagationStyle::b3single);
    } else if (iequals(token, "baggage")) {
      result.styles.add(PropagationStyle::baggage);
    } else if (iequals(token, "none")) {
      // Means "no style": contributes nothing.
    } else {
      result.error = "unknown propagation style \"";
      result.error += token;
      result.error +=
          "\" (expected datadog, tracecontext, b3, b3multi, \"b3 single header\", baggage or none)";
      result.styles = {};
      return result;
    }
  }
  if (!saw_any) {
    result.error =
        "empty propagation style list (expected datadog, tracecontext, b3, b3multi, \"b3 single header\", "
        "baggage or none)";
  }
  return result;
}

PropagationStyles default_propagation_styles() {
  PropagationStyles styles;
  styles.add(PropagationStyle::datadog);
  styles.add(PropagationStyle::tracecontext);
  styles.add(PropagationStyle::baggage);
  return styles;
}

std::string_view to_string(PropagationStyle style) {
  switch (style) {
    case PropagationStyle::datadog:
      return "datadog";
    case PropagationStyle::tracecontext:
      return "tracecontext";
    case PropagationStyle::b3:
      return "b3";
    case PropagationStyle::b3multi:
      return "b3multi";
    case PropagationStyle::b3single:
      return "b3 single header";
    case PropagationStyle::baggage:
      return "baggage";
    case PropagationStyle::none:
      break;
  }
  return "none";
}

}  // namespace datadog::trace
