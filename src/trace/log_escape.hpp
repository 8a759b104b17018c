// Client bytes in a log line: printable ASCII as it is, anything else (control
// characters, escape sequences, bytes over 0x7f) and the backslash as \xNN, so
// that a log line never carries a terminal escape or a forged newline.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace datadog::trace {

// Room escape_for_log needs for a text of `max_bytes` shown bytes: four per
// byte at worst, plus "..." when the text was cut.
constexpr std::size_t escaped_log_size(std::size_t max_bytes) { return 4 * max_bytes + 3; }

// Writes at most `max_bytes` bytes of `text`, escaped, to `out` (which has
// escaped_log_size(max_bytes) bytes at least), followed by "..." when `text`
// is longer; returns what it wrote, a view of `out`.
std::string_view escape_for_log(std::string_view text, std::size_t max_bytes, std::span<char> out) noexcept;

}  // namespace datadog::trace
