// Parsing of the agent's reply body; runs once per delivered payload, never on
// the request path, so nlohmann_json's DOM is fine here.
#include "agent/rate_by_service.hpp"

#include <nlohmann/json.hpp>

namespace datadog::agent {
namespace {

RateByServiceParse failure(std::string why) {
  RateByServiceParse result;
  result.error = std::move(why);
  return result;
}

// A short printable rendering of an arbitrary key for log lines.
std::string printable(std::string_view text) {
  constexpr std::size_t limit = 64;
  std::string out;
  for (const char c : text.substr(0, limit)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && c != '"' && c != '\\') {
      out += c;
    } else {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    }
  }
  if (text.size() > limit) {
    out += "...";
  }
  return out;
}

}  // namespace

RateByServiceParse parse_rate_by_service(std::string_view body) {
  const auto first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return RateByServiceParse{};
  }
  try {
    const auto json = nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) {
      return failure("the agent's reply is not valid JSON");
    }
    if (!json.is_object()) {
      return failure(std::string("the agent's reply is a JSON ") + json.type_name() + ", not an object");
    }
    const auto found = json.find("rate_by_service");
    if (found == json.end()) {
      return RateByServiceParse{};
    }
    if (!found->is_object()) {
      return failure(std::string("\"rate_by_service\" is a JSON ") + found->type_name() + ", not an object");
    }
    RateByServiceParse result;
    result.has_rates = true;
    for (const auto& [key, value] : found->items()) {
      // Booleans are not numbers to nlohmann_json, and JSON has no NaN.
      const bool valid = value.is_number() && value.get<double>() >= 0.0 && value.get<double>() <= 1.0;
      if (!valid) {
        if (result.skipped++ == 0) {
          result.skipped_example =
              "\"" + printable(key) + "\": " + (value.is_number() ? "outside [0, 1]" : "not a number");
        }
        continue;
      }
      result.rates.insert_or_assign(key, value.get<double>());
    }
    return result;
  } catch (const std::exception& e) {
    // nlohmann_json reports through exceptions in a few corners (e.g. memory);
    // none may escape into nginx.
    return failure("the agent's reply could not be read: " + printable(e.what()));
  }
}

}  // namespace datadog::agent
