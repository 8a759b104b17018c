#include <gtest/gtest.h>

#include "text/boolean.hpp"

namespace datadog::text {
namespace {

TEST(ParseBoolean, AcceptsTheTracersSpellingsInAnyCase) {
  for (const char* yes : {"true", "TRUE", "True", "1", "yes", "YES", "on", "On", " on\t"}) {
    EXPECT_EQ(parse_boolean(yes), std::optional<bool>(true)) << yes;
  }
  for (const char* no : {"false", "FALSE", "0", "no", "No", "off", "OFF", "\tfalse "}) {
    EXPECT_EQ(parse_boolean(no), std::optional<bool>(false)) << no;
  }
}

TEST(ParseBoolean, RefusesAnythingElse) {
  for (const char* other : {"", " ", "2", "y", "n", "t", "enabled", "truee", "o n", "10", "-1", "nope"}) {
    EXPECT_EQ(parse_boolean(other), std::nullopt) << '"' << other << '"';
  }
}

}  // namespace
}  // namespace datadog::text
