// The local root span as the trace sampler sees it when the request starts:
// views into memory the caller owns for the duration of the call.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "trace/span_record.hpp"

namespace datadog::trace {

struct SampledSpan {
  std::string_view service;
  std::string_view name;
  std::string_view resource;
  std::string_view env;  // for the agent's "service:<svc>,env:<env>" rates; empty when unset
  // The tags rules may match on, e.g. {"nginx.sample_rate_source", "/etc/nginx/nginx.conf:23#1"}.
  std::span<const Meta> tags;

  // First tag with exactly this key.
  std::optional<std::string_view> tag(std::string_view key) const {
    for (const Meta& entry : tags) {
      if (entry.key == key) return entry.value;
    }
    return std::nullopt;
  }
};

}  // namespace datadog::trace
