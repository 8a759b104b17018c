// Query-string obfuscation of the `http.url` tag (PROTOCOLS.md section 2), as
// Datadog's tracers do it: every match of a regex in the query becomes "<redacted>".
#pragma once

#include <string_view>

#include "module/nginx.hpp"

#if !(NGX_PCRE)
#error "query-string obfuscation needs nginx built with PCRE (ngx_regex)"
#endif

namespace datadog::module {

// The tracers' default DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP: passwords,
// pass phrases, secrets, API/access/private keys, tokens, signatures,
// authorization values, bearer tokens, GitHub tokens, JWTs, private keys.
extern const std::string_view default_query_string_regex;

// Lives in the http-level configuration; compiled once, in the master, when
// the configuration loads. Workers only read it.
struct UrlObfuscation {
  ngx_regex_t* regex = nullptr;  // null: the query string is reported as it is
  bool configured = false;       // the directive was given: it wins over the environment
};

// datadog_obfuscation_query_string_regex <regex>; "" disables obfuscation.
// Writes the UrlObfuscation at cmd->offset of the http-level configuration.
char* set_url_obfuscation(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;

// At the end of the http block: without the directive,
// DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP (set but empty disables), else the
// default. A regex that does not compile is an error, logged with nginx's
// PCRE message; returns NGX_CONF_OK or NGX_CONF_ERROR.
char* init_url_obfuscation(ngx_conf_t* cf, UrlObfuscation& conf) noexcept;

// `url` with every match of the regex in its query (what follows the first
// '?') replaced with "<redacted>", matched case-insensitively. The result is
// in r->pool; it is `url` itself when nothing matched or there is no query
// (then nothing is allocated), and `url` without its query when the regex
// fails on it or memory runs out: never the query unobfuscated.
std::string_view obfuscate_url(ngx_http_request_t* r, const UrlObfuscation& conf,
                               std::string_view url) noexcept;

}  // namespace datadog::module
