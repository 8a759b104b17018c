// Configuration of user tags.
#include "module/span_tags.hpp"

#include <cstdlib>
#include <string_view>

#include "module/environment.hpp"
#include "module/location_conf.hpp"
#include "module/str_view.hpp"

namespace datadog::module {
namespace {

bool has_key(const ngx_array_t* tags, std::string_view key) {
  if (tags == nullptr) return false;
  const auto* items = static_cast<const ConfiguredTag*>(tags->elts);
  for (ngx_uint_t i = 0; i < tags->nelts; ++i) {
    if (to_string_view(items[i].key) == key) return true;
  }
  return false;
}

ngx_str_t copy(ngx_pool_t* pool, std::string_view text) {
  if (text.empty()) return ngx_str_t{0, nullptr};  // DD_TAGS "key" or "key:"
  auto* data = static_cast<u_char*>(ngx_pnalloc(pool, text.size()));
  if (data != nullptr) ngx_memcpy(data, text.data(), text.size());
  return ngx_str_t{data != nullptr ? text.size() : 0, data};
}

}  // namespace

char* set_tag(ngx_conf_t* cf, ngx_command_t*, void* conf_ptr) noexcept {
  auto* conf = static_cast<LocationConf*>(conf_ptr);
  auto* args = static_cast<ngx_str_t*>(cf->args->elts);
  if (args[1].len == 0) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "datadog_tag needs a non-empty tag name");
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  // A tag name is an identifier: a control character in it is a mistake
  // (values may hold any bytes: msgpack strings need no escaping).
  for (std::size_t i = 0; i < args[1].len; ++i) {
    if (args[1].data[i] < 0x20 || args[1].data[i] == 0x7f) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                         "datadog_tag name contains a control character (byte 0x%02xd at offset %uz)",
                         static_cast<int>(args[1].data[i]), i);
      return static_cast<char*>(NGX_CONF_ERROR);
    }
  }
  if (has_key(conf->tags, to_string_view(args[1]))) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "datadog_tag \"%V\" is set twice at this level", &args[1]);
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  if (conf->tags == nullptr) {
    conf->tags = ngx_array_create(cf->pool, 4, sizeof(ConfiguredTag));
    if (conf->tags == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
  }
  auto* tag = static_cast<ConfiguredTag*>(ngx_array_push(conf->tags));
  auto* value =
      static_cast<ngx_http_complex_value_t*>(ngx_pcalloc(cf->pool, sizeof(ngx_http_complex_value_t)));
  if (tag == nullptr || value == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
  ngx_http_compile_complex_value_t ccv;
  ngx_memzero(&ccv, sizeof(ccv));
  ccv.cf = cf;
  ccv.value = &args[2];
  ccv.complex_value = value;
  if (ngx_http_compile_complex_value(&ccv) != NGX_OK) return static_cast<char*>(NGX_CONF_ERROR);
  *tag = ConfiguredTag{args[1], value, ngx_str_t{0, nullptr}};
  return NGX_CONF_OK;
}

ngx_array_t* merge_tags(ngx_conf_t* cf, ngx_array_t* own, ngx_array_t* inherited) noexcept {
  if (inherited == nullptr) return own;
  if (own == nullptr) return inherited;
  ngx_array_t* merged = ngx_array_create(cf->pool, own->nelts + inherited->nelts, sizeof(ConfiguredTag));
  if (merged == nullptr) return nullptr;
  const auto* mine = static_cast<const ConfiguredTag*>(own->elts);
  for (ngx_uint_t i = 0; i < own->nelts; ++i) *static_cast<ConfiguredTag*>(ngx_array_push(merged)) = mine[i];
  const auto* theirs = static_cast<const ConfiguredTag*>(inherited->elts);
  for (ngx_uint_t i = 0; i < inherited->nelts; ++i) {
    if (!has_key(own, to_string_view(theirs[i].key)))
      *static_cast<ConfiguredTag*>(ngx_array_push(merged)) = theirs[i];
  }
  return merged;
}

ngx_array_t* tags_from_environment(ngx_conf_t* cf) noexcept {
  const auto text = nonempty_environment_variable(cf, "DD_TAGS");
  if (!text) return nullptr;
  ngx_array_t* tags = ngx_array_create(cf->pool, 4, sizeof(ConfiguredTag));
  if (tags == nullptr) return nullptr;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const auto end = rest.find_first_of(", ");
    std::string_view item = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    if (item.empty()) continue;
    const auto colon = item.find(':');
    // "key" alone is a tag with an empty value, as Datadog tracers read it.
    const std::string_view key = item.substr(0, colon);
    const std::string_view value =
        colon == std::string_view::npos ? std::string_view{} : item.substr(colon + 1);
    if (key.empty() || has_key(tags, key)) continue;
    auto* tag = static_cast<ConfiguredTag*>(ngx_array_push(tags));
    if (tag == nullptr) return nullptr;
    *tag = ConfiguredTag{copy(cf->pool, key), nullptr, copy(cf->pool, value)};
  }
  return tags;
}

}  // namespace datadog::module
