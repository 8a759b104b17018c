// Well-formedness per RFC 3629 table 3-7 (Unicode's "well-formed UTF-8 byte
// sequences"); one replacement character per byte that fits none.
#include "trace/utf8.hpp"

namespace datadog::trace {
namespace {

constexpr char replacement[] = "\xef\xbf\xbd";  // U+FFFD

bool continuation(unsigned char byte) { return (byte & 0xc0) == 0x80; }

}  // namespace

std::size_t utf8_sequence_length(std::string_view text) noexcept {
  if (text.empty()) return 0;
  const auto at = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = at(0);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;  // range of the second byte
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;   // overlong
    if (lead == 0xed) high = 0x9f;  // surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;   // overlong
    if (lead == 0xf4) high = 0x8f;  // past U+10FFFF
  } else {
    return 0;
  }
  if (text.size() < length || at(1) < low || at(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (!continuation(at(i))) return 0;
  }
  return length;
}

std::size_t repaired_utf8_size(std::string_view text) noexcept {
  std::size_t size = 0;
  while (!text.empty()) {
    const std::size_t n = utf8_sequence_length(text);
    size += n != 0 ? n : sizeof(replacement) - 1;
    text.remove_prefix(n != 0 ? n : 1);
  }
  return size;
}

char* write_repaired_utf8(char* out, std::string_view text) noexcept {
  while (!text.empty()) {
    const std::size_t n = utf8_sequence_length(text);
    if (n != 0) {
      std::memcpy(out, text.data(), n);
      out += n;
      text.remove_prefix(n);
    } else {
      std::memcpy(out, replacement, sizeof(replacement) - 1);
      out += sizeof(replacement) - 1;
      text.remove_prefix(1);
    }
  }
  return out;
}

}  // namespace datadog::trace
