// The pattern language of Datadog sampling rules: `*` matches any run of
// bytes (also none), `?` exactly one byte, anything else itself, ignoring
// ASCII case (as dd-trace-cpp does). No escapes, no character classes.
#pragma once

#include <string_view>

namespace datadog::trace {

bool glob_match(std::string_view pattern, std::string_view subject);

}  // namespace datadog::trace
