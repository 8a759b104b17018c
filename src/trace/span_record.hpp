// A finished span as the encoder sees it: views into memory owned by the
// caller (in nginx, the request pool), so recording a span copies nothing.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "trace/trace_id.hpp"

namespace datadog::trace {

struct Meta {
  std::string_view key;
  std::string_view value;
};

struct Metric {
  std::string_view key;
  double value;
};

struct SpanRecord {
  std::string_view service;
  std::string_view name;
  std::string_view resource;
  std::string_view type;
  TraceId trace_id;
  SpanId span_id = 0;
  SpanId parent_id = 0;
  std::int64_t start_ns = 0;  // since the Unix epoch
  std::int64_t duration_ns = 0;
  bool error = false;
  // Meta entries known when the code is compiled, already msgpack-encoded
  // (key and value strings, `fixed_meta_count` pairs): written first, copied
  // as one block.
  std::string_view fixed_meta;
  std::size_t fixed_meta_count = 0;
  std::span<const Meta> meta;
  std::span<const Metric> metrics;
};

}  // namespace datadog::trace
