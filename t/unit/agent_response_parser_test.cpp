// The agent's HTTP/1.1 replies, fed in every possible split: framing by
// Content-Length, chunks or connection close, reuse of the connection, and
// refusal of anything that is not a bounded HTTP/1.x response.
#include "agent/agent_response_parser.hpp"

#include <gtest/gtest.h>

#include <string>

using datadog::agent::AgentResponseParser;
using Result = AgentResponseParser::Result;

namespace {

struct Outcome {
  Result result = Result::need_more;
  int status = 0;
  std::string body;
  bool reusable = false;
  std::string error;
};

Outcome outcome_of(const AgentResponseParser& parser) {
  Outcome outcome;
  outcome.result = parser.result();
  if (outcome.result == Result::complete) {
    outcome.status = parser.status_code();
    outcome.body = std::string(parser.body());
    outcome.reusable = parser.reusable();
  }
  if (outcome.result == Result::error) {
    outcome.error = std::string(parser.error());
  }
  return outcome;
}

void feed_then_maybe_eof(AgentResponseParser& parser, bool eof) {
  if (eof) {
    parser.finish_on_eof();
  }
}

// Parses `input` whole, then split at every point, then byte by byte, and
// checks that every way of splitting gives the same outcome (error reasons for
// garbage may show more or fewer of the offending bytes, so only their
// beginning is compared).
Outcome parse(std::string_view input, bool eof = false) {
  AgentResponseParser whole;
  whole.feed(input);
  feed_then_maybe_eof(whole, eof);
  const Outcome expected = outcome_of(whole);

  auto same = [&](const Outcome& got, const std::string& how) {
    EXPECT_EQ(got.result, expected.result) << how;
    EXPECT_EQ(got.status, expected.status) << how;
    EXPECT_EQ(got.body, expected.body) << how;
    EXPECT_EQ(got.reusable, expected.reusable) << how;
    EXPECT_EQ(got.error.substr(0, 20), expected.error.substr(0, 20)) << how;
  };
  for (std::size_t split = 0; split <= input.size(); ++split) {
    AgentResponseParser parser;
    parser.feed(input.substr(0, split));
    parser.feed(input.substr(split));
    feed_then_maybe_eof(parser, eof);
    same(outcome_of(parser), "split at " + std::to_string(split));
  }
  AgentResponseParser bytewise;
  for (const char c : input) {
    bytewise.feed(std::string_view(&c, 1));
  }
  feed_then_maybe_eof(bytewise, eof);
  same(outcome_of(bytewise), "byte by byte");
  return expected;
}

bool all_printable(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return false;
    }
  }
  return true;
}

}  // namespace

TEST(AgentResponseParser, ReplyWithContentLengthKeepsTheConnection) {
  const auto outcome = parse(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 41\r\n"
      "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n"
      R"({"rate_by_service":{"service:,env:":1}})"
      "\n\n");
  ASSERT_EQ(outcome.result, Result::complete) << outcome.error;
  EXPECT_EQ(outcome.status, 200);
  EXPECT_EQ(outcome.body, "{\"rate_by_service\":{\"service:,env:\":1}}\n\n");
  EXPECT_TRUE(outcome.reusable);
}

TEST(AgentResponseParser, IncompleteReplyNeedsMore) {
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").result, Result::need_more);
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Len").result, Result::need_more);
  EXPECT_EQ(parse("HTTP/1.").result, Result::need_more);
}

TEST(AgentResponseParser, ConnectionCloseMakesTheConnectionNotReusable) {
  const auto outcome = parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: Close\r\n\r\nok");
  ASSERT_EQ(outcome.result, Result::complete);
  EXPECT_FALSE(outcome.reusable);
  EXPECT_FALSE(
      parse("HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n").reusable);
}

TEST(AgentResponseParser, Http10IsNotReusable) {
  const auto outcome = parse("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_EQ(outcome.result, Result::complete);
  EXPECT_EQ(outcome.body, "ok");
  EXPECT_FALSE(outcome.reusable);
}

TEST(AgentResponseParser, ChunkedBodyWithExtensionsAndTrailers) {
  const auto outcome = parse(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n"
      "5 ; name=\"v\"\r\n worl\r\n"
      "A\r\nd, again!!\r\n"
      "0\r\nX-Trailer: a\r\nOther: b\r\n\r\n");
  ASSERT_EQ(outcome.result, Result::complete) << outcome.error;
  EXPECT_EQ(outcome.body, "hello world, again!!");
  EXPECT_TRUE(outcome.reusable);
}

TEST(AgentResponseParser, ChunkedBodyWithoutTrailers) {
  const auto outcome = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
  ASSERT_EQ(outcome.result, Result::complete) << outcome.error;
  EXPECT_EQ(outcome.body, "{}");
}

TEST(AgentResponseParser, ChunkedResponseIsIncompleteUntilTheEmptyLineAfterTheLastChunk) {
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n").result,
            Result::need_more);
}

TEST(AgentResponseParser, MalformedChunksAreErrors) {
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(parse(head + "zz\r\n").result, Result::error);
  EXPECT_EQ(parse(head + "2x\r\nab\r\n").result, Result::error);
  EXPECT_EQ(parse(head + "2\r\nabc\r\n").result, Result::error);
  EXPECT_EQ(parse(head + "\r\n").result, Result::error);
}

TEST(AgentResponseParser, CloseDelimitedBodyEndsAtEof) {
  const std::string reply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\":1}";
  EXPECT_EQ(parse(reply).result, Result::need_more);
  const auto outcome = parse(reply, /*eof=*/true);
  ASSERT_EQ(outcome.result, Result::complete) << outcome.error;
  EXPECT_EQ(outcome.body, "{\"a\":1}");
  EXPECT_FALSE(outcome.reusable);
}

TEST(AgentResponseParser, EofBeforeTheEndIsAnError) {
  const auto cut = parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", /*eof=*/true);
  ASSERT_EQ(cut.result, Result::error);
  EXPECT_EQ(cut.error, "connection closed in the middle of the response");
  AgentResponseParser nothing;
  EXPECT_EQ(nothing.finish_on_eof(), Result::error);
  EXPECT_EQ(nothing.error(), "connection closed before any response");
  EXPECT_FALSE(nothing.started());
}

TEST(AgentResponseParser, EofAfterACompleteResponseKeepsItButNotTheConnection) {
  AgentResponseParser parser;
  parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(parser.finish_on_eof(), Result::complete);
  EXPECT_FALSE(parser.reusable());
}

TEST(AgentResponseParser, InterimResponsesAreSkipped) {
  const auto outcome = parse(
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_EQ(outcome.result, Result::complete) << outcome.error;
  EXPECT_EQ(outcome.status, 200);
  EXPECT_EQ(outcome.body, "ok");
}

TEST(AgentResponseParser, SwitchingProtocolsIsAnError) {
  EXPECT_EQ(parse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n").result, Result::error);
}

TEST(AgentResponseParser, NoContentHasNoBody) {
  const auto outcome = parse("HTTP/1.1 204 No Content\r\n\r\n");
  ASSERT_EQ(outcome.result, Result::complete);
  EXPECT_EQ(outcome.body, "");
  EXPECT_TRUE(outcome.reusable);
}

TEST(AgentResponseParser, ErrorStatusesAreCompleteResponses) {
  for (const int status : {400, 404, 408, 413, 429, 500, 503}) {
    const std::string reply =
        "HTTP/1.1 " + std::to_string(status) + " Whatever\r\nContent-Length: 4\r\n\r\nnope";
    const auto outcome = parse(reply);
    ASSERT_EQ(outcome.result, Result::complete) << reply;
    EXPECT_EQ(outcome.status, status);
  }
}

TEST(AgentResponseParser, BareLineFeedsAndALeadingEmptyLineAreTolerated) {
  const auto outcome = parse("\r\nHTTP/1.1 200 OK\nContent-Length: 2\n\nok");
  ASSERT_EQ(outcome.result, Result::complete) << outcome.error;
  EXPECT_EQ(outcome.body, "ok");
}

TEST(AgentResponseParser, StatusLineWithoutReasonPhrase) {
  const auto outcome = parse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(outcome.result, Result::complete) << outcome.error;
  EXPECT_EQ(outcome.status, 200);
}

TEST(AgentResponseParser, GarbageIsRefusedAtItsFirstWrongByte) {
  AgentResponseParser parser;
  EXPECT_EQ(parser.feed("S"), Result::error);
  for (const char* garbage : {"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", "HTTP/2 200\r\n\r\n", "HTTP/1.1 abc\r\n",
                              "HTTP/1.1 2000 OK\r\n", "HTTP/1.1  200 OK\r\n", "http/1.1 200 OK\r\n", "<html>",
                              "\x16\x03\x01\x02\x00"}) {
    const auto outcome = parse(garbage);
    ASSERT_EQ(outcome.result, Result::error) << garbage;
    EXPECT_EQ(outcome.error.rfind("not an HTTP/1.x response: \"", 0), 0u) << outcome.error;
  }
}

TEST(AgentResponseParser, ErrorReasonNeverEchoesRawBytes) {
  AgentResponseParser parser;
  parser.feed(std::string_view("\x00\xff\x1b[31mHTTP\r\n\"\\", 15));
  ASSERT_EQ(parser.result(), Result::error);
  EXPECT_TRUE(all_printable(parser.error())) << parser.error();
  EXPECT_EQ(parser.error(), R"(not an HTTP/1.x response: "\x00\xff\x1b[31mHTTP\r\n\x22\x5c")");
}

TEST(AgentResponseParser, LongGarbageIsShownShortened) {
  AgentResponseParser parser;
  parser.feed(std::string(1000, 'x'));
  ASSERT_EQ(parser.result(), Result::error);
  EXPECT_LT(parser.error().size(), 80u);
  EXPECT_TRUE(all_printable(parser.error()));
}

TEST(AgentResponseParser, StatusOutOfRangeIsAnError) {
  EXPECT_EQ(parse("HTTP/1.1 099 Odd\r\n\r\n").result, Result::error);
  EXPECT_EQ(parse("HTTP/1.1 600 Odd\r\n\r\n").result, Result::error);
}

TEST(AgentResponseParser, OversizedHeadIsAnError) {
  const std::string big_header = "X-Big: " + std::string(17 * 1024, 'a') + "\r\n";
  const auto outcome = parse("HTTP/1.1 200 OK\r\n" + big_header + "Content-Length: 0\r\n\r\n");
  ASSERT_EQ(outcome.result, Result::error);
  EXPECT_EQ(outcome.error, "response head over 16384 bytes");

  // Without any line end, the limit still applies.
  AgentResponseParser endless;
  EXPECT_EQ(endless.feed("HTTP/1.1 200 OK\r\nX: " + std::string(20000, 'a')), Result::error);
}

TEST(AgentResponseParser, EndlessInterimResponsesHitTheHeadLimit) {
  std::string replies;
  while (replies.size() < 17 * 1024) {
    replies += "HTTP/1.1 100 Continue\r\n\r\n";
  }
  AgentResponseParser parser;
  EXPECT_EQ(parser.feed(replies), Result::error);
}

TEST(AgentResponseParser, OversizedBodyIsAnError) {
  AgentResponseParser announced;
  EXPECT_EQ(announced.feed("HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n"), Result::error);

  const std::string megabyte(1024 * 1024, 'a');
  AgentResponseParser chunked;
  chunked.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n");
  chunked.feed(megabyte);
  EXPECT_EQ(chunked.feed("\r\n1\r\n"), Result::error);

  AgentResponseParser until_eof;
  until_eof.feed("HTTP/1.1 200 OK\r\n\r\n");
  until_eof.feed(megabyte);
  EXPECT_EQ(until_eof.feed("a"), Result::error);

  AgentResponseParser huge_chunk;
  EXPECT_EQ(huge_chunk.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n"),
            Result::error);
}

TEST(AgentResponseParser, ExactlyTheBodyLimitIsAccepted) {
  AgentResponseParser parser;
  parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n");
  EXPECT_EQ(parser.feed(std::string(1024 * 1024, 'a')), Result::complete);
}

TEST(AgentResponseParser, InvalidFramingHeadersAreErrors) {
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n").result, Result::error);
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").result, Result::error);
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n").result, Result::error);
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n").result, Result::error);
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").result, Result::error);
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nX: a\r\n continued\r\n\r\n").result, Result::error);
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n").result, Result::error);
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n").result, Result::error);
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n").result, Result::error);
}

TEST(AgentResponseParser, RepeatedEqualContentLengthsAreAccepted) {
  const auto outcome = parse("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok");
  ASSERT_EQ(outcome.result, Result::complete) << outcome.error;
  EXPECT_EQ(outcome.body, "ok");
}

TEST(AgentResponseParser, TransferEncodingWinsOverContentLengthButTheConnectionIsClosed) {
  const auto outcome = parse(
      "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
  ASSERT_EQ(outcome.result, Result::complete) << outcome.error;
  EXPECT_EQ(outcome.body, "ok");
  EXPECT_FALSE(outcome.reusable);
}

TEST(AgentResponseParser, BytesAfterTheResponseMakeTheConnectionNotReusable) {
  const auto outcome = parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n");
  ASSERT_EQ(outcome.result, Result::complete);
  EXPECT_EQ(outcome.body, "ok");
  EXPECT_FALSE(outcome.reusable);
}

TEST(AgentResponseParser, ResetReadiesTheParserForTheNextResponse) {
  AgentResponseParser parser;
  ASSERT_EQ(parser.feed("HTTP/1.1 500 Oops\r\nContent-Length: 1\r\n\r\nx"), Result::complete);
  parser.reset();
  EXPECT_FALSE(parser.started());
  EXPECT_EQ(parser.result(), Result::need_more);
  ASSERT_EQ(parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), Result::complete);
  EXPECT_EQ(parser.status_code(), 200);
  EXPECT_EQ(parser.body(), "ok");
  EXPECT_TRUE(parser.reusable());
}

TEST(AgentResponseParser, ErrorsAreSticky) {
  AgentResponseParser parser;
  parser.feed("garbage");
  EXPECT_EQ(parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), Result::error);
  EXPECT_EQ(parser.finish_on_eof(), Result::error);
}
