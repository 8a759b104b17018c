// With PCRE2 (the nginx of Debian and of nginx.org), the regex is compiled,
// JIT-compiled whatever `pcre_jit` says, and searched with PCRE2 directly,
// under a match context of our own (limits, JIT stack): ngx_regex_exec applies
// none. Per request: one pcre2_match per match, plus the one that finds no
// more; none at all without a query string, or with one too long to search.
#include "module/url_obfuscation.hpp"

#include <algorithm>
#include <cstdlib>

#include "module/environment.hpp"
#include "module/str_view.hpp"

namespace datadog::module {

namespace {

constexpr std::string_view obfuscation_variable = "DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP";
constexpr std::string_view redacted = "<redacted>";

#if (NGX_PCRE2)
// PCRE2's limits for the interpreter, used when JIT is not available: the
// backtracking depth, and the heap it may use for it, in KiB.
constexpr std::uint32_t interpreter_depth_limit = 10000;
constexpr std::uint32_t interpreter_heap_limit_kib = 1024;
// The JIT's stack: what the default regex needs on the longest query is far
// less; a user's regex with a group repeated once per character needs about
// this much for max_obfuscated_query_size.
constexpr std::size_t jit_stack_start_size = 32 * 1024;
constexpr std::size_t jit_stack_max_size = 1024 * 1024;

// What a search needs, made once per configuration with PCRE2's own
// allocator (ngx_regex's allocates from a pool only while nginx compiles, so
// a regex it compiled cannot be JIT-compiled afterwards), freed with cf->pool.
struct SearchState {
  pcre2_code* regex;
  pcre2_match_context* match_context;
  pcre2_match_data* match_data;
  pcre2_jit_stack* jit_stack;
};

void free_search_state(void* data) noexcept {
  auto* state = static_cast<SearchState*>(data);
  pcre2_match_data_free(state->match_data);
  pcre2_match_context_free(state->match_context);
  pcre2_jit_stack_free(state->jit_stack);
  pcre2_code_free(state->regex);
}

// Compiles `pattern` case-insensitively (as the tracers do), JIT-compiles it
// and makes the match context and data its searches use. A regex that cannot
// be JIT-compiled (no JIT on this platform, memory that may not be
// executable) runs interpreted, under the interpreter's limits. On failure,
// logs PCRE2's message after `what` and returns false.
bool compile(ngx_conf_t* cf, std::string_view pattern, const char* what, UrlObfuscation& conf) noexcept {
  ngx_pool_cleanup_t* cleanup = ngx_pool_cleanup_add(cf->pool, sizeof(SearchState));
  if (cleanup == nullptr) return false;
  auto* state = static_cast<SearchState*>(cleanup->data);
  *state = {};
  cleanup->handler = free_search_state;

  int error = 0;
  PCRE2_SIZE error_offset = 0;
  state->regex = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_CASELESS,
                               &error, &error_offset, nullptr);
  if (state->regex == nullptr) {
    u_char message[NGX_MAX_CONF_ERRSTR];
    if (pcre2_get_error_message(error, message, sizeof(message)) < 0) message[0] = '\0';
    const ngx_str_t text = to_ngx_str(pattern);
    // As nginx words it for its own regexes.
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid %s: pcre2_compile() failed: %s in \"%V\" at \"%*s\"",
                       what, message, &text,
                       static_cast<std::size_t>(pattern.size() - std::min(error_offset, pattern.size())),
                       pattern.data() + std::min(error_offset, pattern.size()));
    return false;
  }
  state->match_context = pcre2_match_context_create(nullptr);
  state->match_data = pcre2_match_data_create(1, nullptr);
  if (state->match_context == nullptr || state->match_data == nullptr) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "out of memory preparing the %s", what);
    return false;
  }
  pcre2_set_match_limit(state->match_context, obfuscation_match_limit);
  pcre2_set_depth_limit(state->match_context, interpreter_depth_limit);
  pcre2_set_heap_limit(state->match_context, interpreter_heap_limit_kib);
  const int jit = pcre2_jit_compile(state->regex, PCRE2_JIT_COMPLETE);
  if (jit == 0) {
    state->jit_stack = pcre2_jit_stack_create(jit_stack_start_size, jit_stack_max_size, nullptr);
    // Without it, PCRE2 uses 32 KiB of the machine stack: still bounded.
    if (state->jit_stack != nullptr) pcre2_jit_stack_assign(state->match_context, nullptr, state->jit_stack);
  } else {
    ngx_conf_log_error(NGX_LOG_NOTICE, cf, 0, "the %s runs without JIT (pcre2_jit_compile() failed: %d)",
                       what, jit);
  }
  conf.regex = state->regex;
  conf.match_context = state->match_context;
  conf.match_data = state->match_data;
  return true;
}
#else
// Compiles `pattern` case-insensitively (as the tracers do), into cf->pool.
// `pattern` must stay in memory as long as the configuration: nginx keeps a
// pointer to it for its JIT log lines. On failure, logs nginx's PCRE message
// after `what` and returns false.
bool compile(ngx_conf_t* cf, std::string_view pattern, const char* what, UrlObfuscation& conf) noexcept {
  u_char error[NGX_MAX_CONF_ERRSTR];
  ngx_regex_compile_t rc;
  ngx_memzero(&rc, sizeof(rc));
  rc.pattern = to_ngx_str(pattern);
  rc.pool = cf->pool;
  rc.options = NGX_REGEX_CASELESS;
  rc.err.len = NGX_MAX_CONF_ERRSTR;
  rc.err.data = error;
  if (ngx_regex_compile(&rc) != NGX_OK) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid %s: %V", what, &rc.err);
    return false;
  }
  conf.regex = rc.regex;
  return true;
}
#endif

// The first match of the regex in `query` at or after `from`: 1 and its
// bounds, 0 for none, a negative PCRE error code when the search failed.
int find_match(const UrlObfuscation& conf, std::string_view query, std::size_t from, std::size_t* start,
               std::size_t* end) noexcept {
#if (NGX_PCRE2)
  const int rc = pcre2_match(conf.regex, reinterpret_cast<PCRE2_SPTR>(query.data()), query.size(), from, 0,
                             conf.match_data, conf.match_context);
  if (rc == PCRE2_ERROR_NOMATCH) return 0;
  if (rc < 0) return rc;
  const PCRE2_SIZE* offsets = pcre2_get_ovector_pointer(conf.match_data);
  *start = offsets[0];
  *end = offsets[1];
  return 1;
#else
  // ngx_regex_exec has no start offset: the search runs on the rest of the
  // query, so `^` and lookbehinds see `from` as the start of the subject.
  ngx_str_t rest = to_ngx_str(query.substr(from));
  int captures[3];  // the whole match; PCRE wants a multiple of 3
  const ngx_int_t rc = ngx_regex_exec(conf.regex, &rest, captures, 3);
  if (rc == NGX_REGEX_NO_MATCHED) return 0;
  if (rc < 0) return static_cast<int>(rc);
  *start = from + static_cast<std::size_t>(captures[0]);
  *end = from + static_cast<std::size_t>(captures[1]);
  return 1;
#endif
}

// A copy in the configuration's pool, NUL-terminated (nginx prints the
// pattern with "%s").
std::string_view copy_to_pool(ngx_pool_t* pool, std::string_view text) noexcept {
  auto* data = static_cast<char*>(ngx_pnalloc(pool, text.size() + 1));
  if (data == nullptr) return {};
  ngx_memcpy(data, text.data(), text.size());
  data[text.size()] = '\0';
  return {data, text.size()};
}

// The obfuscated URL under construction, in the request pool. Allocated at the
// first match, sized for the usual case (matches are longer than
// "<redacted>"); it grows by doubling, an outgrown block staying in the pool
// until the request ends.
class PoolText {
 public:
  PoolText(ngx_pool_t* pool, std::size_t capacity) noexcept : pool_(pool), capacity_(capacity) {}

  bool append(std::string_view piece) noexcept {
    if (data_ == nullptr || size_ + piece.size() > capacity_) {
      const std::size_t capacity =
          std::max(data_ == nullptr ? capacity_ : 2 * capacity_, size_ + piece.size());
      auto* grown = static_cast<char*>(ngx_pnalloc(pool_, capacity));
      if (grown == nullptr) return false;
      if (size_ != 0) ngx_memcpy(grown, data_, size_);
      data_ = grown;
      capacity_ = capacity;
    }
    if (!piece.empty()) ngx_memcpy(data_ + size_, piece.data(), piece.size());
    size_ += piece.size();
    return true;
  }

  std::string_view view() const noexcept { return {data_, size_}; }

 private:
  ngx_pool_t* pool_;
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_;
};

}  // namespace

char* set_url_obfuscation(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto& obfuscation = *reinterpret_cast<UrlObfuscation*>(static_cast<char*>(conf) + cmd->offset);
  if (obfuscation.configured) return const_cast<char*>("is duplicate");
  const auto* args = static_cast<ngx_str_t*>(cf->args->elts);
  obfuscation.configured = true;
  if (args[1].len == 0) return NGX_CONF_OK;  // "" disables obfuscation
  // nginx's arguments are NUL-terminated and live as long as the configuration.
  if (!compile(cf, to_string_view(args[1]), "query-string obfuscation regex", obfuscation)) {
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  return NGX_CONF_OK;
}

char* init_url_obfuscation(ngx_conf_t* cf, UrlObfuscation& conf) noexcept {
  if (conf.configured) return NGX_CONF_OK;
  conf.configured = true;
  const auto value = environment_variable(cf, obfuscation_variable);
  if (!value) {
    return compile(cf, trace::default_query_string_regex, "default query-string obfuscation regex", conf)
               ? NGX_CONF_OK
               : static_cast<char*>(NGX_CONF_ERROR);
  }
  if (value->empty()) return NGX_CONF_OK;  // set but empty disables obfuscation, as in the tracers
  const std::string_view pattern = copy_to_pool(cf->pool, *value);
  if (pattern.data() == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
  return compile(cf, pattern, obfuscation_variable.data(), conf) ? NGX_CONF_OK
                                                                 : static_cast<char*>(NGX_CONF_ERROR);
}

namespace {

// `url` up to its query, then "?<redacted>", in r->pool; without the query
// when memory runs out.
std::string_view with_query_redacted(ngx_http_request_t* r, std::string_view url,
                                     std::size_t question) noexcept {
  PoolText out(r->pool, question + 1 + redacted.size());
  if (!out.append(url.substr(0, question + 1)) || !out.append(redacted)) return url.substr(0, question);
  return out.view();
}

}  // namespace

std::string_view obfuscate_url(ngx_http_request_t* r, const UrlObfuscation& conf,
                               std::string_view url) noexcept {
  if (conf.regex == nullptr) return url;
  const std::size_t question = url.find('?');
  if (question == std::string_view::npos || question + 1 == url.size()) return url;
  const std::string_view query = url.substr(question + 1);
  if (query.size() > max_obfuscated_query_size) {
    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "datadog: a query string of %uz bytes is too long to obfuscate; http.url has it redacted",
                   query.size());
    return with_query_redacted(r, url, question);
  }

  PoolText out(r->pool, url.size() + redacted.size());
  std::size_t copied = 0;  // query[0, copied) is in `out` (after the URL up to the '?')
  std::size_t from = 0;    // where the next search starts
  bool matched = false;
  while (from <= query.size()) {
    std::size_t start = 0;
    std::size_t end = 0;
    const int rc = find_match(conf, query, from, &start, &end);
    if (rc == 0) break;
    if (rc < 0) {
      // Input-dependent (e.g. PCRE2's match limit): client-caused, so info level.
      ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                    "datadog: " ngx_regex_exec_n " failed: %d on the query string; http.url has it redacted",
                    rc);
      return with_query_redacted(r, url, question);
    }
    if (!matched && !out.append(url.substr(0, question + 1))) return url.substr(0, question);
    matched = true;
    if (!out.append(query.substr(copied, start - copied)) || !out.append(redacted)) {
      return url.substr(0, question);
    }
    copied = end;
    // After an empty match the search moves on by one character, so the loop
    // always advances (the skipped character is copied with the next piece).
    from = end > start ? end : end + 1;
  }
  if (!matched) return url;
  if (!out.append(query.substr(copied))) return url.substr(0, question);
  return out.view();
}

}  // namespace datadog::module
