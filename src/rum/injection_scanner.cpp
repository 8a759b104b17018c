// The injection point scanner: one state machine advanced by feed(), in the
// shape of nginx's sub_filter parser. Runs of text, comments, bogus comments and
// quoted attribute values are skipped with memchr; only tags go byte by byte.
#include "rum/injection_scanner.hpp"

#include <array>
#include <bit>
#include <cstring>
#include <type_traits>

namespace datadog::rum {
namespace {

// Indexed by InjectionScanner::Element.
constexpr std::array<std::string_view, 12> kElementNames = {"head",     "body",     "script",   "style",
                                                            "textarea", "title",    "xmp",      "iframe",
                                                            "noembed",  "noframes", "noscript", "plaintext"};

constexpr std::uint16_t bit(std::size_t element) { return static_cast<std::uint16_t>(1u << element); }

// The names an end tag may have that matter: only </head>.
constexpr std::uint16_t kEndTagCandidates = bit(0);
// The names a start tag may have that matter: everything but head.
constexpr std::uint16_t kStartTagCandidates =
    static_cast<std::uint16_t>(bit(kElementNames.size()) - 1 - bit(0));
// While the tag name may still be one of these, the tag may be an injection point.
constexpr std::uint16_t kInjectionCandidates = bit(0) | bit(1);

// The elements whose name starts with each letter, so that most tag names are
// ruled out at their first byte.
constexpr std::array<std::uint16_t, 26> kCandidatesByFirstLetter = [] {
  std::array<std::uint16_t, 26> table{};
  for (std::size_t i = 0; i < kElementNames.size(); ++i) table[kElementNames[i][0] - 'a'] |= bit(i);
  return table;
}();

// Byte classes, so that "is this whitespace or one of these stops" is one
// table load and one test instead of up to eight comparisons per byte.
enum ByteClass : std::uint8_t { space = 1, slash = 2, greater_than = 4, equals = 8 };

constexpr std::array<std::uint8_t, 256> kByteClasses = [] {
  std::array<std::uint8_t, 256> table{};
  for (const char c : {' ', '\t', '\n', '\f', '\r'}) table[static_cast<unsigned char>(c)] = space;
  table['/'] = slash;
  table['>'] = greater_than;
  table['='] = equals;
  return table;
}();

std::uint8_t byte_class(char c) { return kByteClasses[static_cast<unsigned char>(c)]; }

bool is_space(char c) { return byte_class(c) == space; }

bool is_ascii_alpha(char c) { return static_cast<unsigned char>((c | 0x20) - 'a') < 26; }

char to_ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

// What ends a tag name, and what must follow "</head" or "<body" for it to be
// that tag.
bool ends_tag_name(char c) { return (byte_class(c) & (space | slash | greater_than)) != 0; }

// The rest of a tag name, attribute name or unquoted value: its bytes change
// nothing up to the next whitespace or a byte of the `stops` classes.
template <std::uint8_t stops>
const char* skip_until(const char* from, const char* end) {
  while (from != end && (byte_class(*from) & (space | stops)) == 0) ++from;
  return from;
}

const char* find(const char* from, const char* end, char c) {
  return static_cast<const char*>(std::memchr(from, c, static_cast<std::size_t>(end - from)));
}

}  // namespace

static_assert(std::is_trivially_copyable_v<InjectionScanner>);
static_assert(sizeof(InjectionScanner) <= 24);

ScanResult InjectionScanner::feed(std::string_view chunk) {
  const char* const begin = chunk.data();
  const char* const end = begin + chunk.size();
  const char* p = begin;

  // Each case either consumes *p (break) or moves p itself / reconsumes *p in
  // the new state (continue).
  while (p != end && state_ != State::found) {
    const char c = *p;
    switch (state_) {
      case State::data:
        if (const char* less_than = find(p, end, '<')) {
          tag_start_ = fed_ + static_cast<std::uint64_t>(less_than - begin);
          state_ = State::tag_open;
          p = less_than + 1;
        } else {
          p = end;
        }
        continue;

      case State::tag_open:
        if (is_ascii_alpha(c)) {
          state_ = State::tag_name;
          candidates_ = kCandidatesByFirstLetter[to_ascii_lower(c) - 'a'] & kStartTagCandidates;
          name_length_ = 1;
        } else if (c == '!') {
          state_ = State::markup_declaration_open;
        } else if (c == '/') {
          state_ = State::end_tag_open;
        } else if (c == '?') {
          state_ = State::bogus_comment;
        } else if (c == '<') {
          // "<<": only the last '<' of a run may open a tag.
          while (p + 1 != end && p[1] == '<') ++p;
          tag_start_ = fed_ + static_cast<std::uint64_t>(p - begin);
        } else {
          state_ = State::data;  // "<" before anything else is text
        }
        break;

      case State::end_tag_open:
        if (is_ascii_alpha(c)) {
          state_ = State::tag_name;
          candidates_ = kCandidatesByFirstLetter[to_ascii_lower(c) - 'a'] & kEndTagCandidates;
          name_length_ = 1;
          break;
        }
        // "</>" is dropped; "</ ", "</3", ... open a bogus comment, which the
        // '>' may end at once.
        state_ = c == '>' ? State::data : State::bogus_comment;
        break;

      case State::tag_name: {
        if (!ends_tag_name(c)) {
          if (candidates_ == 0) {
            p = skip_until<slash | greater_than>(p, end);  // a name none of ours
            continue;
          }
          const char lower = to_ascii_lower(c);
          for (auto left = candidates_; left != 0; left &= left - 1) {
            const std::size_t i = static_cast<std::size_t>(std::countr_zero(left));
            const std::string_view name = kElementNames[i];
            if (name_length_ >= name.size() || name[name_length_] != lower) candidates_ &= ~bit(i);
          }
          ++name_length_;  // stops once no candidate is left, so well below 255
          break;
        }
        element_ = Element::none;
        for (auto left = candidates_; left != 0; left &= left - 1) {
          const std::size_t i = static_cast<std::size_t>(std::countr_zero(left));
          if (kElementNames[i].size() == name_length_) element_ = static_cast<Element>(i);
        }
        candidates_ = 0;
        if (element_ == Element::head || element_ == Element::body) {
          state_ = State::found;
          continue;
        }
        state_ = c == '>' ? state_after_tag() : State::before_attribute_name;
        break;
      }

      case State::before_attribute_name:
        if (c == '>') {
          state_ = state_after_tag();
        } else if (!is_space(c) && c != '/') {
          state_ = State::attribute_name;  // even '=' here begins a name, not a value
        }
        break;

      case State::attribute_name:
        if (c == '>') {
          state_ = state_after_tag();
        } else if (c == '=') {
          state_ = State::before_attribute_value;
        } else if (c == '/') {
          state_ = State::before_attribute_name;
        } else if (!is_space(c)) {
          p = skip_until<greater_than | equals | slash>(p, end);
          continue;
        }
        break;

      case State::before_attribute_value:
        if (c == '"') {
          state_ = State::attribute_value_double_quoted;
        } else if (c == '\'') {
          state_ = State::attribute_value_single_quoted;
        } else if (c == '>') {
          state_ = state_after_tag();
        } else if (!is_space(c)) {
          state_ = State::attribute_value_unquoted;
        }
        break;

      case State::attribute_value_double_quoted:
      case State::attribute_value_single_quoted:
        if (const char* quote = find(p, end, state_ == State::attribute_value_double_quoted ? '"' : '\'')) {
          state_ = State::before_attribute_name;
          p = quote + 1;
        } else {
          p = end;
        }
        continue;

      case State::attribute_value_unquoted:
        if (c == '>') {
          state_ = state_after_tag();
        } else if (is_space(c)) {
          state_ = State::before_attribute_name;
        } else {
          p = skip_until<greater_than>(p, end);
          continue;
        }
        break;

      case State::markup_declaration_open:
        if (c == '-') {
          state_ = State::markup_declaration_dash;
          break;
        }
        state_ = State::bogus_comment;  // "<!DOCTYPE", "<![CDATA[", "<!>", ...
        continue;

      case State::markup_declaration_dash:
        if (c == '-') {
          state_ = State::comment_start;
          break;
        }
        state_ = State::bogus_comment;
        continue;

      case State::bogus_comment:
        if (const char* greater_than = find(p, end, '>')) {
          state_ = State::data;
          p = greater_than + 1;
        } else {
          p = end;
        }
        continue;

      case State::comment_start:
        if (c == '-') {
          state_ = State::comment_start_dash;
        } else if (c == '>') {
          state_ = State::data;  // "<!-->"
        } else {
          state_ = State::comment;
        }
        break;

      case State::comment_start_dash:
        if (c == '-') {
          state_ = State::comment_end;
        } else if (c == '>') {
          state_ = State::data;  // "<!--->"
        } else {
          state_ = State::comment;
        }
        break;

      case State::comment:
        if (const char* dash = find(p, end, '-')) {
          state_ = State::comment_end_dash;
          p = dash + 1;
        } else {
          p = end;
        }
        continue;

      case State::comment_end_dash:
        state_ = c == '-' ? State::comment_end : State::comment;
        break;

      case State::comment_end:
        if (c == '>') {
          state_ = State::data;
        } else if (c == '!') {
          state_ = State::comment_end_bang;
        } else if (c != '-') {
          state_ = State::comment;
        }
        break;

      case State::comment_end_bang:
        if (c == '>') {
          state_ = State::data;  // "--!>"
        } else {
          state_ = c == '-' ? State::comment_end_dash : State::comment;
        }
        break;

      case State::raw_text:
        if (const char* less_than = find(p, end, '<')) {
          state_ = State::raw_text_less_than;
          p = less_than + 1;
        } else {
          p = end;
        }
        continue;

      case State::raw_text_less_than:
        if (c == '/') {
          state_ = State::raw_text_end_tag_name;
          name_length_ = 0;
          break;
        }
        state_ = State::raw_text;  // c may be the next '<'
        continue;

      case State::raw_text_end_tag_name: {
        const std::string_view name = kElementNames[static_cast<std::size_t>(element_)];
        if (name_length_ < name.size()) {
          if (to_ascii_lower(c) == name[name_length_]) {
            ++name_length_;
            break;
          }
        } else if (ends_tag_name(c)) {
          element_ = Element::none;  // the end tag's own attributes follow, then data
          state_ = c == '>' ? State::data : State::before_attribute_name;
          break;
        }
        state_ = State::raw_text;  // not its end tag ("</scripty"): text, and c may be the next '<'
        continue;
      }

      case State::plaintext:
        p = end;
        continue;

      case State::found:
        break;
    }
    ++p;
  }
  fed_ += chunk.size();
  return result();
}

ScanResult InjectionScanner::result() const {
  if (state_ == State::found) {
    return {.found = true,
            .kind = element_ == Element::head ? InjectionPointKind::head_end : InjectionPointKind::body_start,
            .point = tag_start_,
            .safe_end = tag_start_};
  }
  const bool may_be_injection_point = state_ == State::tag_open || state_ == State::end_tag_open ||
                                      (state_ == State::tag_name && (candidates_ & kInjectionCandidates));
  return {.safe_end = may_be_injection_point ? tag_start_ : fed_};
}

InjectionScanner::State InjectionScanner::state_after_tag() const {
  static_assert(kElementNames.size() == static_cast<std::size_t>(Element::none));
  switch (element_) {
    case Element::none:
      return State::data;
    case Element::plaintext:
      return State::plaintext;
    default:
      return State::raw_text;
  }
}

}  // namespace datadog::rum
