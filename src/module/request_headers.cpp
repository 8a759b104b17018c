// nginx keeps request headers in an ngx_list_t with lowercase keys; entries
// cannot be removed in place, so removal relinks the list around them (in the
// pool, the entries themselves unmoved), and only when a client actually sent
// one of the names.
#include "module/request_headers.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>

#include "module/str_view.hpp"
#include "trace/header_name.hpp"

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

ngx_uint_t hash_of(std::string_view name) noexcept {
  return ngx_hash_key(reinterpret_cast<u_char*>(const_cast<char*>(name.data())), name.size());
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
    entry = Entry{name.data(), name.size(), hash_of(name)};
  }
  return entry.hash;
}

// nginx reads no header lines for an HTTP/0.9 request and never initialises
// its list (ngx_http_process_request_line goes straight to
// ngx_http_process_request): pushing onto it would allocate from a null pool.
// Initialised, it also carries the trace context to a proxied upstream.
bool prepare_header_list(ngx_http_request_t* r) noexcept {
  ngx_list_t& headers = r->headers_in.headers;
  if (headers.nalloc != 0 && headers.pool != nullptr) return true;
  return ngx_list_init(&headers, r->pool, 4, sizeof(ngx_table_elt_t)) == NGX_OK;
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
  auto* header = prepare_header_list(r_)
                     ? static_cast<ngx_table_elt_t*>(ngx_list_push(&r_->headers_in.headers))
                     : nullptr;
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

void HeaderNameSet::add(std::string_view name) noexcept {
  if (contains(name) || count_ == names_.size()) return;
  if (name.size() < 64) lengths_ |= std::uint64_t{1} << name.size();
  hashes_[count_] = hash_of(name);
  names_[count_++] = name;
}

HeaderNameSet HeaderNameSet::of(const trace::PropagationStyles& styles) noexcept {
  HeaderNameSet set;
  for (const trace::PropagationStyle style : styles) {
    for (const std::string_view name : trace::propagation_header_names(style)) set.add(name);
  }
  return set;
}

HeaderNameSet HeaderNameSet::of(std::span<const std::string_view> names) noexcept {
  HeaderNameSet set;
  for (const std::string_view name : names) set.add(name);
  return set;
}

bool HeaderNameSet::contains(std::string_view lowercase_name) const noexcept {
  for (std::size_t i = 0; i < count_; ++i) {
    if (names_[i] == lowercase_name) return true;
  }
  return false;
}

bool HeaderNameSet::contains(std::string_view lowercase_name, ngx_uint_t hash) const noexcept {
  // A hash of 0 marks a header another module set aside: compared by name,
  // as before, since an upstream module may still forward it.
  if (hash == 0) return contains(lowercase_name);
  for (std::size_t i = 0; i < count_; ++i) {
    if (hashes_[i] == hash && names_[i] == lowercase_name) return true;
  }
  return false;
}

bool HeaderNameSet::contains_cgi_alias(std::string_view lowercase_name) const noexcept {
  // Most keys fail on their length alone, before their bytes are read.
  const std::size_t size = lowercase_name.size();
  if (size >= 64 || (lengths_ >> size & 1) == 0) return false;
  if (lowercase_name.find('_') == std::string_view::npos) return false;
  for (std::size_t i = 0; i < count_; ++i) {
    if (trace::same_cgi_variable(names_[i], lowercase_name)) return true;
  }
  return false;
}

ngx_int_t remove_request_headers(ngx_http_request_t* r, const HeaderNameSet& names,
                                 bool underscore_names) noexcept {
  // By hash first: a spelling with `_` has another hash, and is looked for
  // only where nginx may have let one through.
  auto matches = [&](const ngx_table_elt_t& header) {
    const std::string_view key = lowercase_key(header);
    return names.contains(key, header.hash) || (underscore_names && names.contains_cgi_alias(key));
  };
  ngx_uint_t matching = 0;
  for_each_header(r->headers_in.headers, [&](const ngx_table_elt_t& header) {
    if (matches(header)) ++matching;
  });
  if (matching == 0) return NGX_OK;
  // The kept entries stay where they are: nginx's own pointers to them
  // (headers_in.host, user_agent, the cookies array) and modules that find a
  // header by its address (headers-more, lua) must go on seeing the request's
  // headers. So the list becomes a chain of views of the runs of kept entries,
  // then an empty part of its own for later pushes (a view is never the last
  // part: pushing there would overwrite the entry after it). Everything is
  // allocated before the list changes, so a failure leaves it as it was.
  ngx_list_t& headers = r->headers_in.headers;
  ngx_uint_t runs = 0;
  bool in_run = false;
  for (ngx_list_part_t* part = &headers.part; part != nullptr; part = part->next) {
    auto* items = static_cast<ngx_table_elt_t*>(part->elts);
    in_run = false;
    for (ngx_uint_t i = 0; i < part->nelts; ++i) {
      const bool keep = !matches(items[i]);
      if (keep && !in_run) ++runs;
      in_run = keep;
    }
  }
  auto* parts = static_cast<ngx_list_part_t*>(ngx_palloc(r->pool, (runs + 1) * sizeof(ngx_list_part_t)));
  void* room = ngx_palloc(r->pool, headers.nalloc * headers.size);
  if (parts == nullptr || room == nullptr) return NGX_ERROR;
  ngx_uint_t built = 0;
  const ngx_list_part_t first = headers.part;  // overwritten below, read first
  for (const ngx_list_part_t* part = &first; part != nullptr; part = part->next) {
    auto* items = static_cast<ngx_table_elt_t*>(part->elts);
    in_run = false;
    for (ngx_uint_t i = 0; i < part->nelts; ++i) {
      const bool keep = !matches(items[i]);
      if (keep && !in_run) parts[built++] = ngx_list_part_t{&items[i], 0, nullptr};
      if (keep) ++parts[built - 1].nelts;
      in_run = keep;
    }
  }
  parts[runs] = ngx_list_part_t{room, 0, nullptr};
  for (ngx_uint_t k = 0; k < runs; ++k) parts[k].next = &parts[k + 1];
  // The list's first part is its own member: a copy of the first view (or of
  // the empty part when nothing is kept).
  headers.part = parts[0];
  headers.last = runs == 0 ? &headers.part : &parts[runs];
  return NGX_OK;
}

}  // namespace datadog::module
