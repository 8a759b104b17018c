// The W3C tracestate header: validation of incoming list-members, and the
// header nginx sends (our dd= member first, then the other vendors').
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string_view>

#include "trace/propagation.hpp"

namespace datadog::trace {

inline constexpr std::size_t max_tracestate_members = 32;
inline constexpr std::size_t max_tracestate_value_size = 256;

// key = ( lcalpha / DIGIT ) 0*255 ( lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@" )
// (trace-context level 2; covers level 1's tenant@vendor form).
bool is_tracestate_key(std::string_view key);
// value = 0*255( %x20-2B / %x2D-3C / %x3E-7E ) ( %x21-2B / %x2D-3C / %x3E-7E )
bool is_tracestate_value(std::string_view value);

struct TracestateMember {
  std::string_view key;
  std::string_view value;
};

struct TracestateList {
  std::array<TracestateMember, max_tracestate_members> members{};
  std::size_t count = 0;
  std::span<const TracestateMember> view() const { return {members.data(), count}; }
};

enum class TracestateParse { ok, invalid_member, duplicate_key, too_many_members };

// Parses the values of every tracestate header of a request as one list (RFC
// 9110 field combination): empty list-members and blanks around members are
// allowed. On any error `list` is left empty: the whole header is discarded.
TracestateParse parse_tracestate(std::span<const std::string_view> header_values, TracestateList& list);

// The `dd=` value for `context`: s:<priority>;p:<span id>[;o:<origin>][;t.<tag>:<value>...],
// with characters tracestate cannot carry replaced, at most 256 characters
// (trailing segments dropped whole). Written into `out`; returns its length.
std::size_t encode_datadog_tracestate_value(const OutgoingContext& context,
                                            std::array<char, max_tracestate_value_size>& out);

// The whole header: `dd=...` then the valid, non-dd members of
// context.tracestate_others, at most 32 members in all (rightmost dropped),
// written at `out`, which has room for tracestate_size_bound(context)
// characters. Returns its length.
std::size_t tracestate_size_bound(const OutgoingContext& context);
std::size_t write_tracestate(const OutgoingContext& context, char* out);

}  // namespace datadog::trace
