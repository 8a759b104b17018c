// Tags users add to spans: `datadog_tag <key> <value>` (value with variables,
// evaluated when the span finishes) and DD_TAGS (static, lowest precedence).
#pragma once

#include "module/nginx.hpp"

namespace datadog::module {

struct ConfiguredTag {
  ngx_str_t key;
  ngx_http_complex_value_t* value;  // null for DD_TAGS entries
  ngx_str_t static_value;
};

char* set_tag(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;

// This level's tags, then the enclosing level's whose keys this level does
// not set (a lower level overrides a key). Null when neither has any.
ngx_array_t* merge_tags(ngx_conf_t* cf, ngx_array_t* own, ngx_array_t* inherited) noexcept;

// DD_TAGS ("key:value,key2:value2", commas or spaces between pairs) as
// ConfiguredTag entries, or null when unset. Errors name the bad entry.
ngx_array_t* tags_from_environment(ngx_conf_t* cf) noexcept;

}  // namespace datadog::module
