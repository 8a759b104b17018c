// Finds where the RUM <script> snippet goes in an HTML response body that
// arrives in pieces: before the first real </head>, else before the first real
// <body> start tag, whichever comes first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace datadog::rum {

// The longest tag prefix that can still become an injection point: "</head"
// before the byte that tells whether it is that end tag.
inline constexpr std::size_t kMaxHoldBack = 6;

enum class InjectionPointKind { head_end, body_start };

struct ScanResult {
  bool found = false;
  InjectionPointKind kind = InjectionPointKind::head_end;  // when found
  // When found: absolute stream offset (bytes fed before it) of the '<' the
  // snippet goes before.
  std::uint64_t point = 0;
  // When not found: every byte before this absolute offset is final and may be
  // emitted; the bytes from safe_end up to fed() (at most kMaxHoldBack) may
  // start an injection-point tag and must be held back by the caller. When
  // found, equal to point.
  std::uint64_t safe_end = 0;
};

// A simplified HTML tokenizer: comments, bogus comments (doctype, CDATA,
// processing instructions), quoted and unquoted attribute values, raw-text and
// RCDATA elements and <plaintext> hide what looks like </head> or <body>. It
// keeps state only, never bytes (the caller keeps what it holds back), does
// not allocate, and is trivially copyable.
class InjectionScanner {
 public:
  // Scans the next piece of the body. Not to be called again once a result
  // says found (it would only repeat that result).
  ScanResult feed(std::string_view chunk);

  // Total bytes fed.
  std::uint64_t fed() const { return fed_; }

 private:
  // Named after the HTML tokenizer states they stand for (WHATWG HTML 13.2.5);
  // merged where the difference cannot move the end of a tag or comment.
  enum class State : std::uint8_t {
    data,
    tag_open,                       // "<"
    end_tag_open,                   // "</"
    tag_name,                       // "<x" or "</x": candidates_ says what it may still be
    before_attribute_name,          // also after a quoted value and after "/"
    attribute_name,                 // also after an attribute name: "=" starts a value
    before_attribute_value,         // after "="
    attribute_value_double_quoted,  // up to the next '"'
    attribute_value_single_quoted,  // up to the next '\''
    attribute_value_unquoted,       // up to whitespace or '>'
    markup_declaration_open,        // "<!"
    markup_declaration_dash,        // "<!-"
    bogus_comment,                  // "<!x", "<?", "</ ": up to the next '>'
    comment_start,                  // "<!--"
    comment_start_dash,             // "<!---"
    comment,
    comment_end_dash,       // "-"
    comment_end,            // "--"
    comment_end_bang,       // "--!"
    raw_text,               // content of element_ (script, style, title, ...)
    raw_text_less_than,     // "<" in raw text
    raw_text_end_tag_name,  // "</" + name_length_ characters of element_'s name
    plaintext,              // the rest of the body is text
    found,                  // before the tag at tag_start_; element_ says which
  };

  // The elements whose tag names change what the scanner does.
  enum class Element : std::uint8_t {
    head,
    body,
    script,
    style,
    textarea,
    title,
    xmp,
    iframe,
    noembed,
    noframes,
    noscript,
    plaintext,
    none,
  };

  ScanResult result() const;
  State state_after_tag() const;

  State state_ = State::data;
  // Inside a tag, once its name ended: the element its '>' opens (none for
  // other tags and for end tags). In raw text: the element whose end tag
  // closes it.
  Element element_ = Element::none;
  std::uint8_t name_length_ = 0;  // characters of the tag name read or matched so far
  std::uint16_t candidates_ = 0;  // tag_name: one bit per Element the name may still be
  std::uint64_t tag_start_ = 0;   // absolute offset of the '<' of the current tag
  std::uint64_t fed_ = 0;
};

}  // namespace datadog::rum
