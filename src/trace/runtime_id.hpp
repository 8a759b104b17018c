// The `runtime-id` tag: a random UUID (version 4) naming one run of one
// process, as Datadog's tracers put on every span. Made once per worker.
#pragma once

#include <array>
#include <cstdint>

namespace datadog::trace {

// The canonical text (8-4-4-4-12 lowercase hex) of the version 4, variant 1
// UUID made from 128 random bits: the version and variant bits are set.
std::array<char, 36> uuid_v4_text(std::uint64_t high, std::uint64_t low);

}  // namespace datadog::trace
