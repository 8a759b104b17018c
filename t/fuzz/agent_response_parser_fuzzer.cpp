// The agent reply parser on any bytes, in any split: the same outcome as one
// piece, bounded bodies, printable error reasons. Input: one byte (bit 0: the
// peer closes after the bytes; bit 1: tiny limits; the rest seeds the split),
// then the bytes from the connection.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/agent_response_parser.hpp"
#include "fuzz_check.hpp"

using datadog::agent::AgentResponseParser;
using datadog::agent::ResponseLimits;
using Result = AgentResponseParser::Result;

namespace {

struct Outcome {
  Result result = Result::need_more;
  bool started = false;
  int status = 0;
  std::string body;
  bool reusable = false;
  std::string error;

  bool operator==(const Outcome&) const = default;
};

Outcome outcome_of(const AgentResponseParser& parser, const ResponseLimits& limits) {
  Outcome outcome;
  outcome.result = parser.result();
  outcome.started = parser.started();
  if (outcome.result == Result::complete) {
    outcome.status = parser.status_code();
    FUZZ_CHECK(outcome.status >= 100 && outcome.status <= 599);
    outcome.body = std::string(parser.body());
    FUZZ_CHECK(outcome.body.size() <= limits.max_body);
    outcome.reusable = parser.reusable();
  } else {
    FUZZ_CHECK(!parser.reusable());
  }
  if (outcome.result == Result::error) {
    const std::string_view error = parser.error();
    FUZZ_CHECK(!error.empty() && error.size() < 200);
    for (const char c : error) FUZZ_CHECK(c >= 0x20 && c < 0x7f);
    // How much of the offending input the reason quotes depends on the split.
    outcome.error = std::string(error.substr(0, error.find('"')));
  } else {
    FUZZ_CHECK(parser.error().empty());
  }
  return outcome;
}

template <class NextSize>
Outcome parse(AgentResponseParser& parser, std::string_view input, bool eof, const ResponseLimits& limits,
              NextSize&& next_size) {
  std::size_t offset = 0;
  while (offset < input.size()) {
    const std::size_t size = std::min(next_size(), input.size() - offset);
    const Result result = parser.feed(input.substr(offset, size));
    FUZZ_CHECK(result == parser.result());
    offset += size;
  }
  if (eof) {
    const Result before = parser.result();
    const Result result = parser.finish_on_eof();
    FUZZ_CHECK(result == parser.result());
    FUZZ_CHECK(before == Result::need_more || result == before);  // a final result stays
  }
  return outcome_of(parser, limits);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool eof = (data[0] & 1) != 0;
  const ResponseLimits limits =
      (data[0] & 2) != 0 ? ResponseLimits{.max_head = 64, .max_body = 16} : ResponseLimits{};
  std::uint64_t random = (data[0] >> 2) * 0x9e3779b97f4a7c15ull + 1;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  AgentResponseParser whole(limits);
  const Outcome expected = parse(whole, input, eof, limits, [&] { return input.size(); });

  AgentResponseParser bytewise(limits);
  FUZZ_CHECK(parse(bytewise, input, eof, limits, [] { return std::size_t{1}; }) == expected);

  const auto random_size = [&] {
    random = random * 6364136223846793005ull + 1442695040888963407ull;
    const auto bits = static_cast<std::size_t>(random >> 33);
    return (bits & 0x70) == 0 ? bits >> 8 : bits & 0xf;  // empty pieces included
  };
  AgentResponseParser split(limits);
  FUZZ_CHECK(parse(split, input, eof, limits, random_size) == expected);

  // A parser that is reset reads the next response as a new one would.
  split.reset();
  FUZZ_CHECK(!split.started() && split.result() == Result::need_more);
  FUZZ_CHECK(parse(split, input, eof, limits, random_size) == expected);

  // Bytes after a final result change nothing but the connection's reuse.
  if (expected.result != Result::need_more) {
    whole.feed("HTTP/1.1 200 OK\r\n\r\n");
    Outcome after = outcome_of(whole, limits);
    FUZZ_CHECK(!after.reusable && after.started);
    after.reusable = expected.reusable;
    after.started = expected.started;
    FUZZ_CHECK(after == expected);
  }
  return 0;
}
