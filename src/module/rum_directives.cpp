// Parsing of the RUM directives; the option typing and the snippet itself are
// in rum/rum_snippet.cpp.
#include "module/rum_directives.hpp"

#include <cstdlib>
#include <memory>
#include <new>
#include <string_view>
#include <variant>

#include "module/main_conf.hpp"
#include "module/str_view.hpp"

namespace datadog::module {

ngx_conf_enum_t rum_csp_values[] = {
    {ngx_string("auto"), rum_csp_auto},
    {ngx_string("off"), rum_csp_off},
    {ngx_null_string, 0},
};

namespace {

template <typename T>
void delete_object(void* object) noexcept {
  delete static_cast<T*>(object);
}

// Gives a heap object the lifetime of the configuration pool.
template <typename T>
T* pool_owned(ngx_pool_t* pool, std::unique_ptr<T> object) noexcept {
  ngx_pool_cleanup_t* cleanup = ngx_pool_cleanup_add(pool, 0);
  if (cleanup == nullptr) return nullptr;
  cleanup->handler = delete_object<T>;
  cleanup->data = object.get();
  return object.release();
}

// Called by ngx_conf_parse for each `"key" "value" ...;` line of the block.
char* parse_rum_option(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
  auto* block = static_cast<RumBlock*>(conf);
  const auto* args = static_cast<ngx_str_t*>(cf->args->elts);
  if (cf->args->nelts < 2) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "RUM option \"%V\" has no value (expected \"key\" \"value\";)",
                       &args[0]);
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  try {
    rum::RumOption option;
    option.key = to_string_view(args[0]);
    for (ngx_uint_t i = 1; i < cf->args->nelts; ++i) option.values.emplace_back(to_string_view(args[i]));
    block->options.push_back(std::move(option));
    block->lines.push_back(cf->conf_file->line);
  } catch (const std::bad_alloc&) {
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  return NGX_CONF_OK;
}

// The line of the option an error sentence names, else the block's last line.
ngx_uint_t line_of_error(const RumBlock& block, std::string_view message, ngx_uint_t fallback) {
  for (std::size_t i = 0; i < block.options.size(); ++i) {
    const std::string quoted = "\"" + block.options[i].key + "\"";
    if (message.find(quoted) != std::string_view::npos) return block.lines[i];
  }
  return fallback;
}

char* conf_error_at(ngx_conf_t* cf, ngx_uint_t line, std::string_view message) noexcept {
  const ngx_uint_t current = cf->conf_file->line;
  cf->conf_file->line = line;
  const ngx_str_t text = to_ngx_str(message);
  ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V", &text);
  cf->conf_file->line = current;
  return static_cast<char*>(NGX_CONF_ERROR);
}

}  // namespace

char* set_rum_config(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
  auto* lcf = static_cast<LocationConf*>(conf);
  if (lcf->rum_block != nullptr) return const_cast<char*>("is duplicate");
  const auto* args = static_cast<ngx_str_t*>(cf->args->elts);
  RumBlock* block = nullptr;
  try {
    block = pool_owned(cf->pool, std::make_unique<RumBlock>());
    if (block == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
    block->version = to_string_view(args[1]);
  } catch (const std::bad_alloc&) {
    return static_cast<char*>(NGX_CONF_ERROR);
  }

  ngx_conf_t saved = *cf;
  cf->handler = parse_rum_option;
  cf->handler_conf = reinterpret_cast<char*>(block);
  char* rv = ngx_conf_parse(cf, nullptr);
  *cf = saved;
  if (rv != NGX_CONF_OK) return rv;

  // Validate now, where nginx still knows the file and line; the snippet
  // that is used is built at merge time, once datadog_rum_sdk_url is known.
  try {
    auto built = rum::build_rum_snippet(block->version, block->options, "");
    if (const auto* error = std::get_if<std::string>(&built)) {
      return conf_error_at(cf, line_of_error(*block, *error, cf->conf_file->line), *error);
    }
  } catch (const std::bad_alloc&) {
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  lcf->rum_block = block;
  return NGX_CONF_OK;
}

char* set_rum_sdk_url(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
  auto* lcf = static_cast<LocationConf*>(conf);
  if (lcf->rum_sdk_url.data != nullptr) return const_cast<char*>("is duplicate");
  const auto* args = static_cast<ngx_str_t*>(cf->args->elts);
  const std::string_view url = to_string_view(args[1]);
  // The same check the snippet builder makes, here so the error has this line.
  const bool absolute = url.starts_with("https://") || url.starts_with("http://");
  if (!(absolute || (url.starts_with("/") && !url.starts_with("//")))) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid RUM SDK URL \"%V\" (expected an http:// or https:// URL, or a path starting "
                       "with /)",
                       &args[1]);
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  lcf->rum_sdk_url = args[1];
  return NGX_CONF_OK;
}

char* merge_rum_conf(ngx_conf_t* cf, const LocationConf& parent, LocationConf& child) noexcept {
  const auto* main =
      static_cast<const MainConf*>(ngx_http_conf_get_module_main_conf(cf, ngx_http_datadog_module));
  ngx_conf_merge_value(child.rum, parent.rum, main->rum_by_default ? 1 : 0);
  ngx_conf_merge_uint_value(child.rum_csp, parent.rum_csp, rum_csp_auto);
  if (child.rum_snippet != nullptr) return NGX_CONF_OK;  // merged before

  const bool own_settings = child.rum_block != nullptr || child.rum_sdk_url.data != nullptr;
  if (child.rum_block == nullptr) child.rum_block = parent.rum_block;
  if (child.rum_sdk_url.data == nullptr) child.rum_sdk_url = parent.rum_sdk_url;
  if (!own_settings && parent.rum_snippet != nullptr) {
    child.rum_snippet = parent.rum_snippet;
    return NGX_CONF_OK;
  }
  if (child.rum_block == nullptr) return NGX_CONF_OK;
  try {
    auto built = rum::build_rum_snippet(child.rum_block->version, child.rum_block->options,
                                        to_string_view(child.rum_sdk_url));
    if (const auto* error = std::get_if<std::string>(&built)) {
      const ngx_str_t text = to_ngx_str(*error);
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "datadog_rum_config with datadog_rum_sdk_url: %V", &text);
      return static_cast<char*>(NGX_CONF_ERROR);
    }
    child.rum_snippet =
        pool_owned(cf->pool, std::make_unique<rum::RumSnippet>(std::move(std::get<rum::RumSnippet>(built))));
  } catch (const std::bad_alloc&) {
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  return child.rum_snippet != nullptr ? NGX_CONF_OK : static_cast<char*>(NGX_CONF_ERROR);
}

}  // namespace datadog::module
