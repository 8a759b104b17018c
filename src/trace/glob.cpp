// Greedy matching with one backtrack point (the last `*` seen): when a byte
// fails to match, the last `*` swallows one more subject byte and matching
// resumes after it. Earlier stars never need revisiting, so the work is
// bounded by pattern length × subject length and uses no memory.
#include "trace/glob.hpp"

#include <cstddef>

namespace datadog::trace {
namespace {

constexpr char fold_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

bool glob_match(std::string_view pattern, std::string_view subject) {
  constexpr std::size_t none = std::string_view::npos;
  std::size_t p = 0;
  std::size_t s = 0;
  std::size_t star = none;      // index of the last `*` in pattern
  std::size_t star_resume = 0;  // subject index that `*` has swallowed up to

  while (s < subject.size()) {
    if (p < pattern.size()) {
      const char c = pattern[p];
      if (c == '*') {
        star = p++;
        star_resume = s;
        continue;
      }
      if (c == '?' || fold_ascii(c) == fold_ascii(subject[s])) {
        ++p;
        ++s;
        continue;
      }
    }
    if (star == none) return false;
    p = star + 1;
    s = ++star_resume;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace datadog::trace
