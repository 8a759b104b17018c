// Eligibility rules: PROTOCOLS.md section 5 and the RUM issue's list.
#include "rum/eligibility.hpp"

#include <array>
#include <initializer_list>

namespace datadog::rum {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_lowercase(std::string_view text, std::string_view lowercase) {
  if (text.size() != lowercase.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (lower(text[i]) != lowercase[i]) return false;
  }
  return true;
}

bool starts_with_lowercase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && equals_lowercase(text.substr(0, prefix.size()), prefix);
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string_view skip_reason_name(SkipReason reason) {
  static constexpr std::array<std::string_view, kSkipReasonCount> names = {
      "eligible",     "head_request", "status", "not_html",  "empty",          "no_transform",
      "already_done", "encoding",     "range",  "not_ascii", "not_compressed", "look_ahead_exceeded",
  };
  const auto index = static_cast<std::size_t>(reason);
  return index < names.size() ? names[index] : "unknown";
}

bool is_html_media_type(std::string_view content_type) {
  const std::size_t semicolon = content_type.find(';');
  return equals_lowercase(trim(content_type.substr(0, semicolon)), "text/html");
}

bool has_ascii_compatible_charset(std::string_view content_type) {
  std::size_t semicolon = content_type.find(';');
  while (semicolon != std::string_view::npos) {
    content_type.remove_prefix(semicolon + 1);
    semicolon = content_type.find(';');
    const std::string_view parameter = trim(content_type.substr(0, semicolon));
    const std::size_t equals = parameter.find('=');
    if (equals == std::string_view::npos || !equals_lowercase(trim(parameter.substr(0, equals)), "charset")) {
      continue;
    }
    std::string_view charset = trim(parameter.substr(equals + 1));
    if (charset.size() >= 2 && charset.front() == '"' && charset.back() == '"') {
      charset = charset.substr(1, charset.size() - 2);
    }
    for (std::string_view wide : {"utf-16", "utf-32", "utf16", "utf32", "ucs-2", "ucs-4", "ucs2", "ucs4"}) {
      if (starts_with_lowercase(charset, wide)) return false;
    }
  }
  return true;
}

BodyEncoding classify_encoding(std::string_view content_encoding) {
  const std::string_view coding = trim(content_encoding);
  if (coding.empty() || equals_lowercase(coding, "identity")) return BodyEncoding::identity;
  if (equals_lowercase(coding, "gzip") || equals_lowercase(coding, "x-gzip")) return BodyEncoding::gzip;
  if (equals_lowercase(coding, "deflate")) return BodyEncoding::deflate;
  // Several codings ("gzip, br") or anything else: not ours to undo.
  return BodyEncoding::unsupported;
}

bool has_no_transform(std::string_view cache_control) {
  while (!cache_control.empty()) {
    const std::size_t comma = cache_control.find(',');
    std::string_view directive = trim(cache_control.substr(0, comma));
    directive = trim(directive.substr(0, directive.find('=')));
    if (equals_lowercase(directive, "no-transform")) return true;
    if (comma == std::string_view::npos) break;
    cache_control.remove_prefix(comma + 1);
  }
  return false;
}

SkipReason decide_eligibility(const ResponseFacts& facts) {
  if (facts.head_request) return SkipReason::head_request;
  const unsigned status = facts.status;
  const bool success = status >= 200 && status < 300 && status != 204 && status != 206;
  const bool error_page = status >= 400 && status < 600;
  if (!success && !error_page) return SkipReason::status;
  if (!is_html_media_type(facts.content_type)) return SkipReason::not_html;
  if (facts.content_length == 0) return SkipReason::empty;
  if (facts.no_transform) return SkipReason::no_transform;
  if (facts.already_injected) return SkipReason::already_done;
  if (!has_ascii_compatible_charset(facts.content_type)) return SkipReason::not_ascii;
  if (classify_encoding(facts.content_encoding) == BodyEncoding::unsupported) return SkipReason::encoding;
  if (facts.range_request) return SkipReason::range;
  return SkipReason::eligible;
}

}  // namespace datadog::rum
