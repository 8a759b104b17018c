// Agent keys are split into (service, env) when a reply arrives, so a request
// can look its rate up with the two views it already has: no key string is
// built per request. The agent writes keys as "service:" + svc + ",env:" + env
// with normalized values, which cannot contain ',', so the first ",env:"
// is the separator.
#include "trace/agent_rates.hpp"

#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>
#include <tuple>
#include <utility>

namespace datadog::trace {
namespace {

constexpr std::string_view service_prefix = "service:";
constexpr std::string_view env_separator = ",env:";

std::string parse_error_sentence(const nlohmann::json::parse_error& error) {
  // nlohmann's message starts with "[json.exception.parse_error.101] parse
  // error at line 1, column 2: "; keep what follows the tag.
  std::string_view what = error.what();
  if (const auto bracket = what.find("] "); bracket != std::string_view::npos)
    what.remove_prefix(bracket + 2);
  return std::string(what);
}

auto key_of(std::string_view service, std::string_view env) { return std::tuple(service, env); }

}  // namespace

std::optional<std::string> AgentRates::update(std::string_view json_body) try {
  if (json_body.find_first_not_of(" \t\r\n") == std::string_view::npos) return std::nullopt;
  const auto body = nlohmann::json::parse(json_body);
  if (!body.is_object()) {
    return std::string("agent reply: expected a JSON object, found a JSON ") + body.type_name();
  }
  const auto rates = body.find("rate_by_service");
  if (rates == body.end()) return std::nullopt;
  if (!rates->is_object()) {
    return std::string("agent reply: \"rate_by_service\" must be an object, found a JSON ") +
           rates->type_name();
  }

  Update update;
  for (const auto& [key, value] : rates->items()) {
    if (value.is_number()) update.add(key, value.get<double>());
  }
  commit(std::move(update));
  return std::nullopt;
} catch (const nlohmann::json::parse_error& error) {
  return "agent reply: invalid JSON: " + parse_error_sentence(error);
} catch (const std::exception& error) {
  return std::string("agent reply: ") + error.what();
}

void AgentRates::Update::add(std::string_view key, double rate) {
  if (!(rate >= 0.0 && rate <= 1.0)) return;
  if (!key.starts_with(service_prefix)) return;
  key.remove_prefix(service_prefix.size());
  const auto separator = key.find(env_separator);
  if (separator == std::string_view::npos) return;
  const std::string_view service = key.substr(0, separator);
  const std::string_view env = key.substr(separator + env_separator.size());
  if (service.empty() && env.empty()) {
    default_rate = rate;
  } else {
    entries.push_back(Entry{std::string(service), std::string(env), rate});
  }
}

void AgentRates::commit(Update update) {
  std::sort(update.entries.begin(), update.entries.end(), [](const Entry& a, const Entry& b) {
    return key_of(a.service, a.env) < key_of(b.service, b.env);
  });
  by_service_ = std::move(update.entries);
  if (update.default_rate) default_rate_ = update.default_rate;
}

std::optional<double> AgentRates::find(std::string_view service, std::string_view env) const {
  const auto wanted = key_of(service, env);
  const auto found =
      std::lower_bound(by_service_.begin(), by_service_.end(), wanted,
                       [](const Entry& e, const auto& k) { return key_of(e.service, e.env) < k; });
  if (found != by_service_.end() && key_of(found->service, found->env) == wanted) return found->rate;
  return default_rate_;
}

}  // namespace datadog::trace
