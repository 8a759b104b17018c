// The sample rates the Datadog Agent sends back in its reply to a trace
// payload: `{"rate_by_service": {"service:<svc>,env:<env>": <rate>, ...}}`,
// with "service:,env:" as the default. Updated from the exporter (may
// allocate); looked up per request (does not).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace datadog::trace {

class AgentRates {
 public:
  // Takes the rates of one reply body. The per-service rates are replaced as a
  // whole; the default rate is replaced only when the reply carries one (it
  // stays otherwise, as in dd-trace-cpp and dd-trace-go). Entries whose value
  // is not a number in [0, 1], or whose key is not "service:…,env:…", are
  // skipped. A body that is not JSON, not an object, or whose
  // "rate_by_service" is not an object changes nothing and yields a sentence
  // for the log; an empty body, or one without "rate_by_service", changes
  // nothing.
  std::optional<std::string> update(std::string_view json_body);

  // The same from rates already parsed, keyed by the agent's key text (e.g.
  // agent::ServiceRates, std::unordered_map<std::string, double>): elements
  // with `.first` convertible to std::string_view and `.second` a double.
  template <typename KeyRatePairs>
  void replace(const KeyRatePairs& rates) {
    Update update;
    for (const auto& [key, rate] : rates) update.add(key, rate);
    commit(std::move(update));
  }

  // The rate for this service and environment, else the default rate, else
  // nullopt (nothing received yet).
  std::optional<double> find(std::string_view service, std::string_view env) const;

  bool has_default() const { return default_rate_.has_value(); }
  std::size_t size() const { return by_service_.size(); }

 private:
  struct Entry {
    std::string service;
    std::string env;
    double rate;
  };

  struct Update {
    std::vector<Entry> entries;
    std::optional<double> default_rate;
    void add(std::string_view key, double rate);
  };

  void commit(Update update);

  std::vector<Entry> by_service_;  // sorted by (service, env) for binary search
  std::optional<double> default_rate_;
};

}  // namespace datadog::trace
