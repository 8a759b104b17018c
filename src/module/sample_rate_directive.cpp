// Parsing of datadog_sample_rate and the per-request choice among them.
#include "module/sample_rate_directive.hpp"

#include <string>

#include "module/location_conf.hpp"
#include "module/main_conf.hpp"
#include "module/str_view.hpp"
#include "trace/log_escape.hpp"
#include "trace/sampler_config.hpp"
#include "trace/sampling_rule.hpp"

extern ngx_module_t ngx_http_datadog_module;

namespace datadog::module {

char* set_sample_rate(ngx_conf_t* cf, ngx_command_t*, void* conf_ptr) noexcept {
  auto* conf = static_cast<LocationConf*>(conf_ptr);
  auto* main = static_cast<MainConf*>(ngx_http_conf_get_module_main_conf(cf, ngx_http_datadog_module));
  auto* args = static_cast<ngx_str_t*>(cf->args->elts);
  try {
    const auto rate = trace::parse_sample_rate(to_string_view(args[1]), "datadog_sample_rate");
    if (!rate.ok()) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%*s", rate.error.size(), rate.error.data());
      return static_cast<char*>(NGX_CONF_ERROR);
    }
    if (conf->sample_rates == nullptr) {
      conf->sample_rates = ngx_array_create(cf->pool, 2, sizeof(SampleRateDirective));
      if (conf->sample_rates == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
    }
    auto* directive = static_cast<SampleRateDirective*>(ngx_array_push(conf->sample_rates));
    if (directive == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
    directive->condition = nullptr;
    directive->warned_invalid_condition = static_cast<bool*>(ngx_pcalloc(cf->pool, sizeof(bool)));
    if (directive->warned_invalid_condition == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
    if (cf->args->nelts == 3) {
      auto* condition =
          static_cast<ngx_http_complex_value_t*>(ngx_pcalloc(cf->pool, sizeof(ngx_http_complex_value_t)));
      if (condition == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
      ngx_http_compile_complex_value_t ccv;
      ngx_memzero(&ccv, sizeof(ccv));
      ccv.cf = cf;
      ccv.value = &args[2];
      ccv.complex_value = condition;
      if (ngx_http_compile_complex_value(&ccv) != NGX_OK) return static_cast<char*>(NGX_CONF_ERROR);
      directive->condition = condition;
    }
    // "<file>:<line>#<n>", n counting directives on the same line (usually 1).
    const std::string file = std::string(to_string_view(cf->conf_file->file.name));
    const std::string prefix = file + ":" + std::to_string(cf->conf_file->line) + "#";
    ngx_uint_t same_line = 1;
    for (const auto& rule : main->sampler_config->rules) {
      if (rule.tags.size() == 1 && rule.tags[0].key == "nginx.sample_rate_source" &&
          rule.tags[0].value.text().rfind(prefix, 0) == 0) {
        ++same_line;
      }
    }
    const std::string source = prefix + std::to_string(same_line);
    auto* data = static_cast<u_char*>(ngx_pnalloc(cf->pool, source.size()));
    if (data == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
    ngx_memcpy(data, source.data(), source.size());
    directive->source = ngx_str_t{source.size(), data};
    main->sampler_config->rules.push_back(
        trace::SamplingRule::for_tag("nginx.sample_rate_source", source, rate.value));
  } catch (...) {
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  return NGX_CONF_OK;
}

namespace {

// How much of a condition's value a warning shows (it is client input, e.g.
// a header).
constexpr std::size_t logged_condition_bytes = 64;

void warn_invalid_condition(ngx_http_request_t* r, const SampleRateDirective& directive,
                            std::string_view value) noexcept {
  if (*directive.warned_invalid_condition) return;
  *directive.warned_invalid_condition = true;
  char buffer[trace::escaped_log_size(logged_condition_bytes)];
  const std::string_view shown = trace::escape_for_log(value, logged_condition_bytes, buffer);
  ngx_log_error(
      NGX_LOG_WARN, r->connection->log, 0,
      "datadog_sample_rate condition at %V evaluated to \"%*s\" (expected \"on\", \"off\" or \"\"); "
      "treated as off; not logged again for this directive by this worker",
      &directive.source, shown.size(), shown.data());
}

}  // namespace

ngx_str_t applicable_sample_rate_source(ngx_http_request_t* r, const ngx_array_t* directives) noexcept {
  if (directives == nullptr) return ngx_str_t{0, nullptr};
  const auto* items = static_cast<const SampleRateDirective*>(directives->elts);
  for (ngx_uint_t i = 0; i < directives->nelts; ++i) {
    if (items[i].condition == nullptr) return items[i].source;
    ngx_str_t value;
    if (ngx_http_complex_value(r, items[i].condition, &value) != NGX_OK) continue;
    switch (trace::parse_sample_rate_condition(to_string_view(value))) {
      case trace::SampleRateCondition::on:
        return items[i].source;
      case trace::SampleRateCondition::off:
        break;
      case trace::SampleRateCondition::invalid:
        warn_invalid_condition(r, items[i], to_string_view(value));
        break;
    }
  }
  return ngx_str_t{0, nullptr};
}

}  // namespace datadog::module
