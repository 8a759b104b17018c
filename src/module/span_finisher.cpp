// Span fields and tags of PROTOCOLS.md section 2. Everything built here lives
// in the request pool; the worker copies it into the agent batch as msgpack.
#include "module/span_finisher.hpp"

#include <array>
#include <initializer_list>

#include "module/location_conf.hpp"
#include "module/main_conf.hpp"
#include "module/span_names.hpp"
#include "module/span_sampling.hpp"
#include "module/span_tags.hpp"
#include "module/str_view.hpp"
#include "module/subrequest_spans.hpp"
#include "module/url_obfuscation.hpp"
#include "module/worker.hpp"
#include "trace/span_record.hpp"

extern ngx_module_t ngx_http_datadog_module;

namespace datadog::module {
namespace {

using trace::Meta;
using trace::Metric;

// Joins pieces into one string in the request pool; empty on allocation failure.
std::string_view pool_join(ngx_pool_t* pool, std::initializer_list<std::string_view> pieces) noexcept {
  std::size_t size = 0;
  for (auto piece : pieces) size += piece.size();
  auto* data = static_cast<char*>(ngx_pnalloc(pool, size));
  if (data == nullptr) return {};
  char* out = data;
  for (auto piece : pieces) {
    // An empty piece may have no data pointer, and memcpy from null is
    // undefined even for 0 bytes (UBSan).
    if (piece.empty()) continue;
    ngx_memcpy(out, piece.data(), piece.size());
    out += piece.size();
  }
  return {data, size};
}

// "100".."999" without formatting per request.
constexpr auto status_texts = [] {
  std::array<std::array<char, 3>, 1000> table{};
  for (int code = 100; code < 1000; ++code) {
    table[static_cast<std::size_t>(code)] = {static_cast<char>('0' + code / 100),
                                             static_cast<char>('0' + code / 10 % 10),
                                             static_cast<char>('0' + code % 10)};
  }
  return table;
}();

std::string_view status_text(ngx_pool_t* pool, ngx_uint_t status) noexcept {
  if (status >= 100 && status < 1000) return {status_texts[status].data(), 3};
  auto* data = static_cast<u_char*>(ngx_pnalloc(pool, NGX_INT_T_LEN));
  if (data == nullptr) return {};
  const u_char* end = ngx_sprintf(data, "%ui", status);
  return {reinterpret_cast<const char*>(data), static_cast<std::size_t>(end - data)};
}

// $upstream_addr: every peer nginx tried, ", " between tries and " : "
// between upstream groups (an internal redirect to another upstream). The
// common single peer is returned as it is, without copying.
std::string_view upstream_address(ngx_http_request_t* r) noexcept {
  if (r->upstream_states == nullptr || r->upstream_states->nelts == 0) return {};
  const auto* states = static_cast<const ngx_http_upstream_state_t*>(r->upstream_states->elts);
  const ngx_uint_t count = r->upstream_states->nelts;
  if (count == 1) return states[0].peer != nullptr ? to_string_view(*states[0].peer) : std::string_view{};
  std::size_t size = 0;
  for (ngx_uint_t i = 0; i < count; ++i) size += states[i].peer != nullptr ? states[i].peer->len + 2 : 3;
  auto* data = static_cast<u_char*>(ngx_pnalloc(r->pool, size));
  if (data == nullptr) return {};
  u_char* p = data;
  // As nginx's own variable writes it (ngx_http_upstream_addr_variable).
  for (ngx_uint_t i = 0;;) {
    if (states[i].peer != nullptr) p = ngx_cpymem(p, states[i].peer->data, states[i].peer->len);
    if (++i == count) break;
    if (states[i].peer != nullptr) {
      *p++ = ',';
      *p++ = ' ';
    } else {
      *p++ = ' ';
      *p++ = ':';
      *p++ = ' ';
      if (++i == count) break;
    }
  }
  return {reinterpret_cast<const char*>(data), static_cast<std::size_t>(p - data)};
}

// The name of the upstream the request was proxied to, as nginx-datadog
// reports it: an `upstream` block's name, or the host of a literal
// proxy_pass address. Nothing when the address came from variables.
std::string_view upstream_name(ngx_http_request_t* r) noexcept {
  if (r->upstream == nullptr || r->upstream->upstream == nullptr) return {};
  const ngx_str_t& host = r->upstream->upstream->host;
  return host.data != nullptr ? to_string_view(host) : std::string_view{};
}

// $remote_addr:$remote_port, as nginx-datadog writes peer.address ("unix::"
// on a unix socket, whose port is empty).
std::string_view peer_address(ngx_http_request_t* r) noexcept {
  const ngx_str_t& address = r->connection->addr_text;
  const in_port_t port = ngx_inet_get_port(r->connection->sockaddr);
  auto* data = static_cast<u_char*>(ngx_pnalloc(r->pool, address.len + 1 + NGX_INT_T_LEN));
  if (data == nullptr) return {};
  u_char* end = ngx_cpymem(data, address.data, address.len);
  *end++ = ':';
  if (port != 0) end = ngx_sprintf(end, "%ui", static_cast<ngx_uint_t>(port));
  return {reinterpret_cast<const char*>(data), static_cast<std::size_t>(end - data)};
}

// $http_host, as the client wrote it (with its port). Without one (HTTP/1.0,
// HTTP/0.9), what nginx itself calls the server: the host of an absolute
// request line, else the server's first server_name ($host) unless that is
// a pattern ("~regex", "*.example.com"), else the address the client
// connected to (as in nginx's own redirects).
std::string_view request_host(ngx_http_request_t* r) noexcept {
  if (r->headers_in.host != nullptr && r->headers_in.host->value.len != 0)
    return to_string_view(r->headers_in.host->value);
  if (r->headers_in.server.len != 0) return to_string_view(r->headers_in.server);
  const auto* server =
      static_cast<ngx_http_core_srv_conf_t*>(ngx_http_get_module_srv_conf(r, ngx_http_core_module));
  if (server != nullptr && server->server_name.len != 0 && server->server_name.data[0] != '~' &&
      server->server_name.data[0] != '*') {
    return to_string_view(server->server_name);
  }
  auto* text = static_cast<u_char*>(ngx_pnalloc(r->pool, NGX_SOCKADDR_STRLEN));
  if (text == nullptr) return {};
  ngx_str_t address{NGX_SOCKADDR_STRLEN, text};
  if (ngx_connection_local_sockaddr(r->connection, &address, 1) != NGX_OK) return {};
  return to_string_view(address);
}

constexpr std::size_t child_tag_count = 8;

// The record of a child span (a location or a subrequest); its tags go to
// `tags`, which has room for child_tag_count entries.
// `upstream` is the request's upstream.name, for the location that answered.
void child_record(trace::SpanRecord& record, const ChildSpan& child, const trace::SpanRecord& request,
                  std::int64_t now, bool error, Meta* tags, const Worker& worker, std::string_view upstream,
                  ngx_pool_t* pool) noexcept {
  std::size_t n = 0;
  tags[n++] = Meta{"component", "nginx"};
  tags[n++] = Meta{"nginx.location", child.location};
  tags[n++] = Meta{"span.kind", "internal"};
  // Tags dd-trace-cpp puts on every span of a trace, not just its root.
  tags[n++] = Meta{"language", "cpp"};
  tags[n++] = Meta{"runtime-id", worker.runtime_id()};
  if (child.status != 0) tags[n++] = Meta{"http.status_code", status_text(pool, child.status)};
  if (!child.url.empty()) tags[n++] = Meta{"http.url", child.url};
  if (!upstream.empty()) tags[n++] = Meta{"upstream.name", upstream};
  record = trace::SpanRecord{};
  record.service = request.service;
  record.name = child.name;
  record.resource = child.resource;
  record.type = "web";
  record.trace_id = request.trace_id;
  record.span_id = child.span_id;
  record.parent_id = child.parent_id;
  record.start_ns = child.start_wall_ns;
  // A child still running when the request ends (the active location) ends with it.
  record.duration_ns =
      (child.end_monotonic_ns != 0 ? child.end_monotonic_ns : now) - child.start_monotonic_ns;
  record.error = error;
  record.meta = std::span<const Meta>(tags, n);
  record.metrics = worker.child_span_metrics();
}

// $scheme://<host><path>[?<query>], its query obfuscated: the http.url of
// request and subrequest spans.
std::string_view build_url(ngx_http_request_t* r, std::string_view host, std::string_view path,
                           std::string_view query) noexcept {
#if (NGX_HTTP_SSL)
  const std::string_view scheme = r->connection->ssl != nullptr ? "https" : "http";
#else
  const std::string_view scheme = "http";
#endif
  const auto& main = *static_cast<MainConf*>(ngx_http_get_module_main_conf(r, ngx_http_datadog_module));
  const std::string_view url = query.empty() ? pool_join(r->pool, {scheme, "://", host, path})
                                             : pool_join(r->pool, {scheme, "://", host, path, "?", query});
  return obfuscate_url(r, main.url_obfuscation, url);
}

}  // namespace

std::string_view span_url(ngx_http_request_t* r, std::string_view path, std::string_view query) noexcept {
  return build_url(r, request_host(r), path, query);
}

void finish_request_span(ngx_http_request_t* r, RequestContext& ctx) noexcept {
  Worker* worker = Worker::get();
  if (worker == nullptr) return;
  auto* conf = static_cast<LocationConf*>(ngx_http_get_module_loc_conf(r, ngx_http_datadog_module));
  auto* core = static_cast<ngx_http_core_loc_conf_t*>(ngx_http_get_module_loc_conf(r, ngx_http_core_module));
  ngx_pool_t* pool = r->pool;

  const ngx_uint_t status = r->headers_out.status != 0 ? r->headers_out.status
                            : r->connection->error     ? 499
                                                       : 0;
  const std::string_view method = to_string_view(r->method_name);
  const std::string_view host = request_host(r);

  // Fixed tags, then the trace's propagated tags and this span's own.
  const auto& main = *static_cast<MainConf*>(ngx_http_get_module_main_conf(r, ngx_http_datadog_module));
  const std::size_t capacity = 29 + (ctx.trace_tags != nullptr ? ctx.trace_tags->size() : 0) +
                               (ctx.span_tags != nullptr ? ctx.span_tags->size() : 0) +
                               (conf->tags != nullptr ? conf->tags->nelts : 0) +
                               (main.environment_tags != nullptr ? main.environment_tags->nelts : 0);
  auto* meta = static_cast<Meta*>(ngx_palloc(pool, capacity * sizeof(Meta)));
  if (meta == nullptr) return;
  std::size_t n = 0;
  auto add = [&](std::string_view key, std::string_view value) {
    if (n < capacity) meta[n++] = Meta{key, value};
  };
  // The four tags every request span has, pre-encoded, unless a datadog_tag
  // or DD_TAGS entry could name one of them (the meta map must not repeat a
  // key, and the pre-encoded block is not searched).
  // Nor when a span sampling rule may match on tags: it sees only `meta`.
  const bool fixed_tags =
      conf->tags == nullptr && main.environment_tags == nullptr && !worker->span_sampler().reads_tags();
  if (!fixed_tags) {
    add("component", "nginx");
    add("span.kind", "server");
    add("language", "cpp");
    add("runtime-id", worker->runtime_id());
  }
  if (conf->environment.len != 0) add("env", to_string_view(conf->environment));
  if (conf->version.len != 0) add("version", to_string_view(conf->version));
  add("http.method", method);
  add("http.url", build_url(r, host, to_string_view(r->unparsed_uri), {}));
  add("http.host", host);
  if (r->headers_in.user_agent != nullptr)
    add("http.useragent", to_string_view(r->headers_in.user_agent->value));
  if (status != 0) add("http.status_code", status_text(pool, status));
  if (r->headers_out.status_line.len != 0)
    add("http.status_line", to_string_view(r->headers_out.status_line));
  add("network.client.ip", to_string_view(r->connection->addr_text));
  add("peer.address", peer_address(r));
  add("nginx.worker_pid", worker->pid_text());
  add("nginx.location", to_string_view(core->name));
  if (const auto upstream = upstream_address(r); !upstream.empty()) add("upstream.address", upstream);
  const std::string_view upstream = upstream_name(r);
  if (!upstream.empty()) add("upstream.name", upstream);
  const bool error = status >= 500 && status < 600;
  if (error) {
    add("error.type", "http.server_error");
    add("error.message", pool_join(pool, {"HTTP ", status_text(pool, status)}));
  }
  std::array<char, 16> tid{};
  if (ctx.trace_id.high != 0) {
    tid = trace::hex16(ctx.trace_id.high);
    add("_dd.p.tid", {tid.data(), tid.size()});
  }
  if (ctx.trace_tags != nullptr) {
    for (const auto& tag : *ctx.trace_tags) {
      if (tag.key != "_dd.p.tid") add(tag.key, tag.value);  // written from the trace id above
    }
  }
  if (ctx.span_tags != nullptr) {
    for (const auto& tag : *ctx.span_tags) add(tag.key, tag.value);
  }
  if (!ctx.origin.empty()) add("_dd.origin", ctx.origin);
  if (main.reported_hostname.len != 0) add("_dd.hostname", to_string_view(main.reported_hostname));

  // datadog_tag replaces a tag of the same key (the agent rejects a meta map
  // with a key twice); DD_TAGS only fills keys nothing else set.
  auto find = [&](std::string_view key) -> Meta* {
    for (std::size_t i = 0; i < n; ++i) {
      if (meta[i].key == key) return &meta[i];
    }
    return nullptr;
  };
  if (conf->tags != nullptr) {
    const auto* tags = static_cast<const ConfiguredTag*>(conf->tags->elts);
    for (ngx_uint_t i = 0; i < conf->tags->nelts; ++i) {
      ngx_str_t value;
      if (ngx_http_complex_value(r, tags[i].value, &value) != NGX_OK) continue;
      if (Meta* existing = find(to_string_view(tags[i].key))) {
        existing->value = to_string_view(value);
      } else {
        add(to_string_view(tags[i].key), to_string_view(value));
      }
    }
  }
  if (main.environment_tags != nullptr) {
    const auto* tags = static_cast<const ConfiguredTag*>(main.environment_tags->elts);
    for (ngx_uint_t i = 0; i < main.environment_tags->nelts; ++i) {
      if (find(to_string_view(tags[i].key)) == nullptr) {
        add(to_string_view(tags[i].key), to_string_view(tags[i].static_value));
      }
    }
  }
  if (ctx.sample_rate_source.len != 0)
    add("nginx.sample_rate_source", to_string_view(ctx.sample_rate_source));

  std::array<Metric, 5> metrics;
  std::size_t m = 0;
  metrics[m++] = {"_sampling_priority_v1", static_cast<double>(ctx.sampling.priority)};
  metrics[m++] = {"process_id", static_cast<double>(ngx_pid)};
  if (ctx.sampling.agent_rate) metrics[m++] = {"_dd.agent_psr", *ctx.sampling.agent_rate};
  if (ctx.sampling.rule_rate) metrics[m++] = {"_dd.rule_psr", *ctx.sampling.rule_rate};
  if (ctx.sampling.limiter_rate) metrics[m++] = {"_dd.limit_psr", *ctx.sampling.limiter_rate};

  trace::SpanRecord span;
  span.service = to_string_view(conf->service_name);
  span.name = operation_name(r, *conf);
  span.resource = resource_name(r, *conf);
  span.type = "web";
  span.trace_id = ctx.trace_id;
  span.span_id = ctx.span_id;
  span.parent_id = ctx.parent_id;
  span.start_ns = ctx.start_wall_ns;
  // One end time for the request span and the location spans that end with it.
  const std::int64_t now = monotonic_ns();
  span.duration_ns = now - ctx.start_monotonic_ns;
  span.error = error;
  if (fixed_tags) {
    span.fixed_meta = worker->request_span_fixed_meta();
    span.fixed_meta_count = Worker::request_span_fixed_meta_count;
  }
  span.meta = std::span<const Meta>(meta, n);
  span.metrics = std::span<const Metric>(metrics.data(), m);
  const std::string_view env = to_string_view(conf->environment);
  if (ctx.location_span_count == 0 && ctx.subrequest_span_count == 0) {
    sample_single_spans(r, std::span(&span, 1), ctx.sampling.priority, env, worker->span_sampler());
    worker->record_trace(std::span<const trace::SpanRecord>(&span, 1));
    return;
  }

  // Location spans and subrequest spans: children in the same trace.
  const std::size_t count = 1 + ctx.location_span_count + ctx.subrequest_span_count;
  auto* spans = static_cast<trace::SpanRecord*>(ngx_palloc(pool, count * sizeof(trace::SpanRecord)));
  auto* child_meta = static_cast<Meta*>(ngx_palloc(pool, (count - 1) * child_tag_count * sizeof(Meta)));
  if (spans == nullptr || child_meta == nullptr) return;
  spans[0] = span;
  std::size_t index = 1;
  for (std::size_t i = 0; i < ctx.location_span_count; ++i, ++index) {
    // The last location is the one that answered: it shares the request's error.
    const bool last = i + 1 == ctx.location_span_count;
    child_record(spans[index], ctx.location_spans[i], span, now, last && error,
                 child_meta + child_tag_count * (index - 1), *worker, last ? upstream : std::string_view{},
                 pool);
  }
  for (const SubrequestSpan* sub = ctx.subrequest_spans; sub != nullptr; sub = sub->next, ++index) {
    child_record(spans[index], *sub, span, now, sub->status >= 500 && sub->status < 600,
                 child_meta + child_tag_count * (index - 1), *worker, {}, pool);
  }
  sample_single_spans(r, std::span(spans, count), ctx.sampling.priority, env, worker->span_sampler());
  worker->record_trace(std::span<const trace::SpanRecord>(spans, count));
}

}  // namespace datadog::module
