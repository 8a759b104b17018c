// One state machine, advanced byte by byte through heads and in bulk through
// bodies, so the outcome never depends on how the input was split.
#include "agent/agent_response_parser.hpp"

#include <algorithm>

namespace datadog::agent {
namespace {

constexpr std::string_view status_prefix = "HTTP/1.";

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c)) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

// Calls `visit` with each trimmed element of a comma-separated header value.
template <typename Visit>
void for_each_element(std::string_view value, Visit&& visit) {
  while (true) {
    const auto comma = value.find(',');
    visit(trim(value.substr(0, comma)));
    if (comma == std::string_view::npos) {
      return;
    }
    value.remove_prefix(comma + 1);
  }
}

// Bytes from the peer rendered safely for a log line.
std::string printable_preview(std::string_view bytes) {
  constexpr std::size_t limit = 24;
  std::string out = "\"";
  for (const char c : bytes.substr(0, limit)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && c != '"' && c != '\\') {
      out += c;
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    }
  }
  out += bytes.size() > limit ? "...\"" : "\"";
  return out;
}

}  // namespace

AgentResponseParser::AgentResponseParser(ResponseLimits limits) : limits_(limits) {}

void AgentResponseParser::reset() {
  state_ = State::status_line;
  result_ = Result::need_more;
  line_.clear();
  body_.clear();
  error_.clear();
  head_bytes_ = 0;
  trailer_bytes_ = 0;
  bytes_seen_ = 0;
  remaining_ = 0;
  start_response();
}

void AgentResponseParser::start_response() {
  status_code_ = 0;
  http10_ = false;
  connection_close_ = false;
  has_content_length_ = false;
  content_length_ = 0;
  chunked_ = false;
  close_delimited_ = false;
  trailing_garbage_ = false;
}

bool AgentResponseParser::reusable() const {
  // A response framed by both Transfer-Encoding and Content-Length is a
  // smuggling pattern: RFC 9112 says close after it.
  return state_ == State::done && !http10_ && !connection_close_ && !close_delimited_ && !trailing_garbage_ &&
         !(chunked_ && has_content_length_);
}

AgentResponseParser::Result AgentResponseParser::fail(std::string reason) {
  state_ = State::failed;
  result_ = Result::error;
  error_ = std::move(reason);
  return result_;
}

void AgentResponseParser::complete() {
  state_ = State::done;
  result_ = Result::complete;
}

// Garbage is recognised from its first wrong byte rather than after a whole
// line, so a peer that speaks something else fails fast.
bool AgentResponseParser::check_status_prefix(std::string_view rest_of_input) {
  const std::size_t n = line_.size();
  const char c = line_.back();
  bool ok;
  if (n == 1 && c == '\r') {
    ok = true;  // an empty line before the status line
  } else if (n <= status_prefix.size()) {
    ok = c == status_prefix[n - 1];
  } else if (n == 8) {
    ok = is_digit(c);
  } else if (n == 9) {
    ok = c == ' ';
  } else if (n <= 12) {
    ok = is_digit(c);
  } else if (n == 13) {
    ok = c == ' ' || c == '\r';
  } else {
    return true;
  }
  if (!ok) {
    std::string seen = line_;
    seen.append(rest_of_input.substr(0, 24));
    fail("not an HTTP/1.x response: " + printable_preview(seen));
  }
  return ok;
}

AgentResponseParser::Result AgentResponseParser::feed(std::string_view bytes) {
  bytes_seen_ += bytes.size();
  std::size_t i = 0;
  while (i < bytes.size()) {
    switch (state_) {
      case State::done:
        trailing_garbage_ = true;
        return result_;
      case State::failed:
        return result_;
      case State::body_with_length:
      case State::chunk_data: {
        const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, bytes.size() - i));
        body_.append(bytes.substr(i, take));
        i += take;
        remaining_ -= take;
        if (remaining_ == 0) {
          if (state_ == State::body_with_length) {
            complete();
          } else {
            state_ = State::chunk_data_end;
          }
        }
        break;
      }
      case State::body_until_eof: {
        const std::size_t take = bytes.size() - i;
        if (body_.size() + take > limits_.max_body) {
          return fail("response body over " + std::to_string(limits_.max_body) + " bytes");
        }
        body_.append(bytes.substr(i));
        i = bytes.size();
        break;
      }
      default: {
        const char c = bytes[i++];
        const bool in_head = state_ == State::status_line || state_ == State::header_line;
        std::size_t& budget = in_head ? head_bytes_ : trailer_bytes_;
        if (++budget > limits_.max_head) {
          return fail(in_head
                          ? "response head over " + std::to_string(limits_.max_head) + " bytes"
                          : "chunk framing or trailers over " + std::to_string(limits_.max_head) + " bytes");
        }
        if (c == '\n') {
          if (!line_.empty() && line_.back() == '\r') {
            line_.pop_back();
          }
          process_line();
          line_.clear();
          break;
        }
        if (!line_.empty() && line_.back() == '\r') {
          return fail("stray CR in the response head");
        }
        line_ += c;
        if (state_ == State::status_line && !check_status_prefix(bytes.substr(i))) {
          return result_;
        }
        break;
      }
    }
  }
  return result_;
}

AgentResponseParser::Result AgentResponseParser::finish_on_eof() {
  switch (state_) {
    case State::done:
      connection_close_ = true;
      return result_;
    case State::failed:
      return result_;
    case State::body_until_eof:
      complete();
      return result_;
    default:
      return fail(bytes_seen_ == 0 ? "connection closed before any response"
                                   : "connection closed in the middle of the response");
  }
}

void AgentResponseParser::process_line() {
  switch (state_) {
    case State::status_line:
      process_status_line();
      return;
    case State::header_line:
      process_header_line();
      return;
    case State::chunk_size_line:
      process_chunk_size_line();
      return;
    case State::chunk_data_end:
      if (!line_.empty()) {
        fail("chunk data not followed by CRLF");
      } else {
        state_ = State::chunk_size_line;
      }
      return;
    case State::trailer_line:
      // Trailer fields carry nothing the exporter needs.
      if (line_.empty()) {
        complete();
      }
      return;
    default:
      return;
  }
}

void AgentResponseParser::process_status_line() {
  if (line_.empty()) {
    return;  // RFC 9112 2.2: empty lines before the status line are ignored
  }
  // check_status_prefix vetted "HTTP/1.D NNN" byte by byte; what is left is
  // the length, and what follows the code.
  if (line_.size() < 12 || (line_.size() > 12 && line_[12] != ' ')) {
    fail("malformed status line");
    return;
  }
  http10_ = line_[7] == '0';
  status_code_ = (line_[9] - '0') * 100 + (line_[10] - '0') * 10 + (line_[11] - '0');
  if (status_code_ < 100 || status_code_ > 599) {
    fail("status code " + line_.substr(9, 3) + " out of range");
    return;
  }
  state_ = State::header_line;
}

void AgentResponseParser::process_header_line() {
  if (line_.empty()) {
    end_of_head();
    return;
  }
  if (line_.front() == ' ' || line_.front() == '\t') {
    fail("obsolete header line folding");
    return;
  }
  const std::string_view line = line_;
  const auto colon = line.find(':');
  const std::string_view name = line.substr(0, colon);
  if (colon == std::string_view::npos || name.empty() ||
      !std::all_of(name.begin(), name.end(), is_token_char)) {
    fail("malformed header line");
    return;
  }
  const std::string_view value = trim(line.substr(colon + 1));

  if (equals_ignoring_case(name, "content-length")) {
    bool valid = true;
    for_each_element(value, [&](std::string_view element) {
      std::uint64_t parsed = 0;
      if (element.empty() || element.size() > 18 || !std::all_of(element.begin(), element.end(), is_digit)) {
        valid = false;
        return;
      }
      for (const char d : element) {
        parsed = parsed * 10 + static_cast<std::uint64_t>(d - '0');
      }
      if (has_content_length_ && parsed != content_length_) {
        valid = false;
        return;
      }
      has_content_length_ = true;
      content_length_ = parsed;
    });
    if (!valid) {
      fail("invalid Content-Length");
    }
  } else if (equals_ignoring_case(name, "transfer-encoding")) {
    bool valid = true;
    for_each_element(value, [&](std::string_view coding) {
      if (coding.empty()) {
        return;  // RFC 9110 5.6.1: empty list elements are ignored
      }
      if (!equals_ignoring_case(coding, "chunked") || chunked_) {
        valid = false;
        return;
      }
      chunked_ = true;
    });
    if (!valid) {
      fail("unsupported Transfer-Encoding");
    }
  } else if (equals_ignoring_case(name, "connection")) {
    for_each_element(value, [&](std::string_view option) {
      if (equals_ignoring_case(option, "close")) {
        connection_close_ = true;
      }
    });
  }
}

void AgentResponseParser::end_of_head() {
  if (status_code_ < 200) {
    if (status_code_ == 101) {
      fail("unexpected 101 Switching Protocols");
      return;
    }
    // Interim responses (100 Continue, 103 Early Hints) precede the real one;
    // their bytes still count toward the head limit.
    start_response();
    state_ = State::status_line;
    return;
  }
  if (status_code_ == 204 || status_code_ == 304) {
    complete();
    return;
  }
  if (chunked_) {
    state_ = State::chunk_size_line;
    return;
  }
  if (has_content_length_) {
    if (content_length_ > limits_.max_body) {
      fail("response body of " + std::to_string(content_length_) + " bytes over the limit of " +
           std::to_string(limits_.max_body));
      return;
    }
    remaining_ = content_length_;
    if (remaining_ == 0) {
      complete();
    } else {
      state_ = State::body_with_length;
    }
    return;
  }
  close_delimited_ = true;
  state_ = State::body_until_eof;
}

void AgentResponseParser::process_chunk_size_line() {
  const std::string_view line = line_;
  std::size_t i = 0;
  std::uint64_t size = 0;
  while (i < line.size()) {
    const char c = lower(line[i]);
    int digit;
    if (is_digit(c)) {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      break;
    }
    size = size * 16 + static_cast<std::uint64_t>(digit);
    if (size > limits_.max_body) {
      fail("response body over " + std::to_string(limits_.max_body) + " bytes");
      return;
    }
    ++i;
  }
  if (i == 0) {
    fail("malformed chunk size");
    return;
  }
  // Anything after the size must be a chunk extension (";name=value"),
  // possibly after whitespace; extensions are ignored.
  const std::string_view rest = trim(line.substr(i));
  if (!rest.empty() && rest.front() != ';') {
    fail("malformed chunk size");
    return;
  }
  if (size == 0) {
    state_ = State::trailer_line;
    return;
  }
  if (body_.size() + size > limits_.max_body) {
    fail("response body over " + std::to_string(limits_.max_body) + " bytes");
    return;
  }
  remaining_ = size;
  state_ = State::chunk_data;
}

}  // namespace datadog::agent
