// The injection scanner fed in pieces must decide exactly as fed at once, and
// what it declares safe to emit must never be taken back; the look-ahead built
// on it decides the same in any pieces. Input: one byte that seeds how the
// body is split, then the body.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "fuzz_check.hpp"
#include "rum/injection_scanner.hpp"
#include "rum/look_ahead.hpp"

using datadog::rum::InjectionPointKind;
using datadog::rum::InjectionScanner;
using datadog::rum::kMaxHoldBack;
using datadog::rum::LookAhead;
using datadog::rum::ScanResult;

namespace {

bool istarts_with(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

// Checks a found point against the bytes: it is the '<' of "</head" or
// "<body" followed by what ends a tag name.
void check_point(std::string_view body, const ScanResult& result) {
  FUZZ_CHECK(result.point < body.size());
  FUZZ_CHECK(result.safe_end == result.point);
  const std::string_view tag = body.substr(result.point);
  const std::string_view name = result.kind == InjectionPointKind::head_end ? "</head" : "<body";
  FUZZ_CHECK(istarts_with(tag, name));
  FUZZ_CHECK(tag.size() > name.size());
  const char after = tag[name.size()];
  FUZZ_CHECK(after == ' ' || after == '\t' || after == '\n' || after == '\f' || after == '\r' ||
             after == '/' || after == '>');
}

// The result of feeding `body` in the pieces `next_size` gives, checking the
// streaming invariants after every piece.
template <class NextSize>
ScanResult feed_in_pieces(std::string_view body, NextSize&& next_size) {
  InjectionScanner scanner;
  ScanResult result;
  std::uint64_t emitted = 0;  // what the caller may already have sent
  std::size_t offset = 0;
  while (true) {
    const std::size_t size = std::min(next_size(), body.size() - offset);
    result = scanner.feed(body.substr(offset, size));
    offset += size;
    FUZZ_CHECK(scanner.fed() == offset);
    if (result.found) {
      FUZZ_CHECK(result.point >= emitted);  // nothing already emitted is taken back
      check_point(body, result);
      return result;
    }
    FUZZ_CHECK(result.safe_end >= emitted);
    FUZZ_CHECK(result.safe_end <= offset);
    FUZZ_CHECK(offset - result.safe_end <= kMaxHoldBack);
    if (result.safe_end < offset) FUZZ_CHECK(body[result.safe_end] == '<');  // held: a possible tag
    emitted = result.safe_end;
    if (offset == body.size()) {
      // Empty pieces change nothing.
      const ScanResult again = scanner.feed({});
      FUZZ_CHECK(!again.found && again.safe_end == result.safe_end && scanner.fed() == offset);
      return result;
    }
  }
}

void expect_same(const ScanResult& got, const ScanResult& expected) {
  FUZZ_CHECK(got.found == expected.found);
  FUZZ_CHECK(got.safe_end == expected.safe_end);
  if (expected.found) {
    FUZZ_CHECK(got.kind == expected.kind);
    FUZZ_CHECK(got.point == expected.point);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::uint64_t random = data[0] * 0x9e3779b97f4a7c15ull + 1;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  InjectionScanner whole_scanner;
  const ScanResult whole = whole_scanner.feed(body);
  if (whole.found) {
    check_point(body, whole);
  } else {
    FUZZ_CHECK(whole.safe_end <= body.size() && body.size() - whole.safe_end <= kMaxHoldBack);
  }

  // One byte at a time: every boundary at once.
  expect_same(feed_in_pieces(body, [] { return std::size_t{1}; }), whole);
  // Pieces of 0 to 15 bytes (empty ones included), now and then a large one.
  expect_same(feed_in_pieces(body,
                             [&] {
                               random = random * 6364136223846793005ull + 1442695040888963407ull;
                               const auto bits = static_cast<std::size_t>(random >> 33);
                               return (bits & 0x70) == 0 ? bits >> 8 : bits & 0xf;
                             }),
              whole);

  // The look-ahead (no limit), one byte at a time, then the end of the body:
  // not ASCII-compatible by its first bytes, else inject exactly when the
  // scanner finds a point.
  LookAhead look_ahead(SIZE_MAX);
  for (std::size_t i = 0; i < body.size() && look_ahead.verdict() == LookAhead::Verdict::undecided; ++i) {
    look_ahead.feed(body.substr(i, 1));
  }
  look_ahead.end();
  if (datadog::rum::starts_ascii_incompatible(body.substr(0, 4))) {
    FUZZ_CHECK(look_ahead.verdict() == LookAhead::Verdict::skip);
  } else {
    FUZZ_CHECK(look_ahead.verdict() ==
               (whole.found ? LookAhead::Verdict::inject : LookAhead::Verdict::no_injection_point));
  }
  return 0;
}
