// Streaming gzip/deflate decoding of compressed HTML bodies.
#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <vector>

#include "rum/body_inflater.hpp"

using namespace datadog::rum;

namespace {

// Compresses with zlib directly: windowBits 31 gzip, 15 zlib, -15 raw deflate.
std::string compress(const std::string& text, int window_bits) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(compressBound(text.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// Feeds `compressed` in pieces of `piece` bytes into outputs of `room` bytes.
std::string decode(BodyInflater::Format format, const std::string& compressed, std::size_t piece,
                   std::size_t room, bool* failed) {
  BodyInflater inflater;
  EXPECT_TRUE(inflater.begin(format, nullptr, nullptr, nullptr));
  std::string result;
  std::vector<std::uint8_t> out(room);
  *failed = false;
  for (std::size_t at = 0; at < compressed.size() && !*failed;) {
    const std::size_t n = std::min(piece, compressed.size() - at);
    std::span<const std::uint8_t> in(reinterpret_cast<const std::uint8_t*>(compressed.data()) + at, n);
    while (!in.empty()) {
      const auto step = inflater.inflate(in, out);
      result.append(reinterpret_cast<const char*>(out.data()), step.produced);
      in = in.subspan(step.consumed);
      if (step.failed) {
        *failed = true;
        break;
      }
      if (step.consumed == 0 && step.produced == 0) break;
    }
    at += n;
  }
  return result;
}

std::string page() {
  std::string text = "<!doctype html><html><head><title>t</title></head><body>";
  for (int i = 0; i < 5000; ++i) text += "<p>line " + std::to_string(i) + "</p>\n";
  return text + "</body></html>";
}

}  // namespace

TEST(RumBodyInflater, GzipInAnyPiecesAndOutputSizes) {
  const std::string text = page();
  const std::string gz = compress(text, 31);
  for (std::size_t piece : {1u, 7u, 512u, 100000u}) {
    for (std::size_t room : {1u, 100u, 16384u}) {
      bool failed = true;
      EXPECT_EQ(decode(BodyInflater::Format::gzip, gz, piece, room, &failed), text) << piece << " " << room;
      EXPECT_FALSE(failed);
    }
  }
}

TEST(RumBodyInflater, DeflateAsZlibStreamAndAsRawDeflate) {
  const std::string text = page();
  bool failed = true;
  EXPECT_EQ(decode(BodyInflater::Format::deflate, compress(text, 15), 300, 4096, &failed), text);
  EXPECT_FALSE(failed);
  EXPECT_EQ(decode(BodyInflater::Format::deflate, compress(text, -15), 300, 4096, &failed), text);
  EXPECT_FALSE(failed);
}

TEST(RumBodyInflater, CorruptDataFailsAndBytesAfterTheEndAreIgnored) {
  const std::string text = page();
  std::string gz = compress(text, 31);
  bool failed = false;
  EXPECT_EQ(decode(BodyInflater::Format::gzip, gz + "trailing junk", 64, 4096, &failed), text);
  EXPECT_FALSE(failed);
  std::string broken = gz;
  for (std::size_t i = 20; i < 60; ++i) broken[i] = static_cast<char>(broken[i] ^ 0x5a);
  decode(BodyInflater::Format::gzip, broken, 64, 4096, &failed);
  EXPECT_TRUE(failed);
  decode(BodyInflater::Format::gzip, "not gzip at all", 64, 4096, &failed);
  EXPECT_TRUE(failed);
}

// The look-ahead decodes the start of a body, then the real pass decodes it
// again from its first byte.
TEST(RumBodyInflater, RestartDecodesTheSameBodyFromItsStart) {
  for (const auto& [format, bits] :
       {std::pair{BodyInflater::Format::gzip, 31}, std::pair{BodyInflater::Format::deflate, 15},
        std::pair{BodyInflater::Format::deflate, -15}}) {
    const std::string text = page();
    const std::string compressed = compress(text, bits);
    BodyInflater inflater;
    ASSERT_TRUE(inflater.begin(format, nullptr, nullptr, nullptr));
    std::vector<std::uint8_t> out(text.size() + 16);
    const auto half = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(compressed.data()),
                                                    compressed.size() / 2);
    const auto probe = inflater.inflate(half, std::span<std::uint8_t>(out).first(100));
    ASSERT_FALSE(probe.failed) << bits;
    ASSERT_TRUE(inflater.restart());
    const auto all = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(compressed.data()),
                                                   compressed.size());
    const auto step = inflater.inflate(all, out);
    EXPECT_TRUE(step.finished) << bits;
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(out.data()), step.produced), text) << bits;
    // After the stream ended, restart begins anew.
    ASSERT_TRUE(inflater.restart());
    const auto again = inflater.inflate(all, out);
    EXPECT_TRUE(again.finished) << bits;
    EXPECT_EQ(again.produced, text.size()) << bits;
  }
}

TEST(RumBodyInflater, PlainTextLabelledCompressedFailsAtOnce) {
  const std::string plain =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<title>t</title></head><body></body>";
  for (auto format : {BodyInflater::Format::gzip, BodyInflater::Format::deflate}) {
    bool failed = false;
    const std::string out = decode(format, plain, plain.size(), 4096, &failed);
    EXPECT_TRUE(failed);
    EXPECT_EQ(out.find("<head>"), std::string::npos);
  }
}
