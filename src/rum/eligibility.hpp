// Whether a response may carry the RUM snippet, decided from plain facts about
// its header (the nginx glue reads them out of headers_out).
#pragma once

#include <cstdint>
#include <string_view>

namespace datadog::rum {

// Why a response is left alone; `eligible` when it is not. The names are what
// the status endpoint and the debug log show.
enum class SkipReason : std::uint8_t {
  eligible,
  head_request,  // HEAD: no body to inject into
  status,        // 1xx, 204, 206, 3xx (incl. 304)
  not_html,      // media type other than text/html
  empty,         // Content-Length: 0
  no_transform,  // Cache-Control: no-transform
  already_done,  // x-datadog-rum-injected: 1 from upstream
  encoding,      // a Content-Encoding we cannot decode
  range,         // a byte-range request nginx answers from the original bytes
  not_ascii,     // charset=utf-16/utf-32, or a body starting with a UTF-16/32 BOM or NUL
  // Decided from the body (the header waits for the look-ahead, look_ahead.hpp):
  not_compressed,       // the body is not what its Content-Encoding says (or is corrupt early)
  look_ahead_exceeded,  // no injection point in the first kLookAheadLimit bytes
  count_,
};
inline constexpr std::size_t kSkipReasonCount = static_cast<std::size_t>(SkipReason::count_);
std::string_view skip_reason_name(SkipReason reason);

// How the body arrives: as is, or compressed in a way the filter decodes.
enum class BodyEncoding : std::uint8_t { identity, gzip, deflate, unsupported };

struct ResponseFacts {
  bool head_request = false;
  unsigned status = 200;
  std::string_view content_type;      // the header's value, parameters included
  std::int64_t content_length = -1;   // -1 when unknown
  std::string_view content_encoding;  // empty when absent
  bool no_transform = false;          // from every Cache-Control value (see has_no_transform)
  bool already_injected = false;      // x-datadog-rum-injected: 1
  bool range_request = false;         // nginx itself would answer a Range header with 206
};

bool is_html_media_type(std::string_view content_type);
// False for a charset parameter naming UTF-16 or UTF-32 (any byte order), whose
// bytes the ASCII tag scanner cannot read and an ASCII snippet would corrupt.
bool has_ascii_compatible_charset(std::string_view content_type);
BodyEncoding classify_encoding(std::string_view content_encoding);
// True when a Cache-Control value lists the no-transform directive.
bool has_no_transform(std::string_view cache_control);
SkipReason decide_eligibility(const ResponseFacts& facts);

}  // namespace datadog::rum
