// msgpack encoding of spans in the agent's /v0.4/traces format.
#pragma once

#include <span>
#include <string>

#include "trace/span_record.hpp"

namespace datadog::trace {

// Appends one span map: exactly the twelve fields the agent's decoder knows.
// An empty resource is written as the span's name (what the agent would do).
void encode_span(std::string& out, const SpanRecord& span);

// Appends one trace: an array of its spans.
void encode_trace(std::string& out, std::span<const SpanRecord> spans);

}  // namespace datadog::trace
