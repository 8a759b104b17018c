// The request's incoming header list seen through the propagation core's
// reader and writer interfaces. Writing here is what makes proxy_pass,
// fastcgi_pass, uwsgi_pass and grpc_pass forward the trace context with no
// extra directive: they all copy r->headers_in.headers upstream.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "module/nginx.hpp"
#include "trace/propagation.hpp"

namespace datadog::module {

class RequestHeaderReader final : public trace::HeaderReader {
 public:
  explicit RequestHeaderReader(ngx_http_request_t* r) noexcept : r_(r) {}
  std::size_t get(std::string_view lowercase_name, std::string_view* out, std::size_t max) const override;
  // One walk over the header list for all the names extraction may need.
  std::uint64_t which_present(std::span<const std::string_view> lowercase_names) const override;

 private:
  ngx_http_request_t* r_;
};

class RequestHeaderWriter final : public trace::HeaderWriter {
 public:
  explicit RequestHeaderWriter(ngx_http_request_t* r) noexcept : r_(r) {}
  // Appends the header; call remove_request_headers first so that no
  // client-sent copy remains.
  void set(std::string_view lowercase_name, std::string_view value) override;
  bool failed() const noexcept { return failed_; }

 private:
  ngx_http_request_t* r_;
  bool failed_ = false;
};

// Header names the module writes into requests, without repeats: built once
// per configuration, looked up for every request header.
class HeaderNameSet {
 public:
  // Every name the styles read or write.
  static HeaderNameSet of(const trace::PropagationStyles& styles) noexcept;
  // Lowercase names, written with `-` and never `_`.
  static HeaderNameSet of(std::span<const std::string_view> names) noexcept;
  bool contains(std::string_view lowercase_name) const noexcept;
  // The same for a request header: nginx's hash of its lowercase name (what
  // it stores in ngx_table_elt_t.hash) rules out nearly every name at once.
  bool contains(std::string_view lowercase_name, ngx_uint_t hash) const noexcept;
  // One of the names with some `-` written `_`, which an application behind
  // nginx takes for the same header (trace/header_name.hpp).
  bool contains_cgi_alias(std::string_view lowercase_name) const noexcept;

 private:
  void add(std::string_view name) noexcept;

  std::array<std::string_view, 32> names_{};
  std::array<ngx_uint_t, 32> hashes_{};
  std::uint64_t lengths_ = 0;  // bit n: some name (shorter than 64) has n characters
  std::size_t count_ = 0;
};

// Drops every client-sent header with one of these names, so that nothing the
// client sent under them (valid or not) goes upstream. `underscore_names`:
// nginx may have let names with `_` through (MainConf), so their `_`-for-`-`
// spellings go too.
ngx_int_t remove_request_headers(ngx_http_request_t* r, const HeaderNameSet& names,
                                 bool underscore_names) noexcept;

}  // namespace datadog::module
