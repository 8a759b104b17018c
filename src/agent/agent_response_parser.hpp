// An incremental parser for the agent's HTTP/1.1 reply to a trace payload:
// bytes arrive in whatever pieces the socket gives; the parser says when the
// response is complete, what it said, and whether the connection can carry
// the next request. Everything it accepts is bounded, so it can face a
// misbehaving peer (or a fuzzer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace datadog::agent {

struct ResponseLimits {
  std::size_t max_head = 16 * 1024;    // status line and headers, interim (1xx) responses included
  std::size_t max_body = 1024 * 1024;  // the JSON reply is tiny; anything near this is not an agent
};

class AgentResponseParser {
 public:
  enum class Result { need_more, complete, error };

  explicit AgentResponseParser(ResponseLimits limits = {});

  // Ready for the next response on the same or a new connection; keeps the
  // body buffer's capacity.
  void reset();

  // Consumes the next bytes from the connection. Once complete or error, the
  // result stays; bytes after a complete response only make the connection
  // not reusable.
  Result feed(std::string_view bytes);

  // The peer closed the connection: completes a close-delimited body,
  // otherwise the response is cut short (error).
  Result finish_on_eof();

  Result result() const { return result_; }
  // Whether any byte arrived: a reused keep-alive connection that fails before
  // the first byte was probably closed by the agent while idle.
  bool started() const { return bytes_seen_ > 0; }

  // Valid once complete.
  int status_code() const { return status_code_; }
  std::string_view body() const { return body_; }
  bool reusable() const;

  // Why the response was refused: short, printable ASCII, never raw bytes.
  std::string_view error() const { return error_; }

 private:
  enum class State {
    status_line,
    header_line,
    body_with_length,
    chunk_size_line,
    chunk_data,
    chunk_data_end,
    trailer_line,
    body_until_eof,
    done,
    failed,
  };

  Result fail(std::string reason);
  void start_response();
  bool check_status_prefix(std::string_view rest_of_input);
  void process_line();
  void process_status_line();
  void process_header_line();
  void end_of_head();
  void process_chunk_size_line();
  void complete();

  ResponseLimits limits_;
  State state_ = State::status_line;
  Result result_ = Result::need_more;
  std::string line_;
  std::string body_;
  std::string error_;
  std::size_t head_bytes_ = 0;     // all heads so far, interim ones included
  std::size_t trailer_bytes_ = 0;  // the trailer section and chunk-size lines
  std::uint64_t bytes_seen_ = 0;
  std::uint64_t remaining_ = 0;  // of a Content-Length body or of the current chunk
  int status_code_ = 0;
  bool http10_ = false;
  bool connection_close_ = false;
  bool has_content_length_ = false;
  std::uint64_t content_length_ = 0;
  bool chunked_ = false;
  bool close_delimited_ = false;
  bool trailing_garbage_ = false;
};

}  // namespace datadog::agent
