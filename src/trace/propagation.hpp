// Trace context propagation: what nginx reads from the incoming request headers
// (extract) and what it writes into the headers it forwards upstream (inject),
// in the Datadog, W3C tracecontext, B3 and W3C baggage formats.
//
// Nothing here allocates through the global allocator: every string and vector
// handed back comes from the memory resource the caller passes (the request
// pool in nginx). Bad input never throws; it yields "nothing extracted" (or the
// documented partial result) plus span tags and a diagnostics sentence.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "trace/propagation_style.hpp"
#include "trace/trace_id.hpp"

namespace datadog::trace {

// A key/value pair whose strings live in the memory resource of the container
// holding it (it is allocator-aware, so std::pmr::vector<Tag> passes its
// resource down).
struct Tag {
  using allocator_type = std::pmr::polymorphic_allocator<char>;

  std::pmr::string key;
  std::pmr::string value;

  Tag(std::string_view key, std::string_view value, const allocator_type& alloc = {})
      : key(key, alloc), value(value, alloc) {}
  Tag(const Tag& other, const allocator_type& alloc) : key(other.key, alloc), value(other.value, alloc) {}
  Tag(Tag&& other, const allocator_type& alloc)
      : key(std::move(other.key), alloc), value(std::move(other.value), alloc) {}
  Tag(const Tag&) = default;
  Tag(Tag&&) = default;
  Tag& operator=(const Tag&) = default;
  Tag& operator=(Tag&&) = default;

  allocator_type get_allocator() const { return key.get_allocator(); }
  bool operator==(const Tag&) const = default;
};

// The value of the first tag named `key`, if any.
std::optional<std::string_view> find_tag(std::span<const Tag> tags, std::string_view key);

// Implemented by the nginx glue over r->headers_in.
class HeaderReader {
 public:
  // Stores up to `max` values of the header `lowercase_name`, in request order,
  // into `out`; returns how many the request has (which may exceed `max`).
  virtual std::size_t get(std::string_view lowercase_name, std::string_view* out, std::size_t max) const = 0;

  // Which of `lowercase_names` (at most 64) the request has at all: bit i
  // stands for lowercase_names[i]. extract() asks this once, for the few names
  // without which a style has nothing to read, and then get()s only from the
  // styles whose names are present (most requests carry none). A reader that
  // walks the request's headers for every get() should answer in one walk;
  // the default asks get() for each name.
  virtual std::uint64_t which_present(std::span<const std::string_view> lowercase_names) const;

 protected:
  ~HeaderReader() = default;
};

class HeaderWriter {
 public:
  // Sets the header, replacing any value it has. `lowercase_name` is static
  // text (a literal); `value` lives as long as the memory resource passed to
  // inject().
  virtual void set(std::string_view lowercase_name, std::string_view value) = 0;

 protected:
  ~HeaderWriter() = default;
};

struct ExtractedContext {
  explicit ExtractedContext(std::pmr::memory_resource* memory);
  ExtractedContext(ExtractedContext&&) = default;
  ExtractedContext& operator=(ExtractedContext&&) = default;
  // Copies would silently allocate from the default resource: move instead.
  ExtractedContext(const ExtractedContext&) = delete;
  ExtractedContext& operator=(const ExtractedContext&) = delete;

  // Zero: no style supplied a trace, so nginx starts a new one. A new trace
  // still honours `sampling_priority` when it is set (only a B3 sampling-only
  // header such as `b3: 0` sets it without a trace id): the upstream already
  // decided.
  TraceId trace_id;
  SpanId parent_id = 0;  // 0 when the upstream sent a trace id but no parent (Datadog with an origin)
  std::optional<int> sampling_priority;
  std::pmr::string origin;  // x-datadog-origin, or tracestate dd=o:
  // Propagated `_dd.p.*` tags to continue with, including `_dd.p.tid` (16
  // lowercase hex digits) when the trace id is 128-bit.
  std::pmr::vector<Tag> trace_tags;
  // Tags for the local root span: `_dd.parent_id`, `_dd.propagation_error`,
  // `_dd.w3c_extraction_error`.
  std::pmr::vector<Tag> span_tags;
  // Other vendors' tracestate list-members, in order, joined by ','; inject
  // re-emits them after our dd= member. Only kept when the W3C trace is the one
  // continued.
  std::pmr::string tracestate_others;
  std::pmr::vector<Tag> baggage;  // decoded key/value pairs, in header order
  // Why the baggage header was ignored ("malformed", "item_count_exceeded",
  // "byte_count_exceeded"); empty when it was used or absent. Static text.
  std::string_view baggage_error;
  PropagationStyle style = PropagationStyle::none;  // which style supplied the trace id
  // One sentence per ignored header, "; "-separated, for a debug log line.
  std::pmr::string diagnostics;
};

// Size limits on the propagation headers, read and written alike: the
// defaults are every tracer's (DD_TRACE_TAGS_PROPAGATION_MAX_LENGTH,
// DD_TRACE_BAGGAGE_MAX_ITEMS, DD_TRACE_BAGGAGE_MAX_BYTES set them).
struct PropagationLimits {
  std::size_t datadog_tags_bytes = 512;  // x-datadog-tags; 0: neither read nor sent
  std::size_t baggage_items = 64;
  std::size_t baggage_bytes = 8192;
};

// Runs every trace style of `styles` over the headers; the first style in
// order that yields a trace id supplies the context. When tracecontext is also
// configured and its traceparent carries the same trace id, its other-vendor
// tracestate members are kept, and if its parent differs the W3C parent wins
// with `_dd.parent_id` recording the last Datadog parent. Baggage is read when
// `styles` has `baggage`, whichever style wins.
ExtractedContext extract(const HeaderReader& headers, const PropagationStyles& styles,
                         std::pmr::memory_resource* memory, const PropagationLimits& limits = {});

// What nginx propagates to its upstream.
struct OutgoingContext {
  TraceId trace_id{};
  SpanId span_id = 0;  // the nginx span that is the parent of the upstream's spans
  int sampling_priority = 0;
  std::string_view origin{};
  // `_dd.p.*` tags (including `_dd.p.dm`). `_dd.p.tid` is always derived from
  // trace_id.high, whatever this list says.
  std::span<const Tag> trace_tags{};
  std::string_view tracestate_others{};
  std::span<const Tag> baggage{};
};

// Writes the headers of every style in `styles`. Tags the span should carry
// because of injection (`_dd.propagation_error=inject_max_size`) are added to
// `*span_tags` when it is not null. A context with a zero trace or span id
// writes no trace headers (baggage is still written).
void inject(const OutgoingContext& context, const PropagationStyles& styles, HeaderWriter& headers,
            std::pmr::memory_resource* memory, std::pmr::vector<Tag>* span_tags,
            const PropagationLimits& limits = {});

}  // namespace datadog::trace
