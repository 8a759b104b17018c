// The look-ahead: the injection scanner plus the checks that need body bytes.
#include "rum/look_ahead.hpp"

#include <algorithm>

namespace datadog::rum {

bool starts_ascii_incompatible(std::string_view first) {
  const auto starts = [first](std::string_view prefix) { return first.substr(0, prefix.size()) == prefix; };
  // FF FE is UTF-16LE (and the start of UTF-32LE), FE FF UTF-16BE, 00 00 FE FF UTF-32BE.
  if (starts("\xFF\xFE") || starts("\xFE\xFF")) return true;
  return first.substr(0, 4).find('\0') != std::string_view::npos;
}

bool LookAhead::classify_start(bool complete) {
  if (start_checked_) return true;
  if (start_length_ < sizeof start_ && !complete) return false;
  start_checked_ = true;
  if (starts_ascii_incompatible({start_, start_length_})) {
    verdict_ = Verdict::skip;
    skip_reason_ = SkipReason::not_ascii;
  }
  return true;
}

LookAhead::Verdict LookAhead::feed(std::string_view chunk) {
  if (verdict_ != Verdict::undecided) return verdict_;
  if (!start_checked_) {
    const std::size_t n = std::min(chunk.size(), sizeof start_ - start_length_);
    std::copy_n(chunk.data(), n, start_ + start_length_);
    start_length_ += n;
    if (classify_start(false) && verdict_ != Verdict::undecided) return verdict_;
  }
  // A found point needs at least "<body" plus the byte after it, so the start
  // has been checked by then.
  if (const ScanResult result = scanner_.feed(chunk); result.found) {
    verdict_ = Verdict::inject;
    point_ = result.point;
  } else if (scanner_.fed() >= limit_) {
    verdict_ = Verdict::skip;
    skip_reason_ = SkipReason::look_ahead_exceeded;
  }
  return verdict_;
}

LookAhead::Verdict LookAhead::end() {
  if (verdict_ != Verdict::undecided) return verdict_;
  classify_start(true);
  if (verdict_ == Verdict::undecided) verdict_ = Verdict::no_injection_point;
  return verdict_;
}

}  // namespace datadog::rum
