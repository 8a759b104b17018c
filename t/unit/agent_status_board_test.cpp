// The status board sums live workers and the ones that exited, so totals
// survive reloads; JSON is what datadog_status serves.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "agent/status_board.hpp"

using namespace datadog::agent;

TEST(AgentStatusBoard, TotalsIncludeLiveAndExitedWorkers) {
  auto board = std::make_unique<StatusBoard>();
  StatusSlot* a = board->claim(100);
  StatusSlot* b = board->claim(200);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(a, b);
  AgentCounters counters;
  counters.traces_sent = 5;
  counters.payloads_sent = 2;
  counters.traces_dropped[static_cast<std::size_t>(DropReason::buffer_full)] = 3;
  counters.last_error = "127.0.0.1:8126: connection refused";
  publish(*a, counters, LinkState::reachable, "127.0.0.1:8126");
  a->spans_created.fetch_add(7);
  counters.traces_dropped[static_cast<std::size_t>(DropReason::buffer_full)] = 0;
  publish(*b, counters, LinkState::unreachable, "[::1]:8126");
  board->release(*a);  // worker 100 exits (a reload)

  const auto status = nlohmann::json::parse(board->to_json());
  EXPECT_EQ(status["traces_sent"], 10);
  EXPECT_EQ(status["payloads_sent"], 4);
  EXPECT_EQ(status["spans_created"], 7);
  EXPECT_EQ(status["traces_dropped"], 3);
  EXPECT_EQ(status["traces_dropped_by_reason"]["buffer_full"], 3);
  ASSERT_EQ(status["workers"].size(), 1u);
  EXPECT_EQ(status["workers"][0]["pid"], 200);
  EXPECT_EQ(status["workers"][0]["agent_state"], "unreachable");
  EXPECT_EQ(status["workers"][0]["agent_address"], "[::1]:8126");
  EXPECT_EQ(status["workers"][0]["last_error"], "127.0.0.1:8126: connection refused");
}

TEST(AgentStatusBoard, ReleasedSlotIsReusedCleanAndFullBoardSaysSo) {
  auto board = std::make_unique<StatusBoard>();
  StatusSlot* first = board->claim(1);
  first->spans_created.fetch_add(9);
  board->release(*first);
  StatusSlot* again = board->claim(2);
  EXPECT_EQ(again, first);
  EXPECT_EQ(again->spans_created.load(), 0u);
  for (std::int64_t pid = 3; pid < 3 + static_cast<std::int64_t>(StatusBoard::max_workers) - 1; ++pid) {
    EXPECT_NE(board->claim(pid), nullptr);
  }
  EXPECT_EQ(board->claim(999), nullptr);
}

TEST(AgentStatusBoard, SlotsOfDeadWorkersAreReclaimedWithTheirCounters) {
  auto board = std::make_unique<StatusBoard>();
  board->claim(10)->spans_created.fetch_add(4);  // killed: never released
  board->claim(11)->spans_created.fetch_add(1);  // alive
  board->claim(12)->spans_created.fetch_add(2);  // killed, pid reused below
  auto alive = [](std::int64_t pid) { return pid != 10 && pid != 12; };
  StatusSlot* mine = board->claim(12, alive);
  ASSERT_NE(mine, nullptr);
  EXPECT_EQ(mine->spans_created.load(), 0u);

  const auto status = nlohmann::json::parse(board->to_json());
  EXPECT_EQ(status["spans_created"], 7);
  ASSERT_EQ(status["workers"].size(), 2u);
  EXPECT_EQ(status["workers"][0]["pid"], 12);
  EXPECT_EQ(status["workers"][1]["pid"], 11);
  EXPECT_EQ(status["workers"][1]["spans_created"], 1);
}

TEST(AgentStatusBoard, MoreDeadWorkersThanSlotsNeverFillTheBoard) {
  auto board = std::make_unique<StatusBoard>();
  auto alive = [](std::int64_t) { return false; };
  for (std::int64_t pid = 1; pid <= 3 * static_cast<std::int64_t>(StatusBoard::max_workers); ++pid) {
    ASSERT_NE(board->claim(pid, alive), nullptr) << pid;
  }
  EXPECT_EQ(nlohmann::json::parse(board->to_json())["workers"].size(), 1u);
}

TEST(AgentStatusBoard, EmptyAddressAndErrorArePublishedAsEmptyText) {
  // A worker with no address yet publishes a default (null-data) view; under
  // UBSan, copying it with memcpy would be reported (undefined even for 0 bytes).
  auto board = std::make_unique<StatusBoard>();
  StatusSlot* slot = board->claim(300);
  ASSERT_NE(slot, nullptr);
  publish(*slot, AgentCounters{}, LinkState::unknown, std::string_view{});
  const auto status = nlohmann::json::parse(board->to_json());
  ASSERT_EQ(status["workers"].size(), 1u);
  EXPECT_EQ(status["workers"][0]["agent_address"], "");
  EXPECT_EQ(status["workers"][0]["last_error"], "");
}

TEST(AgentStatusBoard, TracesGivenUpAtWorkerExitStayInTheTotals) {
  auto board = std::make_unique<StatusBoard>();
  StatusSlot* slot = board->claim(300);
  ASSERT_NE(slot, nullptr);
  AgentCounters counters;
  counters.traces_dropped[static_cast<std::size_t>(DropReason::worker_exit)] = 30;
  publish(*slot, counters, LinkState::reachable, "127.0.0.1:8126");  // the exit flush's last word
  board->release(*slot);

  const auto status = nlohmann::json::parse(board->to_json());
  EXPECT_EQ(status["traces_dropped"], 30);
  EXPECT_EQ(status["traces_dropped_by_reason"]["worker_exit"], 30);
  EXPECT_EQ(status["traces_dropped_by_reason"]["buffer_full"], 0);
}
