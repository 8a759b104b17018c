// Query-string obfuscation of the `http.url` tag (PROTOCOLS.md section 2), as
// Datadog's tracers do it: every match of a regex in the query becomes "<redacted>".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "module/nginx.hpp"
#include "trace/query_obfuscation_regex.hpp"

#if !(NGX_PCRE)
#error "query-string obfuscation needs nginx built with PCRE (ngx_regex)"
#endif

namespace datadog::module {

// A query longer than this is not searched: the whole query is reported as
// "<redacted>". The bound keeps a worker's CPU per request small whatever the
// query holds (a backtracking regex can cost the square of the input's length
// or more: the tracers' default does on a run of "eyJ"), and a query this long
// is rare.
inline constexpr std::size_t max_obfuscated_query_size = 4096;

// PCRE2's match limit for one search: the number of backtracking steps from
// one start position, far above what the default regex needs on a query of
// max_obfuscated_query_size. An exhausted limit (a pathological pattern)
// reports the query as "<redacted>".
inline constexpr std::uint32_t obfuscation_match_limit = 100000;

// Lives in the http-level configuration; compiled once, in the master, when
// the configuration loads, and JIT-compiled whatever `pcre_jit` says (with
// PCRE2; nginx built with the old PCRE gets ngx_regex, without the limits). Workers
// only read it (each has its own copy of the match data after the fork).
struct UrlObfuscation {
#if (NGX_PCRE2)
  pcre2_code* regex = nullptr;                   // null: the query string is reported as it is
  pcre2_match_context* match_context = nullptr;  // the limits and the JIT stack
  pcre2_match_data* match_data = nullptr;        // one pair of offsets: the whole match
#else
  ngx_regex_t* regex = nullptr;
#endif
  bool configured = false;  // the directive was given: it wins over the environment
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
// (then nothing is allocated). The query is reported as "<redacted>" as a
// whole when it is longer than max_obfuscated_query_size or when the search
// fails (a PCRE2 limit, an error), and the URL without its query when memory
// runs out: never the query unobfuscated.
std::string_view obfuscate_url(ngx_http_request_t* r, const UrlObfuscation& conf,
                               std::string_view url) noexcept;

}  // namespace datadog::module
