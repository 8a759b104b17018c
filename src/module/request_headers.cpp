// nginx keeps request headers in an ngx_list_t with lowercase keys; entries
// cannot be removed in place, so removal rebuilds the list in the pool, and
// only when a client actually sent one of the names.
#include "module/request_headers.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>

#include "module/str_view.hpp"

namespace datadog::module {
namespace {

template <typename Visit>
void for_each_header(ngx_list_t& headers, Visit&& visit) {
  for (ngx_list_part_t* part = &headers.part; part != nullptr; part = part->next) {
    auto* items = static_cast<ngx_table_elt_t*>(part->elts);
    for (ngx_uint_t i = 0; i < part->nelts; ++i) visit(items[i]);
  }
}

std::string_view lowercase_key(const ngx_table_elt_t& header) {
  return {reinterpret_cast<const char*>(header.lowcase_key), header.key.len};
}

// The names injected are a handful of static strings: their hashes are
// remembered by address instead of being computed for every request, in a
// direct-mapped table (two names that share a slot only cost a recomputation).
// The address and the length identify the text: a header's key points at the
// name itself, so RequestHeaderWriter::set takes static names only.
ngx_uint_t header_hash(std::string_view name) {
  struct Entry {
    const char* data;
    std::size_t size;
    ngx_uint_t hash;
  };
  static Entry cache[64];
  Entry& entry = cache[(reinterpret_cast<std::uintptr_t>(name.data()) >> 2) % std::size(cache)];
  if (entry.data != name.data() || entry.size != name.size()) {
    entry = Entry{name.data(), name.size(),
                  ngx_hash_key(reinterpret_cast<u_char*>(const_cast<char*>(name.data())), name.size())};
  }
  return entry.hash;
}

}  // namespace

std::size_t RequestHeaderReader::get(std::string_view lowercase_name, std::string_view* out,
                                     std::size_t max) const {
  std::size_t found = 0;
  for_each_header(r_->headers_in.headers, [&](const ngx_table_elt_t& header) {
    if (header.hash == 0 || lowercase_key(header) != lowercase_name) return;
    if (found < max) out[found] = to_string_view(header.value);
    ++found;
  });
  return found;
}

std::uint64_t RequestHeaderReader::which_present(std::span<const std::string_view> lowercase_names) const {
  const std::size_t n = std::min<std::size_t>(lowercase_names.size(), 64);
  std::uint64_t present = 0;
  for_each_header(r_->headers_in.headers, [&](const ngx_table_elt_t& header) {
    if (header.hash == 0) return;
    const std::string_view key = lowercase_key(header);
    for (std::size_t i = 0; i < n; ++i) {
      if (lowercase_names[i] == key) present |= std::uint64_t{1} << i;
    }
  });
  return present;
}

void RequestHeaderWriter::set(std::string_view lowercase_name, std::string_view value) {
  auto* header = static_cast<ngx_table_elt_t*>(ngx_list_push(&r_->headers_in.headers));
  if (header == nullptr) {
    failed_ = true;
    return;
  }
  // The names are static lowercase text: key and lowcase_key can share it.
  header->key = to_ngx_str(lowercase_name);
  header->lowcase_key = header->key.data;
  header->value = to_ngx_str(value);
  // The real hash, so that proxy_set_header of the same name still overrides.
  header->hash = header_hash(lowercase_name);
}

PropagationHeaderNames PropagationHeaderNames::of(const trace::PropagationStyles& styles) noexcept {
  PropagationHeaderNames set;
  for (const trace::PropagationStyle style : styles) {
    for (const std::string_view name : trace::propagation_header_names(style)) {
      if (!set.contains(name) && set.count_ < set.names_.size()) {
        set.hashes_[set.count_] =
            ngx_hash_key(reinterpret_cast<u_char*>(const_cast<char*>(name.data())), name.size());
        set.names_[set.count_++] = name;
      }
    }
  }
  return set;
}

bool PropagationHeaderNames::contains(std::string_view lowercase_name) const noexcept {
  for (std::size_t i = 0; i < count_; ++i) {
    if (names_[i] == lowercase_name) return true;
  }
  return false;
}

bool PropagationHeaderNames::contains(std::string_view lowercase_name, ngx_uint_t hash) const noexcept {
  // A hash of 0 marks a header another module set aside: compared by name,
  // as before, since an upstream module may still forward it.
  if (hash == 0) return contains(lowercase_name);
  for (std::size_t i = 0; i < count_; ++i) {
    if (hashes_[i] == hash && names_[i] == lowercase_name) return true;
  }
  return false;
}

ngx_int_t remove_propagation_headers(ngx_http_request_t* r, const PropagationHeaderNames& names) noexcept {
  ngx_uint_t total = 0;
  ngx_uint_t matching = 0;
  for_each_header(r->headers_in.headers, [&](const ngx_table_elt_t& header) {
    ++total;
    if (names.contains(lowercase_key(header), header.hash)) ++matching;
  });
  if (matching == 0) return NGX_OK;
  // The list points at its own first part (`last`), so the new one is built in
  // place; the old parts stay readable in the pool while they are copied.
  ngx_list_t old = r->headers_in.headers;
  ngx_list_t& headers = r->headers_in.headers;
  if (ngx_list_init(&headers, r->pool, total - matching + 8, sizeof(ngx_table_elt_t)) != NGX_OK)
    return NGX_ERROR;
  bool failed = false;
  for_each_header(old, [&](const ngx_table_elt_t& header) {
    if (failed || names.contains(lowercase_key(header), header.hash)) return;
    auto* copy = static_cast<ngx_table_elt_t*>(ngx_list_push(&headers));
    if (copy == nullptr) {
      failed = true;
      return;
    }
    *copy = header;
  });
  return failed ? NGX_ERROR : NGX_OK;
}

}  // namespace datadog::module
