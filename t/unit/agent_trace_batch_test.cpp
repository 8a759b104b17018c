// The worker's buffer of encoded traces: payloads that are msgpack arrays of
// at most max_payload bytes, one in flight kept for retry, a byte cap that
// drops new traces, and memory reused from payload to payload.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>

#include "agent/trace_batch.hpp"

using datadog::agent::AppendResult;
using datadog::agent::Payload;
using datadog::agent::TraceBatch;
using datadog::agent::TraceBatchLimits;

namespace {

constexpr std::size_t MiB = 1024 * 1024;

// A msgpack trace of exactly `size` bytes (size >= 3): an array holding one
// bin8 of filler, whose bytes carry `tag` so order can be checked.
std::string trace_of(std::size_t size, std::uint8_t tag = 0) {
  std::string trace;
  trace += '\x91';
  if (size - 3 <= 255) {
    trace += '\xc4';
    trace += static_cast<char>(size - 3);
    trace.append(size - 3, static_cast<char>(tag));
  } else {
    trace += '\xc6';  // bin32
    const auto n = static_cast<std::uint32_t>(size - 6);
    for (int shift = 24; shift >= 0; shift -= 8) {
      trace += static_cast<char>(n >> shift);
    }
    trace.append(n, static_cast<char>(tag));
  }
  return trace;
}

const std::string empty_trace = "\x90";  // a trace with no spans: one byte

// The array header at the start of a payload: (count, header length).
std::pair<std::size_t, std::size_t> array_header(std::string_view bytes) {
  const auto b = [&](std::size_t i) {
    return static_cast<std::size_t>(static_cast<unsigned char>(bytes[i]));
  };
  if ((b(0) & 0xf0) == 0x90) {
    return {b(0) & 0x0f, 1};
  }
  if (b(0) == 0xdc) {
    return {(b(1) << 8) | b(2), 3};
  }
  if (b(0) == 0xdd) {
    return {(b(1) << 24) | (b(2) << 16) | (b(3) << 8) | b(4), 5};
  }
  ADD_FAILURE() << "not an array header";
  return {0, 0};
}

Payload take(TraceBatch& batch) {
  const auto payload = batch.next_payload();
  EXPECT_TRUE(payload.has_value());
  return payload.value_or(Payload{});
}

}  // namespace

TEST(AgentTraceBatch, EmptyBatchHasNothingToSend) {
  TraceBatch batch;
  EXPECT_FALSE(batch.next_payload().has_value());
  EXPECT_FALSE(batch.payload_in_flight());
  EXPECT_EQ(batch.buffered_bytes(), 0u);
}

TEST(AgentTraceBatch, PayloadIsAMsgpackArrayOfTheCommittedTraces) {
  TraceBatch batch;
  EXPECT_EQ(batch.append_trace(trace_of(10, 1)), AppendResult::accepted);
  EXPECT_EQ(batch.append_trace(trace_of(20, 2)), AppendResult::accepted);
  EXPECT_EQ(batch.append_trace(trace_of(30, 3)), AppendResult::accepted);
  const Payload payload = take(batch);
  EXPECT_EQ(payload.traces, 3u);
  EXPECT_EQ(payload.bytes, "\x93" + trace_of(10, 1) + trace_of(20, 2) + trace_of(30, 3));
}

TEST(AgentTraceBatch, EncoderWritesStraightIntoTheBuffer) {
  TraceBatch batch;
  std::string& out = batch.begin_trace();
  out += trace_of(5, 7);
  EXPECT_EQ(batch.commit_trace(), AppendResult::accepted);
  EXPECT_EQ(batch.buffered_traces(), 1u);
  EXPECT_EQ(batch.buffered_bytes(), 5u);
  EXPECT_EQ(take(batch).bytes, "\x91" + trace_of(5, 7));
}

TEST(AgentTraceBatch, AbandonedTraceLeavesNoBytes) {
  TraceBatch batch;
  batch.append_trace(trace_of(5, 1));
  batch.begin_trace() += "\x92\x80";  // an encoder that failed halfway
  batch.abandon_trace();
  EXPECT_EQ(batch.buffered_traces(), 1u);
  EXPECT_EQ(take(batch).bytes, "\x91" + trace_of(5, 1));
}

TEST(AgentTraceBatch, BeginningAgainAbandonsTheUncommittedTrace) {
  TraceBatch batch;
  batch.begin_trace() += "\x92garbage";
  batch.begin_trace() += trace_of(4, 9);
  EXPECT_EQ(batch.commit_trace(), AppendResult::accepted);
  EXPECT_EQ(take(batch).bytes, "\x91" + trace_of(4, 9));
}

TEST(AgentTraceBatch, CommitWithoutBytesIsIgnored) {
  TraceBatch batch;
  batch.begin_trace();
  EXPECT_EQ(batch.commit_trace(), AppendResult::empty);
  EXPECT_EQ(batch.commit_trace(), AppendResult::empty);
  EXPECT_FALSE(batch.next_payload().has_value());
}

TEST(AgentTraceBatch, ATraceBeingWrittenIsNeverSent) {
  TraceBatch batch;
  batch.begin_trace() += trace_of(5);
  EXPECT_FALSE(batch.next_payload().has_value());
  EXPECT_EQ(batch.commit_trace(), AppendResult::accepted);
  EXPECT_EQ(take(batch).traces, 1u);
}

TEST(AgentTraceBatch, ArrayHeaderIsFixarrayUpToFifteenTraces) {
  for (const std::size_t count : {1u, 15u}) {
    TraceBatch batch;
    for (std::size_t i = 0; i < count; ++i) {
      batch.append_trace(empty_trace);
    }
    const Payload payload = take(batch);
    EXPECT_EQ(static_cast<unsigned char>(payload.bytes[0]), 0x90 | count);
    EXPECT_EQ(payload.bytes.size(), 1 + count);
  }
}

TEST(AgentTraceBatch, ArrayHeaderIsArray16From16To65535Traces) {
  for (const std::size_t count : {16u, 65535u}) {
    TraceBatch batch;
    for (std::size_t i = 0; i < count; ++i) {
      batch.append_trace(empty_trace);
    }
    const Payload payload = take(batch);
    EXPECT_EQ(payload.bytes.substr(0, 3),
              std::string({'\xdc', static_cast<char>(count >> 8), static_cast<char>(count & 0xff)}));
    EXPECT_EQ(payload.bytes.size(), 3 + count);
    EXPECT_EQ(payload.traces, count);
  }
}

TEST(AgentTraceBatch, ArrayHeaderIsArray32From65536Traces) {
  TraceBatch batch;
  for (std::size_t i = 0; i < 65536; ++i) {
    batch.append_trace(empty_trace);
  }
  const Payload payload = take(batch);
  EXPECT_EQ(payload.bytes.substr(0, 5), std::string("\xdd\x00\x01\x00\x00", 5));
  EXPECT_EQ(payload.bytes.size(), 5 + 65536u);
  EXPECT_EQ(payload.bytes.substr(5), std::string(65536, '\x90'));
}

TEST(AgentTraceBatch, PayloadsAreSplitAtFourMebibytesKeepingEveryTraceInOrder) {
  TraceBatch batch;  // default limits: 4 MiB payloads, 16 MiB buffered
  EXPECT_EQ(batch.limits().max_payload, 4 * MiB);
  EXPECT_EQ(batch.limits().max_buffered, 16 * MiB);
  const std::size_t trace_size = 1000;
  const std::size_t total = 10 * MiB / trace_size;
  for (std::size_t i = 0; i < total; ++i) {
    ASSERT_EQ(batch.append_trace(trace_of(trace_size, static_cast<std::uint8_t>(i))), AppendResult::accepted);
  }
  EXPECT_TRUE(batch.full_payload_ready());

  std::size_t next_tag = 0;
  std::size_t sent = 0;
  std::vector<std::size_t> sizes;
  while (auto payload = batch.next_payload()) {
    const auto [count, header] = array_header(payload->bytes);
    ASSERT_EQ(count, payload->traces);
    ASSERT_LE(payload->bytes.size(), 4 * MiB);
    ASSERT_EQ(payload->bytes.size(), header + count * trace_size);
    for (std::size_t i = 0; i < count; ++i) {
      ASSERT_EQ(payload->bytes.substr(header + i * trace_size, trace_size),
                trace_of(trace_size, static_cast<std::uint8_t>(next_tag++)));
    }
    sizes.push_back(payload->bytes.size());
    sent += count;
    batch.release_payload();
  }
  EXPECT_EQ(sent, total);
  ASSERT_EQ(sizes.size(), 3u);
  // Full payloads hold as many traces as fit: one more would cross 4 MiB.
  EXPECT_GT(sizes[0] + trace_size, 4 * MiB);
  EXPECT_GT(sizes[1] + trace_size, 4 * MiB);
  EXPECT_EQ(batch.buffered_bytes(), 0u);
  EXPECT_EQ(batch.buffered_traces(), 0u);
}

TEST(AgentTraceBatch, PayloadOfExactlyTheLimitIsAllowed) {
  TraceBatch batch(TraceBatchLimits{100, 1000});
  EXPECT_EQ(batch.append_trace(trace_of(99)), AppendResult::accepted);  // 1-byte header + 99
  EXPECT_EQ(batch.append_trace(trace_of(3)), AppendResult::accepted);
  EXPECT_EQ(take(batch).bytes.size(), 100u);
  batch.release_payload();
  EXPECT_EQ(take(batch).traces, 1u);
}

TEST(AgentTraceBatch, TraceLargerThanAPayloadIsDropped) {
  TraceBatch batch(TraceBatchLimits{100, 1000});
  batch.append_trace(trace_of(10, 1));
  EXPECT_EQ(batch.append_trace(trace_of(100)), AppendResult::too_large);
  EXPECT_EQ(batch.buffered_traces(), 1u);
  EXPECT_EQ(take(batch).bytes, "\x91" + trace_of(10, 1));
}

TEST(AgentTraceBatch, NewTracesAreDroppedOverTheCap) {
  TraceBatch batch(TraceBatchLimits{4096, 10 * 1024});
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(batch.append_trace(trace_of(1024)), AppendResult::accepted) << i;
  }
  EXPECT_FALSE(batch.has_room());
  EXPECT_EQ(batch.append_trace(trace_of(1024)), AppendResult::buffer_full);
  EXPECT_EQ(batch.append_trace(trace_of(3)), AppendResult::buffer_full);
  EXPECT_EQ(batch.buffered_bytes(), 10 * 1024u);
  EXPECT_EQ(batch.buffered_traces(), 10u);
}

TEST(AgentTraceBatch, CapCountsThePayloadInFlight) {
  TraceBatch batch(TraceBatchLimits{4096, 8 * 1024});
  for (int i = 0; i < 4; ++i) {
    batch.append_trace(trace_of(1024));
  }
  const Payload in_flight = take(batch);
  EXPECT_EQ(in_flight.traces, 3u);  // 3 KiB + header: a fourth would cross 4096
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(batch.append_trace(trace_of(1024)), AppendResult::accepted) << i;
  }
  EXPECT_EQ(batch.append_trace(trace_of(1024)), AppendResult::buffer_full);
  batch.release_payload();  // delivered: room again
  EXPECT_TRUE(batch.has_room());
  EXPECT_EQ(batch.append_trace(trace_of(1024)), AppendResult::accepted);
}

TEST(AgentTraceBatch, TraceThatWouldCrossTheCapIsDroppedButSmallerOnesStillFit) {
  TraceBatch batch(TraceBatchLimits{4096, 2000});
  EXPECT_EQ(batch.append_trace(trace_of(1500)), AppendResult::accepted);
  EXPECT_EQ(batch.append_trace(trace_of(600)), AppendResult::buffer_full);
  EXPECT_EQ(batch.append_trace(trace_of(500)), AppendResult::accepted);
  EXPECT_FALSE(batch.has_room());
}

TEST(AgentTraceBatch, FailedPayloadIsOfferedAgainWhileNewTracesWaitBehindIt) {
  TraceBatch batch;
  batch.append_trace(trace_of(10, 1));
  const Payload first = take(batch);
  batch.append_trace(trace_of(10, 2));  // arrives while the first is in flight
  EXPECT_TRUE(batch.payload_in_flight());

  const Payload retry = take(batch);  // the attempt failed: same bytes, same memory
  EXPECT_EQ(retry.bytes.data(), first.bytes.data());
  EXPECT_EQ(retry.bytes, "\x91" + trace_of(10, 1));
  EXPECT_EQ(batch.buffered_traces(), 2u);

  batch.release_payload();
  EXPECT_EQ(take(batch).bytes, "\x91" + trace_of(10, 2));
}

TEST(AgentTraceBatch, FullPayloadReadyOnlyOnceAPayloadIsFull) {
  TraceBatch batch(TraceBatchLimits{100, 1000});
  batch.append_trace(trace_of(60));
  EXPECT_FALSE(batch.full_payload_ready());
  batch.append_trace(trace_of(60));
  EXPECT_TRUE(batch.full_payload_ready());
}

TEST(AgentTraceBatch, SteadyStateReusesTheSameTwoBuffers) {
  TraceBatch batch;
  std::set<const char*> buffers;
  for (int round = 0; round < 100; ++round) {
    for (int i = 0; i < 50; ++i) {
      batch.append_trace(trace_of(200, static_cast<std::uint8_t>(i)));
    }
    const Payload payload = take(batch);
    ASSERT_EQ(payload.traces, 50u);
    if (round >= 2) {  // once both buffers have grown to their working size
      buffers.insert(payload.bytes.data());
    }
    batch.release_payload();
  }
  EXPECT_EQ(buffers.size(), 2u);
}

TEST(AgentTraceBatch, ClearForgetsThePayloadInFlightAndEveryWaitingTrace) {
  TraceBatch batch(TraceBatchLimits{4096, 16 * 1024});
  for (int i = 0; i < 6; ++i) {
    batch.append_trace(trace_of(1024, 1));
  }
  take(batch);  // in flight
  batch.clear();
  EXPECT_EQ(batch.buffered_traces(), 0u);
  EXPECT_EQ(batch.buffered_bytes(), 0u);
  EXPECT_FALSE(batch.payload_in_flight());
  EXPECT_FALSE(batch.next_payload().has_value());
  // Still usable, from an empty start.
  batch.append_trace(trace_of(10, 2));
  EXPECT_EQ(take(batch).bytes, "\x91" + trace_of(10, 2));
}
