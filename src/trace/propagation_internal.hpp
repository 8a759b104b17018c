// Pieces shared by the per-style extract/inject files; not part of the
// propagation API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <optional>
#include <span>
#include <string_view>

#include "trace/propagation.hpp"

namespace datadog::trace::propagation_internal {

inline constexpr std::string_view propagation_error_tag = "_dd.propagation_error";
inline constexpr std::string_view w3c_extraction_error_tag = "_dd.w3c_extraction_error";
inline constexpr std::string_view parent_id_tag = "_dd.parent_id";
inline constexpr std::string_view trace_id_high_tag = "_dd.p.tid";
inline constexpr std::string_view decision_maker_tag = "_dd.p.dm";
inline constexpr std::string_view propagated_tag_prefix = "_dd.p.";

// Leading and trailing spaces and tabs removed (HTTP's OWS).
std::string_view trim_blanks(std::string_view text);

bool is_lower_hex(std::string_view text);
bool is_hex(std::string_view text);
inline bool starts_with(std::string_view text, std::string_view prefix) { return text.starts_with(prefix); }

// Replaces the value of the tag named `key`, or appends the tag.
void set_tag(std::pmr::vector<Tag>& tags, std::string_view key, std::string_view value);
void remove_tag(std::pmr::vector<Tag>& tags, std::string_view key);

// Appends "<what> \"<value>\"" (value shortened) to the diagnostics sentence.
void note(ExtractedContext& context, std::string_view what, std::string_view value);
void note(ExtractedContext& context, std::string_view what);

// The first value of a header, if the request has it.
std::optional<std::string_view> first_header(const HeaderReader& headers, std::string_view name);

// Decimal text of an unsigned or signed number at `out`, which has room for
// max_decimal_size characters; returns the end of the text.
inline constexpr std::size_t max_decimal_size = 20;
char* write_decimal(std::uint64_t value, char* out);
char* write_decimal(int value, char* out);

std::optional<int> parse_int(std::string_view text);

// The W3C traceparent result alongside its context: the tracestate dd= member's
// `p:` (a view into the request's header memory) for the merge rule.
struct TracecontextExtraction {
  ExtractedContext context;
  bool has_datadog_member = false;       // tracestate had a dd= member
  std::string_view last_datadog_parent;  // dd=...;p:<this>
};

// `max_tags_bytes`: x-datadog-tags longer than this is ignored (PropagationLimits).
ExtractedContext extract_datadog(const HeaderReader& headers, std::pmr::memory_resource* memory,
                                 std::size_t max_tags_bytes);
TracecontextExtraction extract_tracecontext(const HeaderReader& headers, std::pmr::memory_resource* memory);
// `style` is b3, b3multi or b3single.
ExtractedContext extract_b3(const HeaderReader& headers, PropagationStyle style,
                            std::pmr::memory_resource* memory);

}  // namespace datadog::trace::propagation_internal
