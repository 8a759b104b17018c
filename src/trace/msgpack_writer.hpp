// The msgpack array header of a trace (the span encoder writes the rest
// through its own cursor; TraceBatch writes the payload's header in place).
#pragma once

#include <cstdint>
#include <string>

namespace datadog::trace::msgpack {

inline void write_array_header(std::string& out, std::uint32_t count) {
  if (count < 16) {
    out.push_back(static_cast<char>(0x90 | count));
    return;
  }
  const bool wide = count > 0xffff;
  out.push_back(static_cast<char>(wide ? 0xdd : 0xdc));
  for (int shift = wide ? 24 : 8; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((count >> shift) & 0xff));
}

}  // namespace datadog::trace::msgpack
