// Decides, from the first bytes of an HTML body, whether the snippet goes in,
// before the response header is sent: the header says so only when it is true
// (Content-Length, ETag and ranges change only for an injected body). The
// nginx glue holds the header and the bytes seen until a verdict comes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rum/eligibility.hpp"
#include "rum/injection_scanner.hpp"

namespace datadog::rum {

// How much (decoded) body is looked at before the header must go out.
inline constexpr std::size_t kLookAheadLimit = 64 * 1024;

// True when the first bytes of a body (up to 4; fewer only when the body is
// that short) show it is not ASCII-compatible: a UTF-16/UTF-32 byte order mark
// or a NUL byte, which no HTML text in an ASCII-compatible encoding has.
bool starts_ascii_incompatible(std::string_view first_bytes);

class LookAhead {
 public:
  enum class Verdict : std::uint8_t {
    undecided,
    inject,              // an injection point is in what was seen
    no_injection_point,  // the whole body was seen: none
    skip,                // skip_reason() says why
  };

  explicit LookAhead(std::size_t limit = kLookAheadLimit) : limit_(limit) {}

  // The next bytes of the (decoded) body.
  Verdict feed(std::string_view chunk);
  // The body ended.
  Verdict end();
  // The caller found a reason not to inject (e.g. the body does not decode):
  // it overrides any verdict.
  void reject(SkipReason reason) {
    verdict_ = Verdict::skip;
    skip_reason_ = reason;
  }

  Verdict verdict() const { return verdict_; }
  // With the verdict inject: the offset of the '<' the snippet goes before.
  std::uint64_t point() const { return point_; }
  SkipReason skip_reason() const { return skip_reason_; }
  std::uint64_t seen() const { return scanner_.fed(); }

 private:
  bool classify_start(bool complete);

  std::size_t limit_;
  InjectionScanner scanner_;
  char start_[4]{};
  std::size_t start_length_ = 0;
  bool start_checked_ = false;
  Verdict verdict_ = Verdict::undecided;
  SkipReason skip_reason_ = SkipReason::eligible;
  std::uint64_t point_ = 0;
};

// The injection point the look-ahead found, replayed over the same bytes when
// they are sent: the scanner's results without scanning them a second time.
// Nothing is held back (the point is known).
class KnownInjectionPoint {
 public:
  explicit KnownInjectionPoint(std::uint64_t point = 0) : point_(point) {}

  ScanResult feed(std::string_view chunk) {
    fed_ += chunk.size();
    ScanResult result;
    result.found = point_ < fed_;
    result.point = point_;
    result.safe_end = result.found ? point_ : fed_;
    return result;
  }
  std::uint64_t fed() const { return fed_; }

 private:
  std::uint64_t point_;
  std::uint64_t fed_ = 0;
};

}  // namespace datadog::rum
