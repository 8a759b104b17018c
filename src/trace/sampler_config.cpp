// Parsing of the sampling settings into SamplerConfig pieces; every failure is
// one sentence naming the setting, the rule (1-based) and what was found.
#include "trace/sampler_config.hpp"

#include <charconv>
#include <cmath>
#include <exception>
#include <nlohmann/json.hpp>
#include <utility>

namespace datadog::trace {
namespace {

using nlohmann::json;

constexpr std::size_t max_found_chars = 60;

std::string_view trim(std::string_view text) {
  constexpr std::string_view space = " \t\r\n";
  const auto first = text.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

// The offending value as the user wrote it (in JSON), cut short if long.
std::string found(const json& value) {
  std::string text = value.dump();
  if (text.size() > max_found_chars) {
    text.resize(max_found_chars);
    text += "...";
  }
  return text;
}

std::string quoted(std::string_view text) {
  std::string result = "\"";
  result.append(text.substr(0, max_found_chars));
  if (text.size() > max_found_chars) result += "...";
  result += '"';
  return result;
}

std::optional<double> parse_decimal(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  if (text.front() == '+') text.remove_prefix(1);
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

bool is_rate(double value) { return value >= 0.0 && value <= 1.0; }

// Throws nothing; returns an empty string on success. A span sampling rule
// (`max_per_second` not null) may also have "max_per_second".
std::string parse_rule(const json& object, SamplingRule& rule,
                       std::optional<double>* max_per_second = nullptr) {
  if (!object.is_object()) return "must be a JSON object, found " + found(object);
  for (const auto& [key, value] : object.items()) {
    if (key == "service" || key == "name" || key == "resource") {
      if (!value.is_string()) return "\"" + key + "\" must be a string, found " + found(value);
      Pattern pattern = Pattern::glob(value.get<std::string>());
      if (key == "service") {
        rule.service = std::move(pattern);
      } else if (key == "name") {
        rule.name = std::move(pattern);
      } else {
        rule.resource = std::move(pattern);
      }
    } else if (key == "tags") {
      if (!value.is_object()) return "\"tags\" must be an object of tag patterns, found " + found(value);
      for (const auto& [tag_key, tag_value] : value.items()) {
        if (!tag_value.is_string()) {
          return "tag \"" + tag_key + "\" must have a string pattern, found " + found(tag_value);
        }
        rule.tags.push_back(TagPattern{tag_key, Pattern::glob(tag_value.get<std::string>())});
      }
    } else if (key == "sample_rate") {
      if (!value.is_number() || !is_rate(value.get<double>())) {
        return "\"sample_rate\" must be a number from 0 to 1, found " + found(value);
      }
      rule.sample_rate = value.get<double>();
    } else if (key == "max_per_second" && max_per_second != nullptr) {
      // dd-trace-cpp's bounds: a finite number above zero.
      if (!value.is_number() || !(value.get<double>() > 0.0) || !std::isfinite(value.get<double>())) {
        return "\"max_per_second\" must be a number greater than 0, found " + found(value);
      }
      *max_per_second = value.get<double>();
    } else {
      const std::string expected = max_per_second != nullptr
                                       ? "service, name, resource, tags, sample_rate or max_per_second"
                                       : "service, name, resource, tags or sample_rate";
      return "unknown property \"" + key + "\" (expected " + expected + ")";
    }
  }
  return {};
}

// The JSON array both kinds of rules come in; `add(object)` parses one rule
// and returns a problem sentence, or "". Returns the error sentence, or "".
template <class AddRule>
std::string parse_rule_array(std::string_view text, std::string_view source, AddRule&& add) {
  const std::string prefix = std::string(source) + ": ";
  if (trim(text).empty()) return {};
  json rules;
  try {
    rules = json::parse(text);
  } catch (const json::exception& error) {
    std::string_view what = error.what();  // "[json.exception.parse_error.101] parse error at ..."
    if (const auto bracket = what.find("] "); bracket != std::string_view::npos)
      what.remove_prefix(bracket + 2);
    return prefix + "invalid JSON: " + std::string(what);
  }
  if (!rules.is_array()) return prefix + "must be a JSON array of rules, found " + found(rules);
  std::size_t number = 0;
  for (const json& object : rules) {
    ++number;
    if (std::string problem = add(object); !problem.empty()) {
      return prefix + "rule " + std::to_string(number) + ": " + problem;
    }
  }
  return {};
}

}  // namespace

SamplingRulesParse parse_sampling_rules(std::string_view text, std::string_view source) try {
  SamplingRulesParse result;
  result.error = parse_rule_array(text, source, [&](const json& object) {
    SamplingRule rule;
    std::string problem = parse_rule(object, rule);
    if (problem.empty()) result.rules.push_back(std::move(rule));
    return problem;
  });
  if (!result.ok()) result.rules.clear();
  return result;
} catch (const std::exception& error) {
  return SamplingRulesParse{{}, std::string(source) + ": " + error.what()};
}

SpanSamplingRulesParse parse_span_sampling_rules(std::string_view text, std::string_view source) try {
  SpanSamplingRulesParse result;
  result.error = parse_rule_array(text, source, [&](const json& object) {
    SpanSamplingRule rule;
    std::string problem = parse_rule(object, rule.match, &rule.max_per_second);
    if (problem.empty()) result.rules.push_back(std::move(rule));
    return problem;
  });
  if (!result.ok()) result.rules.clear();
  return result;
} catch (const std::exception& error) {
  return SpanSamplingRulesParse{{}, std::string(source) + ": " + error.what()};
}

NumberParse parse_sample_rate(std::string_view text, std::string_view source) try {
  const auto value = parse_decimal(text);
  if (!value || !is_rate(*value)) {
    return NumberParse{0, std::string(source) + ": must be a number from 0 to 1, found " + quoted(text)};
  }
  return NumberParse{*value, {}};
} catch (const std::exception& error) {
  return NumberParse{0, std::string(source) + ": " + error.what()};
}

NumberParse parse_rate_limit(std::string_view text, std::string_view source) try {
  const auto value = parse_decimal(text);
  if (!value || !(*value > 0.0)) {
    return NumberParse{0, std::string(source) + ": must be a number greater than 0, found " + quoted(text)};
  }
  return NumberParse{*value, {}};
} catch (const std::exception& error) {
  return NumberParse{0, std::string(source) + ": " + error.what()};
}

SampleRateCondition parse_sample_rate_condition(std::string_view value) noexcept {
  if (value == "on") return SampleRateCondition::on;
  if (value == "off" || value.empty()) return SampleRateCondition::off;
  return SampleRateCondition::invalid;
}

}  // namespace datadog::trace
