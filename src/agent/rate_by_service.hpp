// The sampling rates the agent sends back in reply to a trace payload:
// {"rate_by_service": {"service:<svc>,env:<env>": <rate>, ...}}.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace datadog::agent {

// Keyed by the agent's own key text, e.g. "service:web,env:prod"; the
// default rate is under "service:,env:".
using ServiceRates = std::unordered_map<std::string, double>;

struct RateByServiceParse {
  ServiceRates rates;
  // False when the reply has no "rate_by_service" (an empty body included):
  // the sampler keeps the rates it has.
  bool has_rates = false;
  // Entries that were not a number in [0, 1]; they are left out, the others
  // are used. `skipped_example` names the first one, for a log line.
  std::size_t skipped = 0;
  std::string skipped_example;
  // Non-empty when the body is not a JSON object or "rate_by_service" is not
  // an object: nothing from such a reply is used.
  std::string error;
  bool ok() const { return error.empty(); }
};

RateByServiceParse parse_rate_by_service(std::string_view body);

}  // namespace datadog::agent
