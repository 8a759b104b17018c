// Copying the short strings a span or a header value is made of (tag keys,
// "GET", "nginx", hex ids) without a call to memcpy, whose call and size
// dispatch cost more than the copy itself at these sizes.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace datadog::trace {

// Copies `text`, at most 32 bytes, to `out` and tells whether every byte was
// ASCII. Two overlapping loads and stores of one fixed width (a fixed-size
// memcpy compiles to a plain move) serve the copy and the check: the span
// encoder's test for UTF-8 that needs repair costs a few ORs, not a pass.
inline bool copy_short_ascii(char* out, std::string_view text) {
  const char* from = text.data();
  const std::size_t n = text.size();
  std::uint64_t bits;
  if (n >= 16) {
    std::uint64_t w[4];
    std::memcpy(&w[0], from, 16);
    std::memcpy(&w[2], from + n - 16, 16);
    std::memcpy(out, &w[0], 16);
    std::memcpy(out + n - 16, &w[2], 16);
    bits = w[0] | w[1] | w[2] | w[3];
  } else if (n >= 8) {
    std::uint64_t head;
    std::uint64_t tail;
    std::memcpy(&head, from, 8);
    std::memcpy(&tail, from + n - 8, 8);
    std::memcpy(out, &head, 8);
    std::memcpy(out + n - 8, &tail, 8);
    bits = head | tail;
  } else if (n >= 4) {
    std::uint32_t head;
    std::uint32_t tail;
    std::memcpy(&head, from, 4);
    std::memcpy(&tail, from + n - 4, 4);
    std::memcpy(out, &head, 4);
    std::memcpy(out + n - 4, &tail, 4);
    bits = head | tail;
  } else if (n >= 2) {
    std::uint16_t head;
    std::uint16_t tail;
    std::memcpy(&head, from, 2);
    std::memcpy(&tail, from + n - 2, 2);
    std::memcpy(out, &head, 2);
    std::memcpy(out + n - 2, &tail, 2);
    bits = static_cast<std::uint64_t>(head | tail);
  } else if (n == 1) {
    *out = *from;
    bits = static_cast<unsigned char>(*from);
  } else {
    bits = 0;
  }
  return (bits & 0x8080808080808080ULL) == 0;
}

// Copies `text` to `out` and returns the end of the copy: short text as
// copy_short_ascii does (the unused check compiles away), longer text with
// memcpy.
inline char* copy_short(char* out, std::string_view text) {
  if (text.size() > 32) {
    std::memcpy(out, text.data(), text.size());
  } else {
    copy_short_ascii(out, text);
  }
  return out + text.size();
}

}  // namespace datadog::trace
