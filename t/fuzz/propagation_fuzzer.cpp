// Whatever headers a request carries, extraction is deterministic and keeps
// only valid context, and what injection writes is valid, within the limits of
// each format, and extracts again cleanly to the same trace.
//
// Input: lines. 1: the extraction styles ("datadog,tracecontext,baggage"; the
// default styles when invalid); then one request header per line,
// "name: value" (blanks before the value dropped, as nginx does).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_check.hpp"
#include "trace/baggage.hpp"
#include "trace/datadog_tags.hpp"
#include "trace/propagation.hpp"
#include "trace/tracestate.hpp"

using namespace datadog::trace;

namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Request headers in order, read like the nginx glue reads r->headers_in.
class Headers : public HeaderReader, public HeaderWriter {
 public:
  void add(std::string_view name, std::string_view value) { entries_.emplace_back(lowercase(name), value); }

  std::size_t get(std::string_view name, std::string_view* out, std::size_t max) const override {
    std::size_t count = 0;
    for (const auto& [key, value] : entries_) {
      if (key != name) continue;
      if (count < max) out[count] = value;
      ++count;
    }
    return count;
  }

  void set(std::string_view name, std::string_view value) override {
    FUZZ_CHECK(name == lowercase(name));
    std::erase_if(entries_, [&](const auto& entry) { return entry.first == name; });
    entries_.emplace_back(std::string(name), std::string(value));
  }

  std::optional<std::string_view> value(std::string_view name) const {
    for (const auto& [key, value] : entries_) {
      if (key == name) return value;
    }
    return std::nullopt;
  }

  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

bool is_lower_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_printable(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

void check_same(const ExtractedContext& a, const ExtractedContext& b) {
  FUZZ_CHECK(a.trace_id == b.trace_id);
  FUZZ_CHECK(a.parent_id == b.parent_id);
  FUZZ_CHECK(a.sampling_priority == b.sampling_priority);
  FUZZ_CHECK(a.origin == b.origin);
  FUZZ_CHECK(a.trace_tags == b.trace_tags);
  FUZZ_CHECK(a.span_tags == b.span_tags);
  FUZZ_CHECK(a.tracestate_others == b.tracestate_others);
  FUZZ_CHECK(a.baggage == b.baggage);
  FUZZ_CHECK(a.baggage_error == b.baggage_error);
  FUZZ_CHECK(a.style == b.style);
  FUZZ_CHECK(a.diagnostics == b.diagnostics);
}

// What extraction keeps is what injection may write.
void check_extracted(const ExtractedContext& context) {
  FUZZ_CHECK(is_printable(context.origin));
  for (const auto& tag : context.trace_tags) {
    FUZZ_CHECK(tag.key.starts_with("_dd.p."));
    FUZZ_CHECK(is_datadog_tag_key(tag.key) && is_datadog_tag_value(tag.value));
    if (tag.key == "_dd.p.tid") FUZZ_CHECK(tag.value.size() == 16 && is_lower_hex(tag.value));
  }
  FUZZ_CHECK(context.baggage.size() <= max_baggage_items);
  if (!context.baggage_error.empty()) FUZZ_CHECK(context.baggage.empty());
  if (!context.tracestate_others.empty()) {
    const std::string_view others = context.tracestate_others;
    TracestateList list;
    FUZZ_CHECK(parse_tracestate({&others, 1}, list) == TracestateParse::ok);
    for (const auto& member : list.view()) FUZZ_CHECK(member.key != "dd");
  }
}

PropagationStyles styles(std::string_view text) {
  const auto parsed = parse_propagation_styles(text);
  FUZZ_CHECK(parsed.ok());
  return parsed.styles;
}

// Every header injection wrote, checked against its format and limits.
void check_injected(const Headers& out, const OutgoingContext& context) {
  for (const auto& [name, value] : out.entries()) {
    FUZZ_CHECK(!value.empty() && is_printable(value));
    FUZZ_CHECK(value.front() != ' ' && value.back() != ' ');
  }
  const auto traceparent = out.value("traceparent");
  FUZZ_CHECK(traceparent && traceparent->size() == 55);
  FUZZ_CHECK(traceparent->starts_with("00-") && (*traceparent)[35] == '-' && (*traceparent)[52] == '-');
  FUZZ_CHECK(is_lower_hex(traceparent->substr(3, 32)) && is_lower_hex(traceparent->substr(36, 16)));
  FUZZ_CHECK(traceparent->ends_with("-01") || traceparent->ends_with("-00"));

  const auto tracestate = out.value("tracestate");
  FUZZ_CHECK(tracestate);
  TracestateList members;
  FUZZ_CHECK(parse_tracestate({&*tracestate, 1}, members) == TracestateParse::ok);
  FUZZ_CHECK(members.count >= 1 && members.count <= max_tracestate_members);
  FUZZ_CHECK(members.members[0].key == "dd" && members.members[0].value.size() <= max_tracestate_value_size);
  FUZZ_CHECK(members.members[0].value.starts_with("s:"));
  for (std::size_t i = 1; i < members.count; ++i) {
    FUZZ_CHECK(members.members[i].key != "dd");
    // Other vendors' members are passed on, not made up.
    const std::string member =
        std::string(members.members[i].key) + "=" + std::string(members.members[i].value);
    FUZZ_CHECK(context.tracestate_others.find(member) != std::string_view::npos);
  }

  if (const auto tags = out.value("x-datadog-tags")) {
    FUZZ_CHECK(tags->size() <= max_datadog_tags_size);
    bool valid = true;
    const auto decoded =
        decode_datadog_tags(*tags, max_datadog_tags_size, [&](std::string_view key, std::string_view value) {
          valid = valid && key.starts_with("_dd.p.") && !value.empty();
        });
    FUZZ_CHECK(decoded == DatadogTagsDecode::ok && valid);
  }
  if (const auto origin = out.value("x-datadog-origin")) FUZZ_CHECK(*origin == context.origin);
  FUZZ_CHECK(out.value("x-datadog-sampling-priority") == std::to_string(context.sampling_priority));

  if (const auto baggage = out.value("baggage")) {
    FUZZ_CHECK(baggage->size() <= max_baggage_bytes);
    std::pmr::monotonic_buffer_resource memory;
    std::pmr::vector<Tag> items(&memory);
    const std::string_view header = *baggage;
    FUZZ_CHECK(parse_baggage({&header, 1}, items).empty());
    FUZZ_CHECK(items.size() <= max_baggage_items);
    // The items that fit, in order, unchanged.
    FUZZ_CHECK(items.size() <= context.baggage.size());
    FUZZ_CHECK(std::equal(items.begin(), items.end(), context.baggage.begin()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t first_line_end = std::min(input.find('\n'), input.size());
  const auto configured = parse_propagation_styles(input.substr(0, first_line_end));
  const PropagationStyles extract_styles = configured.ok() ? configured.styles : default_propagation_styles();
  input.remove_prefix(std::min(first_line_end + 1, input.size()));

  Headers request;
  while (!input.empty()) {
    const std::string_view line = input.substr(0, input.find('\n'));
    input.remove_prefix(std::min(line.size() + 1, input.size()));
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    request.add(line.substr(0, colon), value);
  }

  std::pmr::monotonic_buffer_resource memory;
  const ExtractedContext extracted = extract(request, extract_styles, &memory);
  check_extracted(extracted);
  {
    std::pmr::monotonic_buffer_resource other_memory;
    check_same(extract(request, extract_styles, &other_memory), extracted);
  }

  const OutgoingContext context{
      .trace_id = extracted.trace_id.is_zero() ? TraceId{0x640cfd8d00000000, 8} : extracted.trace_id,
      .span_id = 0x1234,
      .sampling_priority = extracted.sampling_priority.value_or(1),
      .origin = extracted.origin,
      .trace_tags = extracted.trace_tags,
      .tracestate_others = extracted.tracestate_others,
      .baggage = extracted.baggage};
  Headers out;
  std::pmr::vector<Tag> span_tags(&memory);
  inject(context, styles("datadog,tracecontext,b3,b3single,baggage"), out, &memory, &span_tags);
  check_injected(out, context);

  // Each style read back alone: no complaint, the same trace, our span as parent.
  const bool tags_omitted = find_tag(span_tags, "_dd.propagation_error") == "inject_max_size";
  for (const auto* style : {"datadog", "tracecontext", "b3multi", "b3 single header"}) {
    const ExtractedContext again = extract(out, styles(style), &memory);
    FUZZ_CHECK(again.diagnostics.empty());
    FUZZ_CHECK(again.span_tags.empty() || !find_tag(again.span_tags, "_dd.propagation_error"));
    FUZZ_CHECK(!find_tag(again.span_tags, "_dd.w3c_extraction_error"));
    const bool low_half_only = std::string_view(style) == "datadog" && tags_omitted;
    FUZZ_CHECK(again.trace_id == (low_half_only ? TraceId{0, context.trace_id.low} : context.trace_id));
    FUZZ_CHECK(again.parent_id == 0x1234u);
    FUZZ_CHECK(again.sampling_priority.has_value() &&
               (*again.sampling_priority > 0) == (context.sampling_priority > 0));
  }
  const ExtractedContext baggage = extract(out, styles("baggage"), &memory);
  FUZZ_CHECK(baggage.baggage_error.empty());
  return 0;
}
