// What the RUM filter keeps for one response, in the request pool: the
// look-ahead and the body bytes it has seen while the header waits, where the
// snippet goes, the pieces to insert, and (for a compressed upstream body) the
// decoder and its output buffers.
#pragma once

#include "agent/status_board.hpp"
#include "module/nginx.hpp"
#include "rum/body_inflater.hpp"
#include "rum/look_ahead.hpp"

namespace datadog::module {

struct RumResponse {
  // The header is held (not passed on) until the look-ahead decides; the body
  // buffers it saw are copied here and sent after the header.
  bool deciding = false;
  rum::LookAhead look_ahead;
  ngx_chain_t* seen = nullptr;
  ngx_chain_t** seen_tail = &seen;
  std::size_t seen_bytes = 0;           // as they came (compressed, for a compressed body)
  u_char* look_ahead_output = nullptr;  // decoding scratch for a compressed body
  const char* failure = nullptr;        // why the look-ahead could not read the body

  // Where the snippet goes, from the look-ahead (rum_filter.cpp sets it).
  rum::KnownInjectionPoint known_point;
  // Inserted at the injection point, in three pieces so that the snippet body
  // (configuration memory, ~1 KB) is never copied per request: the opening
  // (meta tags and `<script>` with its nonce), the body, and `</script>`.
  ngx_str_t opening{};
  ngx_str_t body{};
  bool found = false;                     // the snippet went out
  bool finished = false;                  // the last buffer went through
  bool passthrough = false;               // nothing left to do: buffers go on untouched
  bool others_need_memory = false;        // another filter asked for bodies in memory
  bool memory_released = false;           // the copy filter was told this filter is done with memory
  rum::BodyInflater* inflater = nullptr;  // gzip/deflate upstream body, else null
  ngx_chain_t* pending = nullptr;         // compressed input not decoded yet (no free buffer)
  ngx_uint_t output_buffers = 0;          // decoded-output buffers allocated so far
  ngx_chain_t* free = nullptr;            // our buffers, reusable
  ngx_chain_t* busy = nullptr;            // our buffers, still being sent
  ngx_buf_t* flush = nullptr;             // our flush buffer, reused
  agent::StatusSlot* counters = nullptr;  // this worker's, or null
};

// The look-ahead (rum_body_filter.cpp): feeds `in` to it. While it has no
// verdict, the data of `in` is copied into response.seen and `in` is consumed,
// so that upstream and file buffers are reused and nothing stalls. With a
// verdict (or a failure), *out is what to send after the header: the copies,
// then `in` as it came.
enum class LookAheadStep { waiting, decided, error };
LookAheadStep look_ahead(ngx_http_request_t* r, RumResponse& response, ngx_chain_t* in,
                         ngx_chain_t** out) noexcept;

// The body filter (rum_body_filter.cpp), once the header said "injected".
ngx_int_t filter_rum_body(ngx_http_request_t* r, RumResponse& response, ngx_chain_t* in,
                          ngx_http_output_body_filter_pt next) noexcept;

// Counts a response the filter gave up on and logs what happened and why, at warn.
void count_failure(ngx_http_request_t* r, RumResponse& response, const char* outcome,
                   const char* why) noexcept;

// Lets the copy filter pass file ranges uncopied (sendfile) from now on,
// unless another filter needs the body in memory.
void release_memory_requirement(ngx_http_request_t* r, RumResponse& response) noexcept;

}  // namespace datadog::module
