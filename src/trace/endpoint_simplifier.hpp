// The `http.endpoint` tag ("resource renaming"): a URL path with its variable
// segments replaced by placeholders, as dd-trace-cpp computes it for
// nginx-datadog (RFC "APM endpoint resource renaming", shared by Datadog's
// tracers). No allocation: the result lives in a fixed buffer.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace datadog::trace {

// When the tag is computed (datadog_resource_renaming_enabled and
// datadog_resource_renaming_always_simplified_endpoint).
enum class EndpointMode { disabled, fallback, always };

// dd-trace-cpp's rule: never when disabled or when the span already has an
// `http.endpoint`; only with an `http.url`; and, unless `always`, only when
// the span has no `http.route`.
constexpr bool should_compute_endpoint(EndpointMode mode, bool has_endpoint, bool has_url,
                                       bool has_route) noexcept {
  if (mode == EndpointMode::disabled || has_endpoint || !has_url) return false;
  return mode == EndpointMode::always || !has_route;
}

// At most 8 segments, each a placeholder or a literal of under 20 characters
// (longer ones are always {param:str}), plus slashes.
inline constexpr std::size_t max_endpoint_segments = 8;
inline constexpr std::size_t max_endpoint_size = max_endpoint_segments * 20 + 1;

struct SimplifiedEndpoint {
  std::array<char, max_endpoint_size> text{};
  std::size_t size = 0;
  std::string_view view() const noexcept { return {text.data(), size}; }
};

// The path of an absolute URL as dd-trace-cpp parses `http.url`: for http and
// https, from the first '/' after "://" up to the first '?' (empty when there
// is none); for the unix schemes, empty. Null when the text is no URL it
// accepts (no "://", another scheme): then no tag is written.
std::optional<std::string_view> endpoint_url_path(std::string_view url) noexcept;

// The simplified endpoint of a path ("/users/123" -> "/users/{param:int}"):
// empty segments skipped, at most 8 kept, a final '/' kept (also after the
// 8th segment when more follow, as dd-trace-cpp does); "/" for an empty path
// or one that does not start with '/'.
SimplifiedEndpoint simplify_endpoint(std::string_view path) noexcept;

// The replacement of one segment, or empty when the segment stays as it is.
// First that fits: {param:int} [1-9][0-9]+; {param:int_id} [0-9._-]{3,} with
// a digit; {param:hex} [0-9A-Fa-f]{6,} with a digit; {param:hex_id}
// [0-9A-Fa-f._-]{6,} with a digit; {param:str} 20 characters or more, or any
// of % & ' ( ) * + , : = @.
std::string_view endpoint_placeholder(std::string_view segment) noexcept;

}  // namespace datadog::trace
