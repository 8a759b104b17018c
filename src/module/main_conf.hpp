// Configuration of the whole http block: where the agent is and how spans are
// batched. One per nginx configuration; workers read it, never write it.
#pragma once

#include "module/nginx.hpp"
#include "module/request_headers.hpp"
#include "module/url_obfuscation.hpp"
#include "trace/propagation.hpp"
#include "trace/propagation_style.hpp"
#include "trace/sampler_config.hpp"

extern "C" ngx_module_t ngx_http_datadog_module;

namespace datadog::module {

struct MainConf {
  ngx_str_t agent_url{};                  // as written (or from DD_* variables)
  ngx_addr_t* agent_addresses = nullptr;  // every address of the agent's host, resolved at load
  ngx_uint_t agent_address_count = 0;
  ngx_str_t agent_host_header{};  // Host header sent to the agent
  // A TCP agent named by a host name (not an address literal): the name and
  // port, and the `resolver` of the http block if there is one, with which a
  // worker resolves the name again when every address failed.
  ngx_str_t agent_host_name{};
  in_port_t agent_port = 0;
  ngx_resolver_t* agent_resolver = nullptr;
  ngx_msec_t agent_resolver_timeout = 30000;
  ngx_msec_t flush_interval = NGX_CONF_UNSET_MSEC;
  size_t buffer_size = NGX_CONF_UNSET_SIZE;
  ngx_msec_t agent_timeout = NGX_CONF_UNSET_MSEC;
  ngx_msec_t exit_flush_timeout = NGX_CONF_UNSET_MSEC;
  // Rules of every datadog_sample_rate directive, then DD_TRACE_SAMPLING_RULES,
  // DD_TRACE_SAMPLE_RATE and DD_TRACE_RATE_LIMIT. Destroyed with the
  // configuration's pool; each worker copies it into its own sampler.
  trace::SamplerConfig* sampler_config = nullptr;
  // datadog_propagation_styles, else DD_TRACE_PROPAGATION_STYLE_EXTRACT /
  // _INJECT, DD_PROPAGATION_STYLE_EXTRACT / _INJECT, DD_TRACE_PROPAGATION_STYLE,
  // else datadog, tracecontext, baggage.
  bool styles_set = false;
  trace::PropagationStyles extract_styles;
  trace::PropagationStyles inject_styles;
  // DD_TRACE_TAGS_PROPAGATION_MAX_LENGTH, DD_TRACE_BAGGAGE_MAX_ITEMS / _BYTES
  // (a limit that leaves no room for baggage takes the baggage style out of
  // both lists above, as dd-trace-cpp does).
  trace::PropagationLimits propagation_limits;
  // DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED: traces started here get a
  // 128-bit id (else 64-bit: no `_dd.p.tid`, a zero high half in traceparent).
  bool trace_id_128bit = true;
  // DD_TRACE_REPORT_HOSTNAME: the host's name, as `_dd.hostname` of request
  // spans; empty when not reported.
  ngx_str_t reported_hostname{};
  // The header names of both, removed from what the client sent before ours
  // are written.
  HeaderNameSet propagation_header_names;
  // Some server lets request header names with `_` through
  // (underscores_in_headers on, or ignore_invalid_headers off; nginx parses a
  // request's headers with the default server's settings until Host picks
  // another): client copies of our headers spelled with `_` must go too.
  // Set in postconfiguration, once every server's settings are merged.
  bool underscore_header_names = false;
  ngx_array_t* environment_tags = nullptr;  // DD_TAGS, as span_tags.hpp's ConfiguredTag
  // Defaults the directives override, from the environment (environment.hpp),
  // read once in init_main_conf, before any location is merged.
  bool tracing_by_default = true;         // DD_TRACE_ENABLED
  bool rum_by_default = false;            // DD_RUM_ENABLED
  ngx_str_t default_service{};            // DD_SERVICE, else "nginx"
  ngx_str_t default_environment{};        // DD_ENV, else empty
  ngx_str_t default_version{};            // DD_VERSION, else empty
  ngx_shm_zone_t* status_zone = nullptr;  // the datadog_status board (status.hpp)
  // datadog_obfuscation_query_string_regex, else DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP,
  // else the tracers' default: applied to the query of http.url.
  UrlObfuscation url_obfuscation;
  ngx_str_t external_env{};  // DD_EXTERNAL_ENV: the agent's Datadog-External-Env header
};

char* set_propagation_styles(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;

void* create_main_conf(ngx_conf_t* cf) noexcept;
char* init_main_conf(ngx_conf_t* cf, void* conf) noexcept;
// datadog_agent_url <url>: parsed and resolved when the configuration loads.
// (The resolver for later resolutions is taken in postconfiguration, once the
// http block's `resolver` is known: take_agent_resolver.)
ngx_int_t take_agent_resolver(ngx_conf_t* cf) noexcept;
char* set_agent_url(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;

}  // namespace datadog::module
