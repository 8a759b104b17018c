// Test doubles for the propagation tests: request headers as a list of
// name/value pairs, read and written the way the nginx glue does, and a guard
// that makes any allocation from the default memory resource fail.
#pragma once

#include <gtest/gtest.h>

#include <memory_resource>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "trace/propagation.hpp"

namespace propagation_test {

using namespace datadog::trace;

inline std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  }
  return out;
}

class TestHeaders : public HeaderReader, public HeaderWriter {
 public:
  TestHeaders() = default;
  TestHeaders(std::initializer_list<std::pair<std::string, std::string>> entries) : entries_(entries) {}

  void add(std::string name, std::string value) { entries_.emplace_back(std::move(name), std::move(value)); }

  std::size_t get(std::string_view name, std::string_view* out, std::size_t max) const override {
    std::size_t count = 0;
    for (const auto& [key, value] : entries_) {
      if (lowercase(key) != name) continue;
      if (count < max) out[count] = value;
      ++count;
    }
    return count;
  }

  void set(std::string_view name, std::string_view value) override {
    std::erase_if(entries_, [&](const auto& entry) { return lowercase(entry.first) == name; });
    entries_.emplace_back(std::string(name), std::string(value));
  }

  std::optional<std::string> value(std::string_view name) const {
    for (const auto& [key, value] : entries_) {
      if (lowercase(key) == name) return value;
    }
    return std::nullopt;
  }
  bool has(std::string_view name) const { return value(name).has_value(); }
  std::size_t size() const { return entries_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

// While alive, any std::pmr allocation that falls back to the default
// resource throws: everything must come from the resource we pass.
class NoDefaultResource {
 public:
  NoDefaultResource() : previous_(std::pmr::set_default_resource(std::pmr::null_memory_resource())) {}
  ~NoDefaultResource() { std::pmr::set_default_resource(previous_); }
  NoDefaultResource(const NoDefaultResource&) = delete;
  NoDefaultResource& operator=(const NoDefaultResource&) = delete;

 private:
  std::pmr::memory_resource* previous_;
};

inline PropagationStyles styles(std::string_view text) {
  const auto parsed = parse_propagation_styles(text);
  EXPECT_TRUE(parsed.ok()) << parsed.error;
  return parsed.styles;
}

inline ExtractedContext extract_with(const TestHeaders& headers, std::string_view style_text,
                                     const PropagationLimits& limits = {}) {
  const auto configured = styles(style_text);
  NoDefaultResource guard;
  return extract(headers, configured, std::pmr::new_delete_resource(), limits);
}

inline std::optional<std::string> tag(const std::pmr::vector<Tag>& tags, std::string_view key) {
  const auto found = find_tag(tags, key);
  if (!found) return std::nullopt;
  return std::string(*found);
}

// Injection into fresh headers; the values live in `memory`, as in nginx.
struct Injected {
  std::pmr::monotonic_buffer_resource memory{std::pmr::new_delete_resource()};
  TestHeaders headers;
  std::pmr::vector<Tag> span_tags{&memory};
};

inline void inject_into(Injected& injected, const OutgoingContext& context, std::string_view style_text,
                        const PropagationLimits& limits = {}) {
  const auto configured = styles(style_text);
  NoDefaultResource guard;
  inject(context, configured, injected.headers, &injected.memory, &injected.span_tags, limits);
}

}  // namespace propagation_test
