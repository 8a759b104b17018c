// Boolean settings written as Datadog's tracers read them, for environment
// variables and directive or RUM option values alike.
#pragma once

#include <optional>
#include <string_view>

namespace datadog::text {

// true for "true", "1", "yes", "on"; false for "false", "0", "no", "off";
// any ASCII case, surrounding spaces and tabs ignored. Anything else,
// the empty string included, is no boolean: std::nullopt.
std::optional<bool> parse_boolean(std::string_view text) noexcept;

// The accepted spellings, for error sentences.
inline constexpr char boolean_spellings[] = "true/false, 1/0, yes/no or on/off";

}  // namespace datadog::text
