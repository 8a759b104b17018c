// The regex is compiled by nginx's ngx_regex (PCRE2) into the configuration's
// pool, so nginx frees it (and JIT-compiles it under `pcre_jit on`) with every
// other regex of the configuration. Per request: one ngx_regex_exec per match,
// plus the one that finds no more; none at all without a query string.
#include "module/url_obfuscation.hpp"

#include <algorithm>
#include <cstdlib>

#include "module/str_view.hpp"

namespace datadog::module {

// As dd-trace-php, dd-trace-go and the Datadog documentation give it (PCRE
// syntax: dd-trace-php runs it with PCRE too). Split only for reading.
const std::string_view default_query_string_regex =
    // A sensitive key, possibly quoted ...
    R"re((?i)(?:(?:"|%22)?)(?:(?:old[-_]?|new[-_]?)?p(?:ass)?w(?:or)?d(?:1|2)?|pass(?:[-_]?phrase)?|secret|)re"
    R"re((?:api[-_]?|private[-_]?|public[-_]?|access[-_]?|secret[-_]?|app(?:lication)?[-_]?)key(?:[-_]?id)?|)re"
    R"re(token|consumer[-_]?(?:id|key|secret)|sign(?:ed|ature)?|auth(?:entication|orization)?))re"
    // ... with its value, as key=value or "key":"value" ...
    R"re((?:(?:\s|%20)*(?:=|%3D)[^&]+|(?:"|%22)(?:\s|%20)*(?::|%3A)(?:\s|%20)*(?:"|%22)(?:%2[^2]|%[^2]|[^"%])+(?:"|%22))|)re"
    // ... or a value that is a secret by its shape: bearer token, token:<13>,
    // GitHub token, JWT, PEM private key, SSH public key.
    R"re((?:bearer(?:\s|%20)+[a-z0-9._\-]+|token(?::|%3A)[a-z0-9]{13}|gh[opsu]_[0-9a-zA-Z]{36}|)re"
    R"re(ey[I-L](?:[\w=-]|%3D)+\.ey[I-L](?:[\w=-]|%3D)+(?:\.(?:[\w.+/=-]|%3D|%2F|%2B)+)?|)re"
    R"re(-{5}BEGIN(?:[a-z\s]|%20)+PRIVATE(?:\s|%20)KEY-{5}[^\-]+-{5}END(?:[a-z\s]|%20)+PRIVATE(?:\s|%20)KEY(?:-{5})?(?:\n|%0A)?|)re"
    R"re((?:ssh-(?:rsa|dss)|ecdsa-[a-z0-9]+-[a-z0-9]+)(?:\s|%20|%09)+(?:[a-z0-9/.+]|%2F|%5C|%2B){100,}(?:=|%3D)*)re"
    R"re((?:(?:\s|%20|%09)+[a-z0-9._-]+)?))re";

namespace {

constexpr std::string_view environment_variable = "DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP";
constexpr std::string_view redacted = "<redacted>";

// Compiles `pattern` case-insensitively (as the tracers do), into cf->pool.
// `pattern` must stay in memory as long as the configuration: nginx keeps a
// pointer to it for its JIT log lines. On failure, logs nginx's PCRE message
// after `what` and returns false.
bool compile(ngx_conf_t* cf, std::string_view pattern, const char* what, ngx_regex_t** regex) noexcept {
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
  *regex = rc.regex;
  return true;
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
  if (!compile(cf, to_string_view(args[1]), "query-string obfuscation regex", &obfuscation.regex)) {
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  return NGX_CONF_OK;
}

char* init_url_obfuscation(ngx_conf_t* cf, UrlObfuscation& conf) noexcept {
  if (conf.configured) return NGX_CONF_OK;
  conf.configured = true;
  const char* value = std::getenv(environment_variable.data());
  if (value == nullptr) {
    return compile(cf, default_query_string_regex, "default query-string obfuscation regex", &conf.regex)
               ? NGX_CONF_OK
               : static_cast<char*>(NGX_CONF_ERROR);
  }
  if (*value == '\0') return NGX_CONF_OK;  // set but empty disables obfuscation, as in the tracers
  const std::string_view pattern = copy_to_pool(cf->pool, value);
  if (pattern.data() == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
  return compile(cf, pattern, environment_variable.data(), &conf.regex) ? NGX_CONF_OK
                                                                        : static_cast<char*>(NGX_CONF_ERROR);
}

std::string_view obfuscate_url(ngx_http_request_t* r, const UrlObfuscation& conf,
                               std::string_view url) noexcept {
  if (conf.regex == nullptr) return url;
  const std::size_t question = url.find('?');
  if (question == std::string_view::npos || question + 1 == url.size()) return url;
  // What is reported when obfuscation cannot finish: never a query that may
  // hold a secret.
  const std::string_view without_query = url.substr(0, question);

  PoolText out(r->pool, url.size() + redacted.size());
  std::size_t copied = 0;           // url[0, copied) is in `out`; 0 until the first match
  std::size_t from = question + 1;  // where the next search starts
  while (from <= url.size()) {
    // ngx_regex_exec has no start offset: the search runs on the rest of the
    // query, so `^` and lookbehinds see `from` as the start of the subject.
    ngx_str_t rest = to_ngx_str(url.substr(from));
    int captures[3];  // the whole match; PCRE wants a multiple of 3
    const ngx_int_t rc = ngx_regex_exec(conf.regex, &rest, captures, 3);
    if (rc == NGX_REGEX_NO_MATCHED) break;
    if (rc < 0) {
      // Input-dependent (e.g. PCRE2's match limit): client-caused, so info level.
      ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                    "datadog: " ngx_regex_exec_n
                    " failed: %i on the query string; http.url is reported without it",
                    rc);
      return without_query;
    }
    const std::size_t start = from + static_cast<std::size_t>(captures[0]);
    const std::size_t end = from + static_cast<std::size_t>(captures[1]);
    if (!out.append(url.substr(copied, start - copied)) || !out.append(redacted)) return without_query;
    copied = end;  // never 0 again: matches start after the '?'
    // After an empty match the search moves on by one character, so the loop
    // always advances (the skipped character is copied with the next piece).
    from = end > start ? end : end + 1;
  }
  if (copied == 0) return url;
  if (!out.append(url.substr(copied))) return without_query;
  return out.view();
}

}  // namespace datadog::module
