// The RUM body filter: first the look-ahead, which reads the start of the
// body while the header waits (copying what it holds, so that no upstream or
// file buffer stays busy); then, for a response that gets the snippet, the
// body with the snippet spliced in at the point the look-ahead found. Bytes
// are never copied there, except a compressed upstream body's decoded output.
// Once the snippet is out, buffers go on untouched. The filter runs after
// nginx's postpone filter, so everything arrives as the main request's, and
// only last_buf ends the body (last_in_chain ends each subrequest's part).
#include "module/rum_response.hpp"

extern "C" ngx_module_t ngx_http_datadog_rum_filter_module;
extern "C" ngx_module_t ngx_http_copy_filter_module;  // nginx's; its context is an ngx_output_chain_ctx_t

namespace datadog::module {
namespace {

// r->buffered bit while decoded output waits for free buffers (the image
// filter uses the same bit, never on an HTML response).
constexpr unsigned rum_buffered = 0x08;
constexpr std::size_t decoded_buffer_size = 16384;
constexpr ngx_uint_t max_decoded_buffers = 8;  // 128 KB in flight at most, as gunzip's default
constexpr std::string_view script_close = "</script>";
// A failure after the header announced the injection.
constexpr const char* cut_short = "injection failed, response cut short";

ngx_buf_tag_t our_tag() noexcept { return static_cast<ngx_buf_tag_t>(&ngx_http_datadog_rum_filter_module); }

// The chain this call passes on.
struct Output {
  ngx_pool_t* pool;
  ngx_chain_t* head = nullptr;
  ngx_chain_t** tail = &head;
  bool add(ngx_buf_t* b) noexcept {
    ngx_chain_t* link = ngx_alloc_chain_link(pool);
    if (link == nullptr) return false;
    link->buf = b;
    link->next = nullptr;
    *tail = link;
    tail = &link->next;
    return true;
  }
};

// nginx's ngx_calloc_buf is a C macro that C++ does not accept.
ngx_buf_t* new_buf(ngx_pool_t* pool) noexcept {
  return static_cast<ngx_buf_t*>(ngx_pcalloc(pool, sizeof(ngx_buf_t)));
}

std::size_t data_size(const ngx_buf_t* b) noexcept { return static_cast<std::size_t>(b->last - b->pos); }

void advance(ngx_buf_t* b, std::size_t n) noexcept { b->pos += n; }

// The first n bytes of b, sharing its memory (b is sent after it, so the
// memory stays valid until both are out).
ngx_buf_t* prefix_of(ngx_pool_t* pool, const ngx_buf_t* b, std::size_t n) noexcept {
  auto* prefix = static_cast<ngx_buf_t*>(ngx_palloc(pool, sizeof(ngx_buf_t)));
  if (prefix == nullptr) return nullptr;
  *prefix = *b;
  prefix->last = prefix->pos + n;
  prefix->last_buf = prefix->last_in_chain = prefix->flush = prefix->sync = 0;
  prefix->recycled = 0;
  prefix->shadow = nullptr;
  prefix->tag = nullptr;
  return prefix;
}

ngx_buf_t* memory_buf(ngx_pool_t* pool, const u_char* data, std::size_t n) noexcept {
  ngx_buf_t* b = new_buf(pool);
  if (b == nullptr) return nullptr;
  b->pos = b->start = const_cast<u_char*>(data);
  b->last = b->end = const_cast<u_char*>(data) + n;
  b->memory = 1;
  return b;
}

class BodyFilter {
 public:
  BodyFilter(ngx_http_request_t* r, RumResponse& response) noexcept
      : r_(r), response_(response), out_{r->pool} {}

  Output& output() noexcept { return out_; }

  // Emits b (an upstream buffer, or one of our decoded buffers), with the
  // snippet before the injection point if it falls in b.
  bool splice(ngx_buf_t* b) noexcept {
    if (response_.found) return out_.add(b);
    // With sendfile on, the copy filter hands over buffers that are both in
    // memory and a file range, and the writer sends those from the file. Cut
    // around the injection point, that would alternate sendfile() with
    // writev() for the pieces; as memory only, they all go in one writev().
    b->in_file = 0;
    const std::uint64_t buffer_start = response_.known_point.fed();
    const rum::ScanResult result =
        response_.known_point.feed({reinterpret_cast<const char*>(b->pos), data_size(b)});
    if (!result.found) return add_unless_empty(b);
    response_.found = true;
    if (response_.counters) response_.counters->rum_injected.fetch_add(1, std::memory_order_relaxed);
    // The point is in b, so b keeps at least the '<' it is before.
    const std::size_t k = static_cast<std::size_t>(result.point - buffer_start);
    if (k > 0) {
      ngx_buf_t* prefix = prefix_of(r_->pool, b, k);
      if (prefix == nullptr || !out_.add(prefix)) return false;
      advance(b, k);
    }
    return emit_insertion() && out_.add(b);
  }

  // At the end of the body. The look-ahead saw the injection point in these
  // same bytes, so it was found; if not, the header's promise (Content-Length,
  // x-datadog-rum-injected) is broken and the response must not end as if whole.
  bool finish(ngx_buf_t* last) noexcept {
    response_.finished = true;
    if (!response_.found) {
      count_failure(r_, response_, cut_short, "the injection point the look-ahead saw did not come again");
      return false;
    }
    return last == nullptr || out_.add(last);
  }

  // A decoded buffer: its link goes back to the pool's list (splice links it anew).
  bool splice_decoded(ngx_buf_t* b, ngx_chain_t* link) noexcept {
    ngx_free_chain(r_->pool, link);
    return splice(b);
  }

  // A buffer the filter cannot read before the injection point (only a file
  // range, though the copy filter was told to read the body into memory): the
  // header already announced the injection, so the response is cut short.
  bool give_up() noexcept {
    count_failure(r_, response_, cut_short, "a body buffer before the injection point is not in memory");
    return false;
  }

  // One flush buffer per response, reused: a special buffer carries no data
  // and may sit in the chain more than once.
  bool emit_flush() noexcept {
    if (response_.flush == nullptr) {
      if ((response_.flush = new_buf(r_->pool)) == nullptr) return false;
      response_.flush->flush = 1;
    }
    return out_.add(response_.flush);
  }

 private:
  bool add_unless_empty(ngx_buf_t* b) noexcept {
    if (data_size(b) > 0 || ngx_buf_special(b)) return out_.add(b);
    if (b->last_buf || b->last_in_chain || b->flush) {
      // An emptied buffer cannot go on (the writer rejects zero-size data
      // buffers), but its flags must.
      ngx_buf_t* flags = new_buf(r_->pool);
      if (flags == nullptr) return false;
      flags->last_buf = b->last_buf;
      flags->last_in_chain = b->last_in_chain;
      flags->flush = b->flush;
      return out_.add(flags);
    }
    return true;
  }

  bool emit_insertion() noexcept {
    ngx_buf_t* opening = memory_buf(r_->pool, response_.opening.data, response_.opening.len);
    ngx_buf_t* body = memory_buf(r_->pool, response_.body.data, response_.body.len);
    ngx_buf_t* close =
        memory_buf(r_->pool, reinterpret_cast<const u_char*>(script_close.data()), script_close.size());
    return opening != nullptr && body != nullptr && close != nullptr && out_.add(opening) && out_.add(body) &&
           out_.add(close);
  }

  ngx_http_request_t* r_;
  RumResponse& response_;
  Output out_;
};

ngx_int_t pass_on(ngx_http_request_t* r, RumResponse& response, Output& out,
                  ngx_http_output_body_filter_pt next) noexcept {
  const ngx_int_t rc = next(r, out.head);
  ngx_chain_update_chains(r->pool, &response.free, &response.busy, &out.head, our_tag());
  return rc;
}

ngx_int_t filter_identity(ngx_http_request_t* r, RumResponse& response, ngx_chain_t* in,
                          ngx_http_output_body_filter_pt next) noexcept {
  BodyFilter filter(r, response);
  for (ngx_chain_t* link = in; link != nullptr; link = link->next) {
    ngx_buf_t* b = link->buf;
    bool ok = true;
    if (response.found || response.finished) {
      ok = filter.output().add(b);
    } else if (ngx_buf_special(b)) {
      ok = b->last_buf ? filter.finish(b) : filter.output().add(b);
    } else if (!ngx_buf_in_memory(b)) {
      ok = filter.give_up();
    } else {
      const bool last = b->last_buf;
      ok = filter.splice(b);
      if (ok && last && !response.finished) ok = filter.finish(nullptr);
    }
    if (!ok) return NGX_ERROR;
  }
  if (response.found && !response.memory_released) release_memory_requirement(r, response);
  const ngx_int_t rc = pass_on(r, response, filter.output(), next);
  // From here on buffers need no attention (the Content-Length already counts the snippet).
  if (response.found && response.busy == nullptr) response.passthrough = true;
  return rc;
}

// Gets one of our decoded-output buffers, or null when all are in flight.
ngx_chain_t* decoded_buffer(ngx_http_request_t* r, RumResponse& response) noexcept {
  if (response.free == nullptr && response.output_buffers >= max_decoded_buffers) return nullptr;
  ngx_chain_t* link = ngx_chain_get_free_buf(r->pool, &response.free);
  if (link == nullptr) return nullptr;
  ngx_buf_t* b = link->buf;
  if (b->start == nullptr) {
    b->start = static_cast<u_char*>(ngx_palloc(r->pool, decoded_buffer_size));
    if (b->start == nullptr) return nullptr;
    b->end = b->start + decoded_buffer_size;
    ++response.output_buffers;
  }
  b->pos = b->last = b->start;
  b->temporary = 1;
  b->tag = our_tag();
  b->flush = 0;
  b->last_buf = 0;
  b->last_in_chain = 0;
  return link;
}

enum class Decoded { done, stalled, error };

// Decodes the pending compressed input into our buffers and splices them.
Decoded decode_pending(ngx_http_request_t* r, RumResponse& response, BodyFilter& filter) noexcept {
  while (response.pending != nullptr) {
    ngx_buf_t* in = response.pending->buf;
    const bool last = in->last_buf;
    if (ngx_buf_in_memory(in) && in->pos < in->last) {
      ngx_chain_t* link = decoded_buffer(r, response);
      if (link == nullptr) return Decoded::stalled;
      ngx_buf_t* out = link->buf;
      const auto step = response.inflater->inflate(
          {in->pos, data_size(in)}, {out->last, static_cast<std::size_t>(out->end - out->last)});
      advance(in, step.consumed);
      out->last += step.produced;
      if (step.failed) {
        // The header (and maybe part of the body) is out: as nginx does when an
        // upstream fails mid-body, the response ends early, never as if whole.
        count_failure(r, response, cut_short,
                      "the upstream's compressed body is corrupt after the look-ahead");
        return Decoded::error;
      }
      if (out->last > out->pos) {
        if (!filter.splice_decoded(out, link)) return Decoded::error;
      } else {
        link->next = response.free;  // nothing decoded: reuse at once
        response.free = link;
      }
      continue;  // the same input again until consumed
    }
    if (!ngx_buf_in_memory(in) && !ngx_buf_special(in)) {
      count_failure(r, response, cut_short, "a compressed body buffer is not in memory");
      return Decoded::error;
    }
    if (in->flush && !filter.emit_flush()) return Decoded::error;
    ngx_chain_t* done = response.pending;
    response.pending = done->next;
    ngx_free_chain(r->pool, done);
    if (last) {
      ngx_buf_t* end = new_buf(r->pool);
      if (end == nullptr) return Decoded::error;
      end->last_buf = 1;
      end->last_in_chain = 1;
      if (!filter.finish(end)) return Decoded::error;
    }
  }
  return Decoded::done;
}

// A copy of b's data (or, for a buffer without data, of its flags) in the
// request pool, so that b itself can be reused at once.
bool carries_data(const ngx_buf_t* b) noexcept {
  return (ngx_buf_in_memory(b) && b->last > b->pos) || (b->in_file && b->file_last > b->file_pos);
}

bool carries_anything(const ngx_buf_t* b) noexcept {
  return carries_data(b) || b->flush || b->sync || b->last_in_chain || b->last_buf;
}

// On an upstream error after the upstream module sent the header (which this
// filter holds), nginx closes the upstream connection, turns keepalive off and
// sends a lone flush buffer, then closes the client connection: no last
// buffer comes.
// Only while the main request is the one writing: a subrequest's flush
// (proxy_buffering off, a header with no body yet) reaches this filter as the
// main request's, through the postpone filter, after the main upstream ended.
bool upstream_failed(const ngx_http_request_t* r) noexcept {
  return r->connection->data == r && r->upstream != nullptr && r->upstream->peer.connection == nullptr &&
         !r->keepalive;
}

ngx_buf_t* copy_of(ngx_pool_t* pool, const ngx_buf_t* b) noexcept {
  const std::size_t n = ngx_buf_in_memory(b) ? data_size(b) : 0;
  ngx_buf_t* copy = new_buf(pool);
  if (copy == nullptr) return nullptr;
  copy->flush = b->flush;
  copy->sync = b->sync;
  copy->last_in_chain = b->last_in_chain;
  copy->last_buf = b->last_buf;
  if (n > 0) {
    auto* data = static_cast<u_char*>(ngx_pnalloc(pool, n));
    if (data == nullptr) return nullptr;
    copy->start = copy->pos = data;
    copy->last = copy->end = ngx_cpymem(data, b->pos, n);
    copy->temporary = 1;
  }
  return copy;
}

void consume(ngx_buf_t* b) noexcept {
  b->pos = b->last;
  if (b->in_file) b->file_pos = b->file_last;
}

// Small: the decoder stops soon after the injection point, and the real pass
// decodes those bytes again.
constexpr std::size_t look_ahead_output_size = 1024;

// Feeds one buffer to the look-ahead. A compressed body is decoded into a
// scratch buffer, up to the verdict; the decoder starts over once the verdict
// says inject (decoding the start twice costs less than keeping its output).
void probe(ngx_http_request_t* r, RumResponse& response, const ngx_buf_t* b) noexcept {
  rum::LookAhead& look_ahead = response.look_ahead;
  if (response.failure != nullptr || look_ahead.verdict() != rum::LookAhead::Verdict::undecided) return;
  if (ngx_buf_special(b)) return;
  if (!ngx_buf_in_memory(b)) {
    if (b->in_file && b->file_last > b->file_pos) {
      response.failure = "a body buffer is only a file range, not in memory (sendfile)";
    }
    return;
  }
  if (response.inflater == nullptr) {
    look_ahead.feed({reinterpret_cast<const char*>(b->pos), data_size(b)});
    return;
  }
  if (response.look_ahead_output == nullptr) {
    response.look_ahead_output = static_cast<u_char*>(ngx_pnalloc(r->pool, look_ahead_output_size));
    if (response.look_ahead_output == nullptr) {
      response.failure = "no memory for the look-ahead";
      return;
    }
  }
  std::size_t offset = 0;
  while (offset < data_size(b) && look_ahead.verdict() == rum::LookAhead::Verdict::undecided) {
    const auto step = response.inflater->inflate({b->pos + offset, data_size(b) - offset},
                                                 {response.look_ahead_output, look_ahead_output_size});
    offset += step.consumed;
    if (step.failed) {
      ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                     "datadog: RUM: the body does not decode as its Content-Encoding says");
      look_ahead.reject(rum::SkipReason::not_compressed);
      return;
    }
    if (step.produced > 0) {
      look_ahead.feed({reinterpret_cast<const char*>(response.look_ahead_output), step.produced});
    }
    if (step.finished) {
      look_ahead.end();
      return;
    }
    if (step.consumed == 0 && step.produced == 0) return;
  }
}

}  // namespace

void count_failure(ngx_http_request_t* r, RumResponse& response, const char* outcome,
                   const char* why) noexcept {
  if (response.counters) response.counters->rum_failed.fetch_add(1, std::memory_order_relaxed);
  // The first give-up of a worker is logged at error, so that Debian's
  // default error_log shows that RUM is failing somewhere; the others at
  // warn (one line each, and counted on the status page), so that a site
  // where every page fails does not fill the default log.
  static bool told_at_error = false;
  if (!told_at_error) {
    told_at_error = true;
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "datadog: RUM %s: %s (further RUM failures of this worker are logged at warn)", outcome,
                  why);
    return;
  }
  ngx_log_error(NGX_LOG_WARN, r->connection->log, 0, "datadog: RUM %s: %s", outcome, why);
}

LookAheadStep look_ahead(ngx_http_request_t* r, RumResponse& response, ngx_chain_t* in,
                         ngx_chain_t** out) noexcept {
  bool complete = false;
  bool flush_only = true;
  std::size_t incoming = 0;
  for (ngx_chain_t* link = in; link != nullptr; link = link->next) {
    probe(r, response, link->buf);
    if (ngx_buf_in_memory(link->buf)) incoming += data_size(link->buf);
    if (link->buf->last_buf) complete = true;
    if (!link->buf->flush || carries_data(link->buf)) flush_only = false;
  }
  rum::LookAhead& look_ahead = response.look_ahead;
  if (response.failure == nullptr && look_ahead.verdict() == rum::LookAhead::Verdict::undecided) {
    if (in != nullptr && flush_only && upstream_failed(r)) {
      // No more body will come: the header and what came go out, so that the
      // client sees the response cut short as nginx alone would send it.
      response.failure = "the upstream's body ended early, before the look-ahead's verdict";
    } else if (complete) {
      look_ahead.end();
    } else if (response.seen_bytes + incoming >= rum::kLookAheadLimit) {
      // Only a compressed body gets here (the look-ahead counts decoded bytes).
      look_ahead.reject(rum::SkipReason::look_ahead_exceeded);
    }
  }
  if (response.failure == nullptr && look_ahead.verdict() == rum::LookAhead::Verdict::undecided) {
    for (ngx_chain_t* link = in; link != nullptr; link = link->next) {
      if (carries_anything(link->buf)) {
        ngx_buf_t* copy = copy_of(r->pool, link->buf);
        ngx_chain_t* held = ngx_alloc_chain_link(r->pool);
        if (copy == nullptr || held == nullptr) return LookAheadStep::error;
        held->buf = copy;
        held->next = nullptr;
        *response.seen_tail = held;
        response.seen_tail = &held->next;
        response.seen_bytes += data_size(copy);
      }
      consume(link->buf);
    }
    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "datadog: RUM look-ahead: %uz bytes held, no verdict yet", response.seen_bytes);
    return LookAheadStep::waiting;
  }
  *response.seen_tail = in;
  *out = response.seen;
  response.seen = nullptr;
  response.seen_tail = &response.seen;
  return LookAheadStep::decided;
}

void release_memory_requirement(ngx_http_request_t* r, RumResponse& response) noexcept {
  // The copy filter decided at its first call from r->filter_need_in_memory,
  // which this filter set; its context is where it keeps the decision.
  response.memory_released = true;
  if (response.others_need_memory) return;
  auto* copy = static_cast<ngx_output_chain_ctx_t*>(ngx_http_get_module_ctx(r, ngx_http_copy_filter_module));
  if (copy != nullptr) copy->need_in_memory = 0;
}

ngx_int_t filter_rum_body(ngx_http_request_t* r, RumResponse& response, ngx_chain_t* in,
                          ngx_http_output_body_filter_pt next) noexcept {
  if (response.inflater == nullptr) return filter_identity(r, response, in, next);
  if (in != nullptr && ngx_chain_add_copy(r->pool, &response.pending, in) != NGX_OK) return NGX_ERROR;
  for (;;) {
    BodyFilter filter(r, response);
    const Decoded decoded = decode_pending(r, response, filter);
    if (decoded == Decoded::error) return NGX_ERROR;
    // Out of buffers: make the writer send what it has even if it is less
    // than postpone_output, so that buffers come back.
    if (decoded == Decoded::stalled && !filter.emit_flush()) return NGX_ERROR;
    if (filter.output().head == nullptr && in != nullptr) {
      // What came decoded to nothing (a gzip trailer in a read of its own,
      // bytes after the stream's end): an empty chain passed on makes nginx's
      // writer log "the http output chain is empty" and fail the response.
      r->buffered &= ~rum_buffered;
      return response.busy != nullptr ? NGX_AGAIN : NGX_OK;
    }
    const ngx_int_t rc = pass_on(r, response, filter.output(), next);
    if (rc == NGX_ERROR) return rc;
    if (decoded == Decoded::done) {
      r->buffered &= ~rum_buffered;
      return rc;
    }
    if (response.free == nullptr) {
      // Still all in flight: the writer calls again when the client reads.
      r->buffered |= rum_buffered;
      return NGX_AGAIN;
    }
  }
}

}  // namespace datadog::module
