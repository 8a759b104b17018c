// The RUM filter: a second nginx module in the same shared object. It sits
// after nginx's postpone filter, so it sees the whole response in order (SSI
// includes, sub_filter and addition edits done), and before gzip, which then
// compresses what it emits. The header filter decides eligibility once and
// fixes the framing and the CSP; the body filter is in rum_body_filter.cpp.
#include <new>
#include <string_view>

#include "module/location_conf.hpp"
#include "module/main_conf.hpp"
#include "module/request_context.hpp"
#include "module/request_headers.hpp"
#include "module/rum_directives.hpp"
#include "module/rum_response.hpp"
#include "module/str_view.hpp"
#include "module/worker.hpp"
#include "rum/csp_policy.hpp"
#include "rum/eligibility.hpp"
#include "rum/look_ahead.hpp"

extern ngx_module_t ngx_http_datadog_module;
extern "C" ngx_module_t ngx_http_datadog_rum_filter_module;

namespace datadog::module {
namespace {

ngx_http_output_header_filter_pt next_header_filter;
ngx_http_output_body_filter_pt next_body_filter;

constexpr std::string_view injected_marker = "x-datadog-rum-injected";
constexpr std::string_view pending_marker = "x-datadog-rum-injection-pending";
constexpr std::string_view csp_name = "content-security-policy";
constexpr std::string_view csp_report_only_name = "content-security-policy-report-only";

const LocationConf& location_conf(ngx_http_request_t* r) noexcept {
  return *static_cast<LocationConf*>(ngx_http_get_module_loc_conf(r, ngx_http_datadog_module));
}

bool equals_ignoring_case(const ngx_str_t& a, std::string_view b) noexcept {
  return a.len == b.size() && ngx_strncasecmp(a.data, to_ngx_str(b).data, a.len) == 0;
}

void count_skip(rum::SkipReason reason) noexcept {
  Worker* worker = Worker::get();
  if (worker == nullptr || worker->status_slot() == nullptr) return;
  worker->status_slot()->rum_skipped[static_cast<std::size_t>(reason)].fetch_add(1,
                                                                                 std::memory_order_relaxed);
}

// Reads what eligibility depends on out of the response header.
rum::ResponseFacts response_facts(ngx_http_request_t* r) noexcept {
  rum::ResponseFacts facts;
  facts.head_request = r->method == NGX_HTTP_HEAD || r->header_only;
  facts.status = static_cast<unsigned>(r->headers_out.status);
  facts.content_type = to_string_view(r->headers_out.content_type);
  facts.content_length = r->headers_out.content_length_n;
  // nginx's range filter cuts the original bytes before they reach this
  // filter, from what its header part (after this one) decided: that part
  // cannot run late, after the look-ahead.
  facts.range_request = r->headers_in.range != nullptr && r->allow_ranges;
  if (r->headers_out.content_encoding != nullptr && r->headers_out.content_encoding->hash != 0) {
    facts.content_encoding = to_string_view(r->headers_out.content_encoding->value);
  }
  auto** cache_control = static_cast<ngx_table_elt_t**>(r->headers_out.cache_control.elts);
  for (ngx_uint_t i = 0; i < r->headers_out.cache_control.nelts; ++i) {
    if (cache_control[i]->hash != 0 && rum::has_no_transform(to_string_view(cache_control[i]->value))) {
      facts.no_transform = true;
    }
  }
  for (ngx_list_part_t* part = &r->headers_out.headers.part; part != nullptr; part = part->next) {
    auto* header = static_cast<ngx_table_elt_t*>(part->elts);
    for (ngx_uint_t i = 0; i < part->nelts; ++i) {
      if (header[i].hash != 0 && equals_ignoring_case(header[i].key, injected_marker) &&
          to_string_view(header[i].value) == "1") {
        facts.already_injected = true;
      }
    }
  }
  return facts;
}

// Amends every CSP header so that the snippet (and the SDK it loads) may run,
// and returns the nonce the snippet's <script> must carry (empty: none).
ngx_int_t amend_csp_headers(ngx_http_request_t* r, const rum::RumSnippet& snippet,
                            std::string_view* nonce) noexcept {
  ngx_table_elt_t* enforced = nullptr;
  ngx_table_elt_t* report_only = nullptr;
  for (ngx_list_part_t* part = &r->headers_out.headers.part; part != nullptr; part = part->next) {
    auto* header = static_cast<ngx_table_elt_t*>(part->elts);
    for (ngx_uint_t i = 0; i < part->nelts; ++i) {
      if (header[i].hash == 0) continue;
      if (enforced == nullptr && equals_ignoring_case(header[i].key, csp_name)) enforced = &header[i];
      if (report_only == nullptr && equals_ignoring_case(header[i].key, csp_report_only_name)) {
        report_only = &header[i];
      }
    }
  }
  if (enforced == nullptr && report_only == nullptr) return NGX_OK;
  // The page's own nonce, from the policy that is enforced first.
  *nonce = rum::find_script_nonce(to_string_view((enforced != nullptr ? enforced : report_only)->value));
  if (nonce->empty() && enforced != nullptr && report_only != nullptr) {
    *nonce = rum::find_script_nonce(to_string_view(report_only->value));
  }
  rum::CspNeeds needs;
  needs.script_hash = snippet.script_hash;
  needs.sdk_origin = snippet.sdk_origin;
  needs.intake_origin = snippet.intake_origin;
  needs.worker_blob = snippet.session_replay;
  for (ngx_list_part_t* part = &r->headers_out.headers.part; part != nullptr; part = part->next) {
    auto* header = static_cast<ngx_table_elt_t*>(part->elts);
    for (ngx_uint_t i = 0; i < part->nelts; ++i) {
      if (header[i].hash == 0 || !(equals_ignoring_case(header[i].key, csp_name) ||
                                   equals_ignoring_case(header[i].key, csp_report_only_name))) {
        continue;
      }
      const rum::CspAmendment amended = rum::amend_csp(to_string_view(header[i].value), *nonce, needs);
      if (!amended.changed) continue;
      auto* copy = static_cast<u_char*>(ngx_pnalloc(r->pool, amended.value.size()));
      if (copy == nullptr) return NGX_ERROR;
      ngx_memcpy(copy, amended.value.data(), amended.value.size());
      header[i].value = {amended.value.size(), copy};
    }
  }
  return NGX_OK;
}

// `<meta name="dd-trace-id" ...><meta name="dd-trace-time" ...><script nonce="...">`:
// the page-load <-> backend trace link when the request's trace is kept.
ngx_int_t build_opening(ngx_http_request_t* r, std::string_view nonce, RumResponse& response) noexcept {
  const RequestContext* trace = find_request_context(r);
  const bool link_trace = trace != nullptr && trace->span_started && trace->sampling.keep();
  static constexpr std::string_view plain_opening = "<script>";
  if (!link_trace && nonce.empty()) {
    response.opening = to_ngx_str(plain_opening);
    return NGX_OK;
  }
  const std::size_t size = 160 + nonce.size();
  auto* text = static_cast<u_char*>(ngx_pnalloc(r->pool, size));
  if (text == nullptr) return NGX_ERROR;
  u_char* end = text;
  if (link_trace) {
    // The SDK reads the low 64 bits of the trace id in decimal, and the time
    // in epoch milliseconds (it ignores a page older than two minutes).
    end = ngx_snprintf(
        end, size - (end - text),
        "<meta name=\"dd-trace-id\" content=\"%uL\"><meta name=\"dd-trace-time\" content=\"%L\">",
        static_cast<uint64_t>(trace->trace_id.low), trace->start_wall_ns / 1'000'000);
  }
  // The nonce came from the page's own header; it is a base64-like token, but
  // a hostile upstream must not be able to break out of the attribute.
  const bool nonce_safe = nonce.find_first_of("\"<>&\r\n") == std::string_view::npos;
  if (!nonce.empty() && nonce_safe) {
    const ngx_str_t value = to_ngx_str(nonce);
    end = ngx_snprintf(end, size - (end - text), "<script nonce=\"%V\">", &value);
  } else {
    end = ngx_cpymem(end, plain_opening.data(), plain_opening.size());
  }
  response.opening = {static_cast<std::size_t>(end - text), text};
  return NGX_OK;
}

void* zlib_alloc(void* pool, unsigned items, unsigned size) {
  return ngx_palloc(static_cast<ngx_pool_t*>(pool), static_cast<std::size_t>(items) * size);
}
void zlib_free(void*, void*) {}  // the request pool frees it all

void end_inflater(void* inflater) noexcept { static_cast<rum::BodyInflater*>(inflater)->~BodyInflater(); }

ngx_int_t start_inflater(ngx_http_request_t* r, rum::BodyEncoding encoding, RumResponse& response) noexcept {
  ngx_pool_cleanup_t* cleanup = ngx_pool_cleanup_add(r->pool, sizeof(rum::BodyInflater));
  if (cleanup == nullptr) return NGX_ERROR;
  auto* inflater = new (cleanup->data) rum::BodyInflater();
  cleanup->handler = end_inflater;
  const auto format = encoding == rum::BodyEncoding::gzip ? rum::BodyInflater::Format::gzip
                                                          : rum::BodyInflater::Format::deflate;
  if (!inflater->begin(format, zlib_alloc, zlib_free, r->pool)) return NGX_ERROR;
  response.inflater = inflater;
  return NGX_OK;
}

ngx_int_t add_injected_marker(ngx_http_request_t* r) noexcept {
  ngx_table_elt_t* header = static_cast<ngx_table_elt_t*>(ngx_list_push(&r->headers_out.headers));
  if (header == nullptr) return NGX_ERROR;
  header->hash = 1;
  header->key = to_ngx_str(injected_marker);
  static constexpr std::string_view one = "1";
  header->value = to_ngx_str(one);
  header->lowcase_key = to_ngx_str(injected_marker).data;
  return NGX_OK;
}

// Makes the header say what the body gets: the snippet's framing, validators
// and CSP when it goes in, nothing otherwise.
ngx_int_t prepare_injected_header(ngx_http_request_t* r, RumResponse& response) noexcept {
  const LocationConf& conf = location_conf(r);
  const rum::RumSnippet& snippet = *conf.rum_snippet;
  std::string_view nonce;
  if (conf.rum_csp == rum_csp_auto && amend_csp_headers(r, snippet, &nonce) != NGX_OK) return NGX_ERROR;
  if (build_opening(r, nonce, response) != NGX_OK) return NGX_ERROR;
  response.body = to_ngx_str(snippet.script_body);
  if (response.inflater != nullptr) {
    // The look-ahead decoded the start of the body already: decode it again.
    if (!response.inflater->restart()) return NGX_ERROR;
    // Sent on decoded; nginx's gzip filter compresses it again when the client accepts gzip.
    r->headers_out.content_encoding->hash = 0;
    r->headers_out.content_encoding = nullptr;
    ngx_http_clear_content_length(r);
    if (response.counters) response.counters->rum_decoded.fetch_add(1, std::memory_order_relaxed);
  } else if (r->headers_out.content_length_n > 0) {
    // The look-ahead saw the injection point: the body grows by exactly the insertion.
    r->headers_out.content_length_n +=
        static_cast<off_t>(response.opening.len + response.body.len + sizeof("</script>") - 1);
    if (r->headers_out.content_length != nullptr) {
      r->headers_out.content_length->hash = 0;
      r->headers_out.content_length = nullptr;
    }
  }
  // The bytes differ from what a strong validator describes; a range of the
  // original bytes would be wrong, so ranges are off for injected responses.
  ngx_http_weak_etag(r);
  ngx_http_clear_accept_ranges(r);
  return add_injected_marker(r);
}

// Counts and logs the look-ahead's verdict when it is not "inject".
void note_not_injected(ngx_http_request_t* r, RumResponse& response) noexcept {
  const rum::LookAhead& look_ahead = response.look_ahead;
  if (response.failure != nullptr) {
    // Visible: nothing was changed, but the page may have had a point.
    count_failure(r, response, "not injected", response.failure);
    return;
  }
  if (look_ahead.verdict() == rum::LookAhead::Verdict::no_injection_point) {
    if (response.counters) response.counters->rum_no_injection_point.fetch_add(1, std::memory_order_relaxed);
    // Debug only: fragments (htmx, XHR) have no point, and come by the hundred.
    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "datadog: RUM not injected: the page has no </head> and no <body> tag");
    return;
  }
  count_skip(look_ahead.skip_reason());
  ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0, "datadog: RUM not injected: %s",
                 rum::skip_reason_name(look_ahead.skip_reason()).data());
}

// The look-ahead has a verdict: the held header goes out (changed only if the
// snippet goes in), then what the look-ahead saw and the rest of the body.
ngx_int_t send_held_header(ngx_http_request_t* r, RumResponse& response, ngx_chain_t* body) noexcept {
  response.deciding = false;
  const bool inject =
      response.failure == nullptr && response.look_ahead.verdict() == rum::LookAhead::Verdict::inject;
  if (inject) {
    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "datadog: RUM injection point within the first %uL bytes: injecting",
                   static_cast<uint64_t>(response.look_ahead.seen()));
    if (prepare_injected_header(r, response) != NGX_OK) return NGX_ERROR;
    response.known_point = rum::KnownInjectionPoint(response.look_ahead.point());
  } else {
    note_not_injected(r, response);
  }
  const ngx_int_t rc = next_header_filter(r);
  // gzip, after this filter, asks for memory through the main request's flag.
  response.others_need_memory = response.others_need_memory || r->main_filter_need_in_memory;
  if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) return NGX_ERROR;
  if (inject) return filter_rum_body(r, response, body, next_body_filter);
  response.passthrough = true;
  release_memory_requirement(r, response);
  return next_body_filter(r, body);
}

ngx_int_t on_header(ngx_http_request_t* r) noexcept {
  if (r != r->main) {
    // A subrequest's part (SSI include, add_before_body) may carry the
    // injection point: the main request's look-ahead and scanner read bytes,
    // so the copy filter must read this part's file into memory too.
    const auto* main =
        static_cast<RumResponse*>(ngx_http_get_module_ctx(r->main, ngx_http_datadog_rum_filter_module));
    if (main != nullptr && !main->passthrough && !main->found) r->filter_need_in_memory = 1;
    return next_header_filter(r);
  }
  const LocationConf& conf = location_conf(r);
  if (!conf.rum || conf.rum_snippet == nullptr) return next_header_filter(r);
  // An internal redirect to an error page sends a second header: start over.
  ngx_http_set_ctx(r, nullptr, ngx_http_datadog_rum_filter_module);

  const rum::ResponseFacts facts = response_facts(r);
  const rum::SkipReason reason = rum::decide_eligibility(facts);
  if (reason != rum::SkipReason::eligible) {
    count_skip(reason);
    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0, "datadog: RUM not injected: %s",
                   rum::skip_reason_name(reason).data());
    return next_header_filter(r);
  }

  auto* response = static_cast<RumResponse*>(ngx_pcalloc(r->pool, sizeof(RumResponse)));
  if (response == nullptr) return NGX_ERROR;
  new (response) RumResponse{};  // trivially destructible: no cleanup needed
  if (Worker* worker = Worker::get()) response->counters = worker->status_slot();
  const rum::BodyEncoding encoding = rum::classify_encoding(facts.content_encoding);
  if (encoding != rum::BodyEncoding::identity && start_inflater(r, encoding, *response) != NGX_OK) {
    return NGX_ERROR;
  }
  // The header waits for the body (as nginx's image filter does): the body
  // filter's look-ahead decides, then sends it (send_held_header).
  response->deciding = true;
  ngx_http_set_ctx(r, response, ngx_http_datadog_rum_filter_module);
  // Bodies in memory: the scanner reads bytes. Whether a filter before this
  // one (SSI, sub_filter) wants them in memory too decides whether the rest
  // of a file may go by sendfile() once the snippet is out; the copy filter
  // reads the flags only when the body starts.
  response->others_need_memory = r->filter_need_in_memory || r->main_filter_need_in_memory;
  r->filter_need_in_memory = 1;
  return NGX_OK;
}

ngx_int_t on_body(ngx_http_request_t* r, ngx_chain_t* in) noexcept {
  auto* response = static_cast<RumResponse*>(ngx_http_get_module_ctx(r, ngx_http_datadog_rum_filter_module));
  if (response == nullptr || response->passthrough) return next_body_filter(r, in);
  if (response->deciding) {
    ngx_chain_t* body = nullptr;
    switch (look_ahead(r, *response, in, &body)) {
      case LookAheadStep::waiting:
        return NGX_OK;
      case LookAheadStep::error:
        return NGX_ERROR;
      case LookAheadStep::decided:
        return send_held_header(r, *response, body);
    }
  }
  return filter_rum_body(r, *response, in, next_body_filter);
}

// The marker's name as a set, for remove_request_headers (hashed at start-up).
HeaderNameSet pending_marker_names;

// Tells the upstream that nginx injects RUM here, so that an injector in the
// application stands down. Every client-sent copy goes first, whatever its
// case or `_` spelling: the application would read "0,1".
ngx_int_t on_rewrite(ngx_http_request_t* r) noexcept {
  if (r != r->main) return NGX_DECLINED;
  const LocationConf& conf = location_conf(r);
  if (!conf.rum || conf.rum_snippet == nullptr) return NGX_DECLINED;
  const auto& main = *static_cast<MainConf*>(ngx_http_get_module_main_conf(r, ngx_http_datadog_module));
  // Only an exhausted pool fails here; as nginx's own handlers do then, the
  // request ends with a 500 rather than reach the application unmarked.
  if (remove_request_headers(r, pending_marker_names, main.underscore_header_names) != NGX_OK) {
    return NGX_HTTP_INTERNAL_SERVER_ERROR;
  }
  RequestHeaderWriter writer(r);
  writer.set(pending_marker, "1");
  return writer.failed() ? NGX_HTTP_INTERNAL_SERVER_ERROR : NGX_DECLINED;
}

ngx_int_t postconfiguration(ngx_conf_t* cf) noexcept {
  pending_marker_names = HeaderNameSet::of(std::span<const std::string_view>(&pending_marker, 1));
  next_header_filter = ngx_http_top_header_filter;
  ngx_http_top_header_filter = on_header;
  next_body_filter = ngx_http_top_body_filter;
  ngx_http_top_body_filter = on_body;
  auto* core =
      static_cast<ngx_http_core_main_conf_t*>(ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module));
  auto* handler =
      static_cast<ngx_http_handler_pt*>(ngx_array_push(&core->phases[NGX_HTTP_REWRITE_PHASE].handlers));
  if (handler == nullptr) return NGX_ERROR;
  *handler = on_rewrite;
  return NGX_OK;
}

ngx_http_module_t rum_filter_module_ctx = {
    nullptr,            // preconfiguration
    postconfiguration,  // postconfiguration
    nullptr,            // create main configuration
    nullptr,            // init main configuration
    nullptr,            // create server configuration
    nullptr,            // merge server configuration
    nullptr,            // create location configuration
    nullptr,            // merge location configuration
};

}  // namespace
}  // namespace datadog::module

extern "C" {
ngx_module_t ngx_http_datadog_rum_filter_module = {
    NGX_MODULE_V1,
    &datadog::module::rum_filter_module_ctx,  // module context
    nullptr,                                  // module directives
    NGX_HTTP_MODULE,                          // module type
    nullptr,                                  // init master
    nullptr,                                  // init module
    nullptr,                                  // init process
    nullptr,                                  // init thread
    nullptr,                                  // exit thread
    nullptr,                                  // exit process
    nullptr,                                  // exit master
    NGX_MODULE_V1_PADDING,
};
}
