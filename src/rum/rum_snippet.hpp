// The inline script that loads Datadog's RUM browser SDK and initialises it with
// the options of a datadog_rum_config block, built once at configuration load.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace datadog::rum {

// One `"key" "value" ...;` line of the block.
struct RumOption {
  std::string key;
  std::vector<std::string> values;
};

struct RumSnippet {
  int major = 5;
  std::string script_body;  // JS text between <script> and </script> (the caller writes the tags)
  std::string script_hash;  // CSP source expression of script_body: "'sha256-<base64>'"
  std::string sdk_url;      // URL the snippet loads
  std::string sdk_origin;   // scheme://host[:port] of sdk_url, or "'self'" for a path; for script-src
  // Where the SDK sends events, for connect-src: "https://browser-intake-<...>" by site, the origin
  // of an absolute "proxy" option, or "'self'" for a relative one.
  std::string intake_origin;
  bool session_replay = false;  // sessionReplaySampleRate > 0: CSP then needs worker-src blob:
};

// version: "v5", "v6" or "v7". sdk_url_override: empty, or an http(s) URL or a path starting with
// one "/" (self-hosted SDK) loaded instead of Datadog's CDN.
//
// Each option becomes a member of the init object, in the block's order, typed after the SDK's
// RumInitConfiguration for that major: numbers from 0 to 100 for sample rates (also unknown keys
// ending in "SampleRate"), true/false for booleans, arrays for list options (one value is a
// one-element array; a value that is a JSON array literal contributes its elements), a JSON
// object literal for object options, strings otherwise. In arrays and for unknown keys, a value
// starting with "{" or "[" is taken as JSON. Unknown keys pass through as strings; a key that only
// other majors know is an error.
//
// Returns the snippet, or the sentence `nginx -t` prints, saying what was expected and what was
// found. Never throws.
std::variant<RumSnippet, std::string> build_rum_snippet(std::string_view version,
                                                        const std::vector<RumOption>& options,
                                                        std::string_view sdk_url_override) noexcept;

}  // namespace datadog::rum
