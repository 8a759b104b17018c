// The few msgpack forms a span needs, appended straight to a byte buffer:
// no document model, no allocation beyond the buffer's own growth.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace datadog::trace::msgpack {

inline void put_be(std::string& out, std::uint64_t value, int bytes) {
  char buffer[8];
  for (int i = bytes - 1; i >= 0; --i) {
    buffer[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  out.append(buffer, static_cast<std::size_t>(bytes));
}

inline void write_array_header(std::string& out, std::uint32_t count) {
  if (count < 16) {
    out.push_back(static_cast<char>(0x90 | count));
  } else if (count <= 0xffff) {
    out.push_back(static_cast<char>(0xdc));
    put_be(out, count, 2);
  } else {
    out.push_back(static_cast<char>(0xdd));
    put_be(out, count, 4);
  }
}

inline void write_map_header(std::string& out, std::uint32_t count) {
  if (count < 16) {
    out.push_back(static_cast<char>(0x80 | count));
  } else if (count <= 0xffff) {
    out.push_back(static_cast<char>(0xde));
    put_be(out, count, 2);
  } else {
    out.push_back(static_cast<char>(0xdf));
    put_be(out, count, 4);
  }
}

inline void write_str(std::string& out, std::string_view text) {
  const auto size = text.size();
  if (size < 32) {
    out.push_back(static_cast<char>(0xa0 | size));
  } else if (size <= 0xff) {
    out.push_back(static_cast<char>(0xd9));
    put_be(out, size, 1);
  } else if (size <= 0xffff) {
    out.push_back(static_cast<char>(0xda));
    put_be(out, size, 2);
  } else {
    out.push_back(static_cast<char>(0xdb));
    put_be(out, size, 4);
  }
  out.append(text);
}

// Ids are uint64 on the wire: always the 9-byte form, which the agent accepts
// for any value and which keeps the encoder branch-free.
inline void write_uint64(std::string& out, std::uint64_t value) {
  out.push_back(static_cast<char>(0xcf));
  put_be(out, value, 8);
}

inline void write_int64(std::string& out, std::int64_t value) {
  out.push_back(static_cast<char>(0xd3));
  put_be(out, static_cast<std::uint64_t>(value), 8);
}

// 0..127 as a positive fixint (the `error` field).
inline void write_small_uint(std::string& out, std::uint8_t value) {
  out.push_back(static_cast<char>(value & 0x7f));
}

// Metrics must be float64: the agent rejects float32.
inline void write_float64(std::string& out, double value) {
  out.push_back(static_cast<char>(0xcb));
  put_be(out, std::bit_cast<std::uint64_t>(value), 8);
}

}  // namespace datadog::trace::msgpack
