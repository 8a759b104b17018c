// Content-Security-Policy support for the RUM snippet: which nonce our inline
// <script> can carry, and the smallest amendment of a policy under which the
// loader, the SDK it inserts and the SDK's intake requests are allowed.
// Applies to Content-Security-Policy and Content-Security-Policy-Report-Only
// alike.
#pragma once

#include <string>
#include <string_view>

namespace datadog::rum {

// What our script needs from a policy. An empty (or malformed) value is a need
// that is never added: a value can only be added if it is one source
// expression (printable ASCII without ';' or ','), and the hash only if it is
// a hash-source.
struct CspNeeds {
  std::string_view script_hash;    // "'sha256-<base64>'" of our inline script
  std::string_view sdk_origin;     // e.g. "https://www.datadoghq-browser-agent.com"
  std::string_view intake_origin;  // e.g. "https://browser-intake-datadoghq.com", or "'self'"
  bool worker_blob = false;        // session replay: needs worker-src blob:
};

// The nonce our <script> should carry: the first 'nonce-…' value offered to
// inline script elements (effective directive: script-src-elem, else
// script-src, else default-src) by the first policy of the header value that
// offers one. Returns the bare nonce value (without 'nonce-' and quotes), a
// view into header_value made of base64 characters only (safe inside an HTML
// attribute), or empty.
std::string_view find_script_nonce(std::string_view header_value);

struct CspAmendment {
  bool changed = false;
  std::string value;  // the whole new header value when changed, else empty
};

// header_value may hold several policies separated by ','; each is enforced on
// its own and amended on its own. our_nonce: the nonce our script carries (may
// be empty). Directives left alone are kept byte for byte; a header holding a
// control character (other than tab) or a non-ASCII byte is left alone whole.
CspAmendment amend_csp(std::string_view header_value, std::string_view our_nonce, const CspNeeds& needs);

}  // namespace datadog::rum
