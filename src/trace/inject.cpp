// Injection: the headers nginx writes for its upstream, one writer per style.
// Every value is built from the outgoing context (never copied from the
// request), so nothing that failed validation can be forwarded.
#include <algorithm>

#include "trace/baggage.hpp"
#include "trace/datadog_tags.hpp"
#include "trace/propagation_internal.hpp"
#include "trace/short_copy.hpp"
#include "trace/tracestate.hpp"

namespace datadog::trace {

using namespace propagation_internal;

namespace {

bool is_printable_ascii(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Where the header values go: memory taken from the resource a chunk at a time
// and never given back (what HeaderWriter::set promises). inject() runs for
// every request nginx forwards, and one allocation for all of its values costs
// less than one per value; fixed-size values are written straight into it.
class ValueArena {
 public:
  explicit ValueArena(std::pmr::memory_resource* memory) : memory_(memory) {}

  // Room for a value of at most `max_size` characters, to be finished at once.
  char* begin(std::size_t max_size) {
    if (static_cast<std::size_t>(end_ - next_) < max_size) {
      // What is left of the current chunk is abandoned: values are small, and
      // a long one (an origin, tracestate members) gets a chunk of its own size.
      const std::size_t size = std::max(max_size, chunk_size);
      next_ = static_cast<char*>(memory_->allocate(size, 1));
      end_ = next_ + size;
    }
    return next_;
  }
  // The value written from begin()'s pointer up to `value_end`.
  std::string_view finish(char* value_end) {
    const std::string_view value(next_, static_cast<std::size_t>(value_end - next_));
    next_ = value_end;
    return value;
  }
  std::string_view copy(std::string_view text) {
    if (text.empty()) return {};
    return finish(copy_short(begin(text.size()), text));
  }

  template <class Number>
  std::string_view decimal(Number value) {
    return finish(write_decimal(value, begin(max_decimal_size)));
  }

 private:
  // Enough for the default styles' values (about 200 characters).
  static constexpr std::size_t chunk_size = 256;

  std::pmr::memory_resource* memory_;
  char* next_ = nullptr;
  char* end_ = nullptr;
};

void inject_datadog(const OutgoingContext& context, HeaderWriter& headers, ValueArena& values,
                    std::pmr::vector<Tag>* span_tags, std::size_t max_tags_bytes,
                    std::pmr::memory_resource* memory) {
  headers.set("x-datadog-trace-id", values.decimal(context.trace_id.low));
  headers.set("x-datadog-parent-id", values.decimal(context.span_id));
  headers.set("x-datadog-sampling-priority", values.decimal(context.sampling_priority));
  if (!context.origin.empty() && is_printable_ascii(context.origin)) {
    headers.set("x-datadog-origin", values.copy(context.origin));
  }
  // The default limit fits on the stack; a larger configured one is rare.
  char stack_tags[max_datadog_tags_size];
  char* tags = max_tags_bytes <= sizeof stack_tags ? stack_tags
                                                   : static_cast<char*>(memory->allocate(max_tags_bytes, 1));
  const auto written = write_datadog_tags(context, tags, max_tags_bytes);
  if (written.too_large) {
    if (span_tags) set_tag(*span_tags, propagation_error_tag, "inject_max_size");
  } else if (written.size != 0) {
    headers.set("x-datadog-tags", values.copy({tags, written.size}));
  }
}

void inject_tracecontext(const OutgoingContext& context, HeaderWriter& headers, ValueArena& values) {
  // 00-<trace id>-<span id>-<flags>
  char* const traceparent = values.begin(55);
  char* out = traceparent;
  *out++ = '0';
  *out++ = '0';
  *out++ = '-';
  write_hex16(context.trace_id.high, out);
  write_hex16(context.trace_id.low, out + 16);
  out += 32;
  *out++ = '-';
  write_hex16(context.span_id, out);
  out += 16;
  *out++ = '-';
  *out++ = '0';
  *out++ = context.sampling_priority > 0 ? '1' : '0';
  headers.set("traceparent", values.finish(out));

  if (context.tracestate_others.empty()) {
    // Only dd=, whose size is known once written: on the stack first, so that
    // the chunk is not spent on its 259-character bound.
    char tracestate[3 + max_tracestate_value_size];
    headers.set("tracestate", values.copy({tracestate, write_tracestate(context, tracestate)}));
  } else {
    char* const tracestate = values.begin(tracestate_size_bound(context));
    headers.set("tracestate", values.finish(tracestate + write_tracestate(context, tracestate)));
  }
}

// 32 hex digits, or 16 when the high half is zero.
char* write_b3_trace_id(const OutgoingContext& context, char* out) {
  if (context.trace_id.high != 0) {
    write_hex16(context.trace_id.high, out);
    out += 16;
  }
  write_hex16(context.trace_id.low, out);
  return out + 16;
}

void inject_b3_multi(const OutgoingContext& context, HeaderWriter& headers, ValueArena& values) {
  headers.set("x-b3-traceid", values.finish(write_b3_trace_id(context, values.begin(32))));
  char* const span_id = values.begin(16);
  write_hex16(context.span_id, span_id);
  headers.set("x-b3-spanid", values.finish(span_id + 16));
  headers.set("x-b3-sampled", context.sampling_priority > 0 ? "1" : "0");
}

void inject_b3_single(const OutgoingContext& context, HeaderWriter& headers, ValueArena& values) {
  // {trace id}-{span id}-{1|0}
  char* out = write_b3_trace_id(context, values.begin(32 + 1 + 16 + 2));
  *out++ = '-';
  write_hex16(context.span_id, out);
  out += 16;
  *out++ = '-';
  *out++ = context.sampling_priority > 0 ? '1' : '0';
  headers.set("b3", values.finish(out));
}

}  // namespace

void inject(const OutgoingContext& context, const PropagationStyles& styles, HeaderWriter& headers,
            std::pmr::memory_resource* memory, std::pmr::vector<Tag>* span_tags,
            const PropagationLimits& limits) {
  const bool has_trace = !context.trace_id.is_zero() && context.span_id != 0;
  ValueArena values(memory);
  for (const auto style : styles) {
    switch (style) {
      case PropagationStyle::datadog:
        if (has_trace) inject_datadog(context, headers, values, span_tags, limits.datadog_tags_bytes, memory);
        break;
      case PropagationStyle::tracecontext:
        if (has_trace) inject_tracecontext(context, headers, values);
        break;
      case PropagationStyle::b3:
      case PropagationStyle::b3multi:
        if (has_trace) inject_b3_multi(context, headers, values);
        break;
      case PropagationStyle::b3single:
        if (has_trace) inject_b3_single(context, headers, values);
        break;
      case PropagationStyle::baggage:
        if (const auto baggage = encode_baggage(context.baggage, memory, limits); !baggage.header.empty()) {
          headers.set("baggage", baggage.header);
        }
        break;
      case PropagationStyle::none:
        break;
    }
  }
}

}  // namespace datadog::trace
