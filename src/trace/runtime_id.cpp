// RFC 9562 section 5.4: version 4 in bits 48-51, variant 10 in bits 64-65.
#include "trace/runtime_id.hpp"

namespace datadog::trace {

std::array<char, 36> uuid_v4_text(std::uint64_t high, std::uint64_t low) {
  high = (high & ~std::uint64_t{0xf000}) | 0x4000;
  low = (low & ~(std::uint64_t{0xc} << 60)) | (std::uint64_t{0x8} << 60);
  constexpr char digits[] = "0123456789abcdef";
  std::array<char, 36> text{};
  std::size_t at = 0;
  for (int nibble = 0; nibble < 32; ++nibble) {
    if (nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20) text[at++] = '-';
    const std::uint64_t word = nibble < 16 ? high : low;
    const int shift = 60 - 4 * (nibble % 16);
    text[at++] = digits[(word >> shift) & 0xf];
  }
  return text;
}

}  // namespace datadog::trace
