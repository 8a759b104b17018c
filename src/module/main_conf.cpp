// The agent's address is resolved once, when the configuration loads (in the
// master, where a blocking lookup is acceptable); workers only connect.
#include "module/main_conf.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <variant>

#include "agent/agent_url.hpp"
#include "module/environment.hpp"
#include "module/span_tags.hpp"
#include "module/str_view.hpp"

extern ngx_module_t ngx_http_datadog_module;

namespace datadog::module {
namespace {

constexpr std::string_view default_agent_url = "http://localhost:8126";

// DD_TRACE_AGENT_URL, else DD_AGENT_HOST / DD_TRACE_AGENT_PORT, else the default;
// the directive, when present, wins over all of them.
std::string agent_url_from_environment(const ngx_conf_t* cf) {
  if (const auto url = nonempty_environment_variable(cf, "DD_TRACE_AGENT_URL")) return std::string(*url);
  const auto host = nonempty_environment_variable(cf, "DD_AGENT_HOST");
  const auto port = nonempty_environment_variable(cf, "DD_TRACE_AGENT_PORT");
  if (!host && !port) return std::string(default_agent_url);
  std::string url = "http://";
  std::string_view host_text = host ? *host : "localhost";
  const bool ipv6 = host_text.find(':') != std::string_view::npos;
  if (ipv6) url += '[';
  url += host_text;
  if (ipv6) url += ']';
  if (port) {
    url += ':';
    url += *port;
  }
  return url;
}

ngx_str_t copy_to_pool(ngx_pool_t* pool, std::string_view text) {
  ngx_str_t out{0, nullptr};
  auto* data = static_cast<u_char*>(ngx_pnalloc(pool, text.size() + 1));
  if (data == nullptr) return out;
  ngx_memcpy(data, text.data(), text.size());
  data[text.size()] = '\0';
  out.data = data;
  out.len = text.size();
  return out;
}

// Parses and resolves `url` into `conf`. Returns an error sentence, or "" on
// success. A host that does not resolve is not an error: the agent may start
// after nginx; spans are counted as dropped until it can be reached.
std::string resolve_agent(ngx_conf_t* cf, MainConf* conf, std::string_view url) {
  const auto parsed = agent::parse_agent_url(url);
  if (!parsed.ok()) {
    return parsed.error;
  }
  std::string nginx_form;
  std::string host_header;
  if (const auto* unix_socket = std::get_if<agent::UnixEndpoint>(&parsed.endpoint)) {
    nginx_form = "unix:" + unix_socket->path;
    host_header = "localhost";
  } else {
    const auto& tcp = std::get<agent::TcpEndpoint>(parsed.endpoint);
    const bool ipv6 = tcp.host.find(':') != std::string::npos;
    host_header = (ipv6 ? "[" + tcp.host + "]" : tcp.host) + ":" + std::to_string(tcp.port);
    nginx_form = host_header;
    in6_addr ignored;
    const bool literal = ipv6 || inet_pton(AF_INET, tcp.host.c_str(), &ignored) == 1;
    conf->agent_host_name = literal ? ngx_str_t{0, nullptr} : copy_to_pool(cf->pool, tcp.host);
    conf->agent_port = tcp.port;
  }

  conf->agent_url = copy_to_pool(cf->pool, url);
  conf->agent_host_header = copy_to_pool(cf->pool, host_header);
  ngx_url_t u;
  ngx_memzero(&u, sizeof(u));
  u.url = copy_to_pool(cf->pool, nginx_form);
  u.default_port = agent::default_agent_port;
  if (u.url.data == nullptr || conf->agent_url.data == nullptr || conf->agent_host_header.data == nullptr) {
    return "out of memory";
  }
  if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
    ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                       "datadog: the agent host in \"%V\" does not resolve now%s%s; spans are dropped "
                       "until it does",
                       &conf->agent_url, u.err ? ": " : "", u.err ? u.err : "");
    conf->agent_addresses = nullptr;
    conf->agent_address_count = 0;
    return "";
  }
  conf->agent_addresses = u.addrs;
  conf->agent_address_count = u.naddrs;
  return "";
}

}  // namespace

void* create_main_conf(ngx_conf_t* cf) noexcept {
  void* memory = ngx_pcalloc(cf->pool, sizeof(MainConf));
  if (memory == nullptr) return nullptr;
  auto* conf = new (memory) MainConf{};
  ngx_pool_cleanup_t* cleanup = ngx_pool_cleanup_add(cf->pool, 0);
  if (cleanup == nullptr) return nullptr;
  try {
    conf->sampler_config = new trace::SamplerConfig{};
  } catch (...) {
    return nullptr;
  }
  cleanup->handler = [](void* data) { delete static_cast<trace::SamplerConfig*>(data); };
  cleanup->data = conf->sampler_config;
  return conf;
}

char* set_propagation_styles(ngx_conf_t* cf, ngx_command_t*, void* conf_ptr) noexcept {
  auto* conf = static_cast<MainConf*>(conf_ptr);
  if (conf->styles_set) return const_cast<char*>("is duplicate");
  const auto* args = static_cast<ngx_str_t*>(cf->args->elts);
  try {
    std::string text;
    for (ngx_uint_t i = 1; i < cf->args->nelts; ++i) {
      text += to_string_view(args[i]);
      text += ' ';
    }
    const auto parsed = trace::parse_propagation_styles(text);
    if (!parsed.ok()) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%*s", parsed.error.size(), parsed.error.data());
      return static_cast<char*>(NGX_CONF_ERROR);
    }
    conf->extract_styles = parsed.styles;
    conf->inject_styles = parsed.styles;
    conf->styles_set = true;
  } catch (...) {
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  return NGX_CONF_OK;
}

namespace {

// Per direction, dd-trace-cpp's order: DD_TRACE_PROPAGATION_STYLE_EXTRACT,
// then the older DD_PROPAGATION_STYLE_EXTRACT, then DD_TRACE_PROPAGATION_STYLE
// (the same for _INJECT), else the default styles. Where two are set, the
// one that loses is named in a warning, as dd-trace-cpp logs it.
std::string read_propagation_environment(const ngx_conf_t* cf, MainConf& conf) {
  constexpr std::string_view both_name = "DD_TRACE_PROPAGATION_STYLE";
  const auto both = nonempty_environment_variable(cf, both_name);
  const struct {
    std::string_view current;
    std::string_view legacy;
    trace::PropagationStyles* styles;
  } sides[] = {{"DD_TRACE_PROPAGATION_STYLE_EXTRACT", "DD_PROPAGATION_STYLE_EXTRACT", &conf.extract_styles},
               {"DD_TRACE_PROPAGATION_STYLE_INJECT", "DD_PROPAGATION_STYLE_INJECT", &conf.inject_styles}};
  const auto warn_overridden = [cf](std::string_view loser, std::string_view winner) {
    const ngx_str_t lost = to_ngx_str(loser);
    const ngx_str_t won = to_ngx_str(winner);
    ngx_conf_log_error(NGX_LOG_WARN, const_cast<ngx_conf_t*>(cf), 0,
                       "environment variables %V and %V are both set: %V takes precedence", &lost, &won,
                       &won);
  };
  for (const auto& side : sides) {
    const auto current = nonempty_environment_variable(cf, side.current);
    const auto legacy = nonempty_environment_variable(cf, side.legacy);
    if (current && legacy) warn_overridden(side.legacy, side.current);
    std::optional<std::string_view> value = current;
    std::string_view name = side.current;
    if (!value && legacy) {
      value = legacy;
      name = side.legacy;
    }
    if (value && both) warn_overridden(both_name, name);
    if (!value && both) {
      value = both;
      name = both_name;
    }
    if (!value) {
      *side.styles = trace::default_propagation_styles();
      continue;
    }
    const auto parsed = trace::parse_propagation_styles(*value);
    if (!parsed.ok()) return std::string(name) + ": " + parsed.error;
    *side.styles = parsed.styles;
  }
  return "";
}

// A whole number of bytes or items; unset or empty leaves `count` as it is.
std::string read_count(const ngx_conf_t* cf, std::string_view name, std::size_t& count) {
  const auto value = nonempty_environment_variable(cf, name);
  if (!value) return "";
  std::string_view text = *value;
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  std::size_t parsed = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return std::string(name) + ": must be a whole number (0 or more), found \"" +
           std::string(value->substr(0, 60)) + "\"";
  }
  count = parsed;
  return "";
}

// DD_TRACE_TAGS_PROPAGATION_MAX_LENGTH, DD_TRACE_BAGGAGE_MAX_ITEMS and
// DD_TRACE_BAGGAGE_MAX_BYTES. Baggage limits that leave no room for an item
// (0 items, fewer than 3 bytes: "k=v") turn baggage propagation off both ways,
// as in dd-trace-cpp.
std::string read_limits_environment(const ngx_conf_t* cf, MainConf& conf) {
  auto& limits = conf.propagation_limits;
  std::string error = read_count(cf, "DD_TRACE_TAGS_PROPAGATION_MAX_LENGTH", limits.datadog_tags_bytes);
  if (error.empty()) error = read_count(cf, "DD_TRACE_BAGGAGE_MAX_ITEMS", limits.baggage_items);
  if (error.empty()) error = read_count(cf, "DD_TRACE_BAGGAGE_MAX_BYTES", limits.baggage_bytes);
  if (!error.empty()) return error;
  if (limits.baggage_items == 0 || limits.baggage_bytes < 3) {
    for (auto* styles : {&conf.extract_styles, &conf.inject_styles}) {
      trace::PropagationStyles kept;
      for (const auto style : *styles) {
        if (style != trace::PropagationStyle::baggage) kept.add(style);
      }
      *styles = kept;
    }
  }
  return "";
}

// DD_SPAN_SAMPLING_RULES, else the file DD_SPAN_SAMPLING_RULES_FILE names,
// read now (workers may not be able to open it). Both set: the first wins,
// with a warning, as in dd-trace-cpp.
std::string read_span_sampling_environment(const ngx_conf_t* cf, trace::SamplerConfig& config) {
  const auto rules = nonempty_environment_variable(cf, "DD_SPAN_SAMPLING_RULES");
  const auto file = nonempty_environment_variable(cf, "DD_SPAN_SAMPLING_RULES_FILE");
  std::string text;
  std::string_view source = "DD_SPAN_SAMPLING_RULES";
  if (rules) {
    if (file) {
      ngx_conf_log_error(NGX_LOG_WARN, const_cast<ngx_conf_t*>(cf), 0,
                         "environment variables DD_SPAN_SAMPLING_RULES and DD_SPAN_SAMPLING_RULES_FILE are "
                         "both set: DD_SPAN_SAMPLING_RULES takes precedence, the file is not read");
    }
    text = *rules;
  } else if (file) {
    const std::string path(*file);
    std::FILE* stream = std::fopen(path.c_str(), "rb");
    if (stream == nullptr) {
      return "DD_SPAN_SAMPLING_RULES_FILE: cannot open \"" + path + "\": " + std::strerror(errno);
    }
    char buffer[4096];
    std::size_t got = 0;
    while ((got = std::fread(buffer, 1, sizeof buffer, stream)) > 0) text.append(buffer, got);
    const bool failed = std::ferror(stream) != 0;
    const int read_errno = errno;
    std::fclose(stream);
    if (failed)
      return "DD_SPAN_SAMPLING_RULES_FILE: cannot read \"" + path + "\": " + std::strerror(read_errno);
    source = "DD_SPAN_SAMPLING_RULES_FILE";
  } else {
    return "";
  }
  auto parsed = trace::parse_span_sampling_rules(text, source);
  if (!parsed.ok()) {
    if (file && !rules) return parsed.error + " (in \"" + std::string(*file) + "\")";
    return parsed.error;
  }
  config.span_rules = std::move(parsed.rules);
  return "";
}

// DD_TRACE_REPORT_HOSTNAME: the name gethostname() gives, as dd-trace-cpp reports it.
ngx_str_t reported_hostname(ngx_conf_t* cf, bool report) {
  if (!report) return ngx_str_t{0, nullptr};
  char name[256];
  if (gethostname(name, sizeof name) != 0) return ngx_str_t{0, nullptr};
  name[sizeof name - 1] = '\0';
  return copy_to_pool(cf->pool, name);
}

// DD_TRACE_SAMPLING_RULES, DD_TRACE_SAMPLE_RATE, DD_TRACE_RATE_LIMIT, after the
// rules of the directives (which therefore win). Returns an error sentence.
std::string read_sampling_environment(const ngx_conf_t* cf, trace::SamplerConfig& config) {
  if (const auto rules = nonempty_environment_variable(cf, "DD_TRACE_SAMPLING_RULES")) {
    auto parsed = trace::parse_sampling_rules(*rules);
    if (!parsed.ok()) return parsed.error;
    for (auto& rule : parsed.rules) config.rules.push_back(std::move(rule));
  }
  if (const auto rate = nonempty_environment_variable(cf, "DD_TRACE_SAMPLE_RATE")) {
    const auto parsed = trace::parse_sample_rate(*rate);
    if (!parsed.ok()) return parsed.error;
    config.sample_rate = parsed.value;
  }
  if (const auto limit = nonempty_environment_variable(cf, "DD_TRACE_RATE_LIMIT")) {
    const auto parsed = trace::parse_rate_limit(*limit);
    if (!parsed.ok()) return parsed.error;
    config.rate_limit = parsed.value;
  }
  return "";
}

}  // namespace

char* set_agent_url(ngx_conf_t* cf, ngx_command_t*, void* conf_ptr) noexcept {
  auto* conf = static_cast<MainConf*>(conf_ptr);
  if (conf->agent_url.data != nullptr) {
    return const_cast<char*>("is duplicate");
  }
  const auto* args = static_cast<ngx_str_t*>(cf->args->elts);
  try {
    const std::string error = resolve_agent(cf, conf, to_string_view(args[1]));
    if (!error.empty()) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%*s", error.size(), error.data());
      return static_cast<char*>(NGX_CONF_ERROR);
    }
  } catch (...) {
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  return NGX_CONF_OK;
}

ngx_int_t take_agent_resolver(ngx_conf_t* cf) noexcept {
  auto* conf = static_cast<MainConf*>(ngx_http_conf_get_module_main_conf(cf, ngx_http_datadog_module));
  // The http block's own location configuration: its resolver is set only
  // when `resolver` appears at http level (servers get nginx's placeholder).
  auto* core =
      static_cast<ngx_http_core_loc_conf_t*>(ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
  if (conf->agent_host_name.len == 0 || core->resolver == nullptr || core->resolver->connections.nelts == 0) {
    return NGX_OK;
  }
  conf->agent_resolver = core->resolver;
  if (core->resolver_timeout != NGX_CONF_UNSET_MSEC) conf->agent_resolver_timeout = core->resolver_timeout;
  return NGX_OK;
}

char* init_main_conf(ngx_conf_t* cf, void* conf_ptr) noexcept {
  auto* conf = static_cast<MainConf*>(conf_ptr);
  ngx_conf_init_msec_value(conf->flush_interval, 1000);
  ngx_conf_init_size_value(conf->buffer_size, 16 * 1024 * 1024);
  ngx_conf_init_msec_value(conf->agent_timeout, 2000);
  ngx_conf_init_msec_value(conf->exit_flush_timeout, 1000);
  try {
    std::string error = read_sampling_environment(cf, *conf->sampler_config);
    if (error.empty() && !conf->styles_set) error = read_propagation_environment(cf, *conf);
    if (error.empty()) error = read_limits_environment(cf, *conf);
    if (error.empty()) error = read_span_sampling_environment(cf, *conf->sampler_config);
    if (!error.empty()) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%*s", error.size(), error.data());
      return static_cast<char*>(NGX_CONF_ERROR);
    }
  } catch (...) {
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  if (init_url_obfuscation(cf, conf->url_obfuscation) != NGX_CONF_OK)
    return static_cast<char*>(NGX_CONF_ERROR);
  conf->environment_tags = tags_from_environment(cf);
  const auto tracing = environment_flag(cf, "DD_TRACE_ENABLED", true);
  const auto rum = environment_flag(cf, "DD_RUM_ENABLED", false);
  const auto trace_id_128bit = environment_flag(cf, "DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED", true);
  const auto report_hostname = environment_flag(cf, "DD_TRACE_REPORT_HOSTNAME", false);
  if (!tracing || !rum || !trace_id_128bit || !report_hostname) return static_cast<char*>(NGX_CONF_ERROR);
  conf->trace_id_128bit = *trace_id_128bit;
  conf->reported_hostname = reported_hostname(cf, *report_hostname);
  conf->tracing_by_default = *tracing;
  conf->rum_by_default = *rum;
  conf->default_service = to_ngx_str(nonempty_environment_variable(cf, "DD_SERVICE").value_or("nginx"));
  conf->default_environment = to_ngx_str(nonempty_environment_variable(cf, "DD_ENV").value_or(""));
  conf->default_version = to_ngx_str(nonempty_environment_variable(cf, "DD_VERSION").value_or(""));
  conf->external_env = to_ngx_str(nonempty_environment_variable(cf, "DD_EXTERNAL_ENV").value_or(""));
  trace::PropagationStyles both = conf->extract_styles;
  for (const auto style : conf->inject_styles) both.add(style);
  conf->propagation_header_names = HeaderNameSet::of(both);
  if (conf->agent_url.data == nullptr) {
    try {
      const std::string url = agent_url_from_environment(cf);
      const std::string error = resolve_agent(cf, conf, url);
      if (!error.empty()) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%*s (from DD_TRACE_AGENT_URL or DD_AGENT_HOST/DD_TRACE_AGENT_PORT)", error.size(),
                           error.data());
        return static_cast<char*>(NGX_CONF_ERROR);
      }
    } catch (...) {
      return static_cast<char*>(NGX_CONF_ERROR);
    }
  }
  return NGX_CONF_OK;
}

}  // namespace datadog::module
