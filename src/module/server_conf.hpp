// Per-server facts the configuration decides once: whether any location of
// the server can pass a request to somewhere else.
#pragma once

#include "module/nginx.hpp"

namespace datadog::module {

struct ServerConf {
  // Some location of this server (or an `if` or `limit_except` in one) has a
  // content handler other than datadog_status: proxy_pass, fastcgi_pass,
  // uwsgi_pass, grpc_pass, scgi_pass, memcached_pass, js_content, perl...
  // Internal redirects, named locations and subrequests (SSI, auth_request,
  // mirror) never leave the server, so a server without one can never
  // forward the request's headers: propagation headers are not written there.
  bool may_forward = false;
};

void* create_server_conf(ngx_conf_t* cf) noexcept;

// Called while nginx merges a location: notes a content handler that may
// forward in the server being merged.
void note_content_handler(ngx_conf_t* cf) noexcept;

// False only when no location of the request's server can forward it.
bool server_may_forward(ngx_http_request_t* r) noexcept;

// Whether any server of the configuration lets request header names with
// `_` into the request (underscores_in_headers on, or ignore_invalid_headers
// off). Valid once the servers are merged (postconfiguration).
bool any_server_keeps_underscore_names(ngx_conf_t* cf) noexcept;

}  // namespace datadog::module
