// zlib inflate wrapper. "deflate" in HTTP means a zlib stream (RFC 1950), but
// some servers send raw deflate (RFC 1951): if the zlib header is rejected at
// the very start, decoding restarts as raw deflate, as browsers do.
#include "rum/body_inflater.hpp"

namespace datadog::rum {
namespace {

int window_bits(BodyInflater::Format format, bool raw) {
  if (raw) return -MAX_WBITS;
  return format == BodyInflater::Format::gzip ? MAX_WBITS + 16 : MAX_WBITS;
}

}  // namespace

bool BodyInflater::begin(Format format, AllocFn alloc, FreeFn free, void* opaque) noexcept {
  end();
  format_ = format;
  alloc_ = alloc;
  free_ = free;
  opaque_ = opaque;
  stream_ = z_stream{};
  stream_.zalloc = alloc;
  stream_.zfree = free;
  stream_.opaque = opaque;
  active_ = inflateInit2(&stream_, window_bits(format, false)) == Z_OK;
  finished_ = false;
  raw_fallback_tried_ = false;
  total_in_ = 0;
  return active_;
}

BodyInflater::Step BodyInflater::inflate(std::span<const std::uint8_t> in,
                                         std::span<std::uint8_t> out) noexcept {
  Step step;
  if (finished_) {
    // Bytes after the end of the compressed stream are ignored, as browsers do.
    step.finished = true;
    step.consumed = in.size();
    return step;
  }
  if (!active_) {
    step.failed = true;
    return step;
  }
  stream_.next_in = const_cast<Bytef*>(in.data());
  stream_.avail_in = static_cast<uInt>(in.size());
  stream_.next_out = out.data();
  stream_.avail_out = static_cast<uInt>(out.size());
  int rc = ::inflate(&stream_, Z_SYNC_FLUSH);
  if (rc == Z_DATA_ERROR && format_ == Format::deflate && total_in_ == 0 && !raw_fallback_tried_ &&
      stream_.total_out == 0) {
    raw_fallback_tried_ = true;
    if (inflateReset2(&stream_, window_bits(format_, true)) == Z_OK) {
      stream_.next_in = const_cast<Bytef*>(in.data());
      stream_.avail_in = static_cast<uInt>(in.size());
      stream_.next_out = out.data();
      stream_.avail_out = static_cast<uInt>(out.size());
      rc = ::inflate(&stream_, Z_SYNC_FLUSH);
    }
  }
  step.consumed = in.size() - stream_.avail_in;
  step.produced = out.size() - stream_.avail_out;
  total_in_ += step.consumed;
  if (rc == Z_STREAM_END) {
    // The state stays allocated until end(): restart() reuses it.
    step.finished = true;
    step.consumed = in.size();
    finished_ = true;
  } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
    step.failed = true;
    end();
  }
  return step;
}

bool BodyInflater::restart() noexcept {
  if (active_ && inflateReset2(&stream_, window_bits(format_, false)) == Z_OK) {
    finished_ = false;
    raw_fallback_tried_ = false;
    total_in_ = 0;
    return true;
  }
  return begin(format_, alloc_, free_, opaque_);
}

void BodyInflater::end() noexcept {
  if (active_) inflateEnd(&stream_);
  active_ = false;
}

}  // namespace datadog::rum
