// msgpack strings must be UTF-8, and span strings carry client bytes (URL,
// Host, User-Agent, tags from variables). The agent repairs invalid UTF-8 on
// its side, but a strict decoder rejects the whole payload: the encoder
// writes each invalid byte as U+FFFD, as the agent would read it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace datadog::trace {

// True when no byte has its high bit set (the common case: nothing to check).
inline bool is_ascii(std::string_view text) noexcept {
  const char* p = text.data();
  std::size_t n = text.size();
  std::uint64_t bits = 0;
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    bits |= word;
  }
  for (; n != 0; --n, ++p) bits |= static_cast<unsigned char>(*p);
  return (bits & 0x8080808080808080ULL) == 0;
}

// Length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF) at the start of `text`, or 0 if the first
// byte does not start one.
std::size_t utf8_sequence_length(std::string_view text) noexcept;

// The size of `text` once every byte that is not part of a well-formed
// sequence is replaced by U+FFFD (3 bytes).
std::size_t repaired_utf8_size(std::string_view text) noexcept;

// Writes `text` repaired so to `out`; returns the end of what it wrote.
char* write_repaired_utf8(char* out, std::string_view text) noexcept;

}  // namespace datadog::trace
