// What the RUM filter keeps for one response, in the request pool: the
// scanner's state, the bytes it holds back, the pieces to insert, and (for a
// compressed upstream body) the decoder and its output buffers.
#pragma once

#include "agent/status_board.hpp"
#include "module/nginx.hpp"
#include "rum/body_inflater.hpp"
#include "rum/injection_scanner.hpp"

namespace datadog::module {

struct RumResponse {
  rum::InjectionScanner scanner;
  // Inserted at the injection point, in three pieces so that the snippet body
  // (configuration memory, ~1 KB) is never copied per request: the opening
  // (meta tags and `<script>` with its nonce), the body, and `</script>`.
  ngx_str_t opening{};
  ngx_str_t body{};
  off_t pad_length = 0;  // Content-Length kept: spaces to send if no point is found
  // A possible tag start at the end of what was scanned (identity bodies; a
  // decoded body carries them into its next output buffer instead).
  u_char held[rum::kMaxHoldBack]{};
  std::size_t held_length = 0;
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

// The body filter (rum_body_filter.cpp).
ngx_int_t filter_rum_body(ngx_http_request_t* r, RumResponse& response, ngx_chain_t* in,
                          ngx_http_output_body_filter_pt next) noexcept;

}  // namespace datadog::module
