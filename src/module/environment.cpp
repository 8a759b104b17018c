// Reads DD_* settings the way a worker would see them: nginx's core module
// applies `env NAME=value;` only when it starts a worker, after the module has
// read its configuration in the master, so the module looks at those
// directives itself.
#include "module/environment.hpp"

#include <cstdlib>

#include "module/str_view.hpp"
#include "text/boolean.hpp"

namespace datadog::module {

std::optional<std::string_view> environment_variable(const ngx_conf_t* cf, std::string_view name) noexcept {
  const auto* core =
      cf != nullptr && cf->cycle != nullptr && cf->cycle->conf_ctx != nullptr
          ? reinterpret_cast<const ngx_core_conf_t*>(ngx_get_conf(cf->cycle->conf_ctx, ngx_core_module))
          : nullptr;
  if (core != nullptr && core->env.elts != nullptr) {
    const auto* entries = static_cast<const ngx_str_t*>(core->env.elts);
    // nginx keeps `env NAME=value;` as the name, with "=value" and the
    // parser's terminating NUL after it; the last line for a name is the one
    // nginx applies to the workers.
    for (ngx_uint_t i = core->env.nelts; i-- > 0;) {
      const ngx_str_t& entry = entries[i];
      if (to_string_view(entry) == name && entry.data[entry.len] == '=') {
        return std::string_view(reinterpret_cast<const char*>(entry.data + entry.len + 1));
      }
    }
  }
  char key[128];  // getenv needs a terminated name; the DD_* names are short
  if (name.size() >= sizeof key) return std::nullopt;
  name.copy(key, name.size());
  key[name.size()] = '\0';
  const char* value = std::getenv(key);
  if (value == nullptr) return std::nullopt;
  return std::string_view(value);
}

std::optional<std::string_view> nonempty_environment_variable(const ngx_conf_t* cf,
                                                              std::string_view name) noexcept {
  auto value = environment_variable(cf, name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

std::optional<bool> environment_flag(const ngx_conf_t* cf, std::string_view name, bool fallback) noexcept {
  const auto value = nonempty_environment_variable(cf, name);
  if (!value) return fallback;
  if (const auto parsed = text::parse_boolean(*value)) return parsed;
  const ngx_str_t variable = to_ngx_str(name);
  const ngx_str_t text = to_ngx_str(*value);
  ngx_conf_log_error(NGX_LOG_EMERG, const_cast<ngx_conf_t*>(cf), 0,
                     "environment variable %V is \"%V\", which is not a boolean (expected %s)", &variable,
                     &text, text::boolean_spellings);
  return std::nullopt;
}

}  // namespace datadog::module
