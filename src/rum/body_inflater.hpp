// Streaming gzip/deflate decoding of an HTML body, so the snippet can be
// injected into pages the upstream compressed (nginx's gzip filter may then
// compress the result again for the client). zlib's memory comes from the
// caller's allocator (the request pool in nginx).
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace datadog::rum {

class BodyInflater {
 public:
  enum class Format { gzip, deflate };
  using AllocFn = void* (*)(void* opaque, unsigned items, unsigned size);
  using FreeFn = void (*)(void* opaque, void* address);

  struct Step {
    std::size_t consumed = 0;  // input bytes used
    std::size_t produced = 0;  // output bytes written
    bool finished = false;     // the compressed stream ended
    bool failed = false;       // corrupt data or no memory: stop decoding this body
  };

  BodyInflater() = default;
  BodyInflater(const BodyInflater&) = delete;
  BodyInflater& operator=(const BodyInflater&) = delete;
  ~BodyInflater() { end(); }

  // alloc/free null: zlib's defaults (malloc), for tests.
  bool begin(Format format, AllocFn alloc, FreeFn free, void* opaque) noexcept;
  // Decodes as much of `in` as fits into `out`.
  Step inflate(std::span<const std::uint8_t> in, std::span<std::uint8_t> out) noexcept;
  // Decodes the same body again from its start (after a look-ahead), with the
  // allocator given to begin().
  bool restart() noexcept;
  void end() noexcept;

 private:
  z_stream stream_{};
  bool active_ = false;
  bool finished_ = false;
  bool raw_fallback_tried_ = false;
  Format format_ = Format::gzip;
  std::size_t total_in_ = 0;
  AllocFn alloc_ = nullptr;
  FreeFn free_ = nullptr;
  void* opaque_ = nullptr;
};

}  // namespace datadog::rum
