// Each variable expands to "-" when the request has no active trace (tracing
// off, or not started yet), as with nginx-datadog. Values are built in the
// request pool and never cached: the trace starts after nginx may first look.
#include "module/variables.hpp"

#include <charconv>
#include <memory_resource>
#include <string>

#include "module/main_conf.hpp"
#include "module/pool_resource.hpp"
#include "module/request_context.hpp"
#include "module/str_view.hpp"
#include "trace/propagation.hpp"

extern ngx_module_t ngx_http_datadog_module;

namespace datadog::module {
namespace {

enum class Variable : uintptr_t { trace_id, span_id, trace_id_base10, span_id_base10, location, json };

void set_value(ngx_http_variable_value_t* v, const u_char* data, std::size_t size) {
  v->data = const_cast<u_char*>(data);
  v->len = static_cast<unsigned>(size);
  v->valid = 1;
  v->no_cacheable = 1;
  v->not_found = 0;
}

ngx_int_t set_copy(ngx_http_request_t* r, ngx_http_variable_value_t* v, std::string_view text) {
  auto* data = static_cast<u_char*>(ngx_pnalloc(r->pool, text.size()));
  if (data == nullptr && !text.empty()) return NGX_ERROR;
  // Empty text may have no data (the location of a request nginx rejected
  // before choosing one): memcpy from null is undefined even for 0 bytes.
  if (!text.empty()) ngx_memcpy(data, text.data(), text.size());
  set_value(v, data, text.size());
  return NGX_OK;
}

// Collects the propagation headers as a JSON object.
class JsonHeaders final : public trace::HeaderWriter {
 public:
  explicit JsonHeaders(std::pmr::memory_resource* memory) : json_("{", memory) {}
  void set(std::string_view name, std::string_view value) override {
    json_ += json_.size() > 1 ? ",\"" : "\"";
    escape(name);
    json_ += "\":\"";
    escape(value);
    json_ += '"';
  }
  std::string_view finish() {
    json_ += '}';
    return json_;
  }

 private:
  void escape(std::string_view text) {
    for (const char c : text) {
      if (c == '"' || c == '\\') {
        json_ += '\\';
        json_ += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        static constexpr char hex[] = "0123456789abcdef";
        json_ += "\\u00";
        json_ += hex[(c >> 4) & 0xf];
        json_ += hex[c & 0xf];
      } else {
        json_ += c;
      }
    }
  }
  std::pmr::string json_;
};

ngx_int_t set_propagation_json(ngx_http_request_t* r, ngx_http_variable_value_t* v,
                               const RequestContext& ctx) {
  const auto& main = *static_cast<MainConf*>(ngx_http_get_module_main_conf(r, ngx_http_datadog_module));
  PoolResource memory(r->pool);
  trace::OutgoingContext outgoing;
  outgoing.trace_id = ctx.trace_id;
  outgoing.span_id = ctx.active_span_id();
  outgoing.sampling_priority = ctx.sampling.priority;
  outgoing.origin = ctx.origin;
  if (ctx.trace_tags != nullptr) outgoing.trace_tags = *ctx.trace_tags;
  JsonHeaders headers(&memory);
  trace::inject(outgoing, main.inject_styles, headers, &memory, nullptr, main.propagation_limits);
  return set_copy(r, v, headers.finish());
}

ngx_int_t get_variable(ngx_http_request_t* r, ngx_http_variable_value_t* v, uintptr_t data) noexcept {
  static const u_char dash[] = "-";
  RequestContext* ctx = find_request_context(r->main);
  if (ctx == nullptr || !ctx->span_started) {
    set_value(v, dash, 1);
    return NGX_OK;
  }
  char buffer[40];
  try {
    switch (static_cast<Variable>(data)) {
      case Variable::trace_id: {
        const auto hex = trace::hex32(ctx->trace_id);
        return set_copy(r, v, {hex.data(), hex.size()});
      }
      case Variable::span_id: {
        const auto hex = trace::hex16(ctx->active_span_id());
        return set_copy(r, v, {hex.data(), hex.size()});
      }
      case Variable::trace_id_base10:
      case Variable::span_id_base10: {
        const auto id = static_cast<Variable>(data) == Variable::trace_id_base10 ? ctx->trace_id.low
                                                                                 : ctx->active_span_id();
        const auto end = std::to_chars(buffer, buffer + sizeof(buffer), id).ptr;
        return set_copy(r, v, {buffer, static_cast<std::size_t>(end - buffer)});
      }
      case Variable::location: {
        auto* core =
            static_cast<ngx_http_core_loc_conf_t*>(ngx_http_get_module_loc_conf(r, ngx_http_core_module));
        return set_copy(r, v, to_string_view(core->name));
      }
      case Variable::json:
        return set_propagation_json(r, v, *ctx);
    }
  } catch (...) {
    return NGX_ERROR;
  }
  return NGX_ERROR;
}

struct Definition {
  ngx_str_t name;
  Variable which;
};

Definition definitions[] = {
    {ngx_string("datadog_trace_id"), Variable::trace_id},
    {ngx_string("datadog_span_id"), Variable::span_id},
    {ngx_string("datadog_trace_id_64bits_base10"), Variable::trace_id_base10},
    {ngx_string("datadog_span_id_64bits_base10"), Variable::span_id_base10},
    {ngx_string("datadog_location"), Variable::location},
    {ngx_string("datadog_json"), Variable::json},
};

}  // namespace

ngx_int_t add_variables(ngx_conf_t* cf) noexcept {
  for (Definition& definition : definitions) {
    ngx_http_variable_t* variable = ngx_http_add_variable(cf, &definition.name, NGX_HTTP_VAR_NOCACHEABLE);
    if (variable == nullptr) return NGX_ERROR;
    variable->get_handler = get_variable;
    variable->data = static_cast<uintptr_t>(definition.which);
  }
  return NGX_OK;
}

}  // namespace datadog::module
