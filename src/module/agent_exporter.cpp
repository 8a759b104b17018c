// Event-loop I/O with the agent. nginx's connect code logs every refused
// connection at `error`; the connection gets a private log whose writer only
// remembers the last message, so the error log shows state changes, not noise.
#include "module/agent_exporter.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

#include "module/main_conf.hpp"
#include "module/str_view.hpp"
#include "module/worker.hpp"
#include "trace/msgpack_writer.hpp"
#include "trace/span_encoder.hpp"

namespace datadog::module {
namespace {

constexpr std::size_t flush_threshold = 1024 * 1024;  // send early past this
constexpr std::size_t max_response = 64 * 1024;
constexpr std::string_view module_version = "0.1.0";

std::string_view address_name(const MainConf& conf, ngx_uint_t index) {
  return to_string_view(conf.agent_addresses[index].name);
}

// Parses a complete response in `data`: returns false while more bytes are
// needed; sets `status` (0 when the bytes are not HTTP) and `keep_alive`.
bool parse_response(std::string_view data, bool eof, int& status, bool& keep_alive) {
  const auto head_end = data.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    if (eof || data.size() > max_response || (data.size() >= 5 && data.substr(0, 5) != "HTTP/")) {
      status = 0;
      return true;
    }
    return false;
  }
  const std::string_view head = data.substr(0, head_end);
  if (head.size() < 12 || head.substr(0, 5) != "HTTP/") {
    status = 0;
    return true;
  }
  int code = 0;
  std::from_chars(head.data() + 9, head.data() + 12, code);
  status = code;
  keep_alive = head.substr(5, 3) == "1.1";
  std::size_t content_length = 0;
  bool chunked = false;
  std::size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos < head.size()) {
    const std::size_t next = head.find("\r\n", pos + 2);
    std::string_view line =
        head.substr(pos + 2, (next == std::string_view::npos ? head.size() : next) - pos - 2);
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view name = line.substr(0, colon);
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (name.size() == 14 && strncasecmp(name.data(), "content-length", 14) == 0) {
        std::from_chars(value.data(), value.data() + value.size(), content_length);
      } else if (name.size() == 17 && strncasecmp(name.data(), "transfer-encoding", 17) == 0) {
        chunked = value.find("chunked") != std::string_view::npos;
      } else if (name.size() == 10 && strncasecmp(name.data(), "connection", 10) == 0) {
        if (strncasecmp(value.data(), "close", 5) == 0) keep_alive = false;
      }
    }
    pos = next;
  }
  const std::string_view body = data.substr(head_end + 4);
  if (chunked) {
    return body.find("0\r\n\r\n") != std::string_view::npos || eof;
  }
  return body.size() >= content_length || eof;
}

}  // namespace

AgentExporter::AgentExporter(ngx_cycle_t* cycle, const MainConf& conf) : cycle_(cycle), conf_(conf) {
  quiet_log_ = *cycle->log;
  quiet_log_.log_level = NGX_LOG_ERR;
  quiet_log_.writer = capture_error;
  quiet_log_.wdata = this;
  quiet_log_.next = nullptr;
  quiet_log_.handler = nullptr;
  quiet_log_.data = nullptr;
  batch_.reserve(64 * 1024);

  timer_.handler = on_timer;
  timer_.data = this;
  timer_.log = cycle->log;
  // A pending flush must not keep a gracefully exiting worker alive: the last
  // spans are sent by flush_at_exit instead.
  timer_.cancelable = 1;
  schedule_flush();
}

AgentExporter::~AgentExporter() {
  if (timer_.timer_set) ngx_del_timer(&timer_);
  close_connection();
}

void AgentExporter::capture_error(ngx_log_t* log, ngx_uint_t, u_char* buf, size_t len) {
  auto* self = static_cast<AgentExporter*>(log->wdata);
  std::string_view line(reinterpret_cast<const char*>(buf), len);
  // Drop nginx's "date time [level] pid#tid: *conn " prefix.
  if (const auto hash = line.find('#'); hash != std::string_view::npos) {
    if (const auto colon = line.find(": ", hash); colon != std::string_view::npos)
      line.remove_prefix(colon + 2);
  }
  if (!line.empty() && line.front() == '*') {
    if (const auto space = line.find(' '); space != std::string_view::npos) line.remove_prefix(space + 1);
  }
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  const std::size_t n = std::min(line.size(), sizeof(self->last_error_) - 1);
  std::memcpy(self->last_error_, line.data(), n);
  self->last_error_[n] = '\0';
}

void AgentExporter::record_trace(std::span<const trace::SpanRecord> spans) noexcept {
  if (batch_.size() + payload_.size() >= conf_.buffer_size) {
    ++traces_dropped_;
    return;
  }
  try {
    trace::encode_trace(batch_, spans);
    ++batch_traces_;
  } catch (...) {
    ++traces_dropped_;
    return;
  }
  if (batch_.size() >= flush_threshold && state_ == State::idle && payload_.empty()) start_flush();
}

void AgentExporter::schedule_flush() {
  if (!timer_.timer_set) ngx_add_timer(&timer_, conf_.flush_interval);
}

void AgentExporter::on_timer(ngx_event_t* event) {
  auto* self = static_cast<AgentExporter*>(event->data);
  if (self->state_ == State::idle) self->start_flush();
  self->schedule_flush();
}

void AgentExporter::prepare_payload() {
  payload_.clear();
  trace::msgpack::write_array_header(payload_, batch_traces_);
  payload_ += batch_;
  payload_traces_ = batch_traces_;
  batch_.clear();
  batch_traces_ = 0;
  build_request_head();
}

void AgentExporter::build_request_head() {
  request_head_.clear();
  request_head_ += "PUT /v0.4/traces HTTP/1.1\r\nHost: ";
  request_head_ += to_string_view(conf_.agent_host_header);
  request_head_ +=
      "\r\nContent-Type: application/msgpack\r\n"
      "Datadog-Meta-Lang: cpp\r\n"
      "Datadog-Meta-Lang-Version: 20\r\n"
      "Datadog-Meta-Lang-Interpreter: nginx\r\n"
      "Datadog-Meta-Tracer-Version: ";
  request_head_ += module_version;
  request_head_ += "\r\nX-Datadog-Trace-Count: ";
  request_head_ += std::to_string(payload_traces_);
  request_head_ += "\r\nContent-Length: ";
  request_head_ += std::to_string(payload_.size());
  request_head_ += "\r\n\r\n";
}

void AgentExporter::start_flush() {
  if (payload_.empty()) {
    if (batch_traces_ == 0) return;
    prepare_payload();
  }
  if (conf_.agent_address_count == 0) {
    traces_dropped_ += payload_traces_;
    payload_.clear();
    return;
  }
  sent_ = 0;
  response_.clear();
  addresses_tried_ = 0;
  failures_.clear();
  if (connection_ != nullptr) {  // keep-alive connection from the last payload
    connection_->idle = 0;
    state_ = State::sending;
    on_writable();
    return;
  }
  connect_next();
}

void AgentExporter::connect_next() {
  const ngx_addr_t& address = conf_.agent_addresses[address_index_];
  ngx_peer_connection_t peer{};
  peer.sockaddr = address.sockaddr;
  peer.socklen = address.socklen;
  peer.name = const_cast<ngx_str_t*>(&address.name);
  peer.get = ngx_event_get_peer;
  peer.log = &quiet_log_;
  peer.log_error = NGX_ERROR_ERR;
  last_error_[0] = '\0';
  const ngx_int_t rc = ngx_event_connect_peer(&peer);
  if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
    if (peer.connection != nullptr) ngx_close_connection(peer.connection);
    attempt_failed(last_error_[0] != '\0' ? last_error_ : "connect failed");
    return;
  }
  connection_ = peer.connection;
  connection_->data = this;
  connection_->read->handler = on_connection_event;
  connection_->write->handler = on_connection_event;
  if (rc == NGX_AGAIN) {
    state_ = State::connecting;
    ngx_add_timer(connection_->write, conf_.agent_timeout);
    return;
  }
  state_ = State::sending;
  on_writable();
}

void AgentExporter::on_connection_event(ngx_event_t* event) {
  auto* connection = static_cast<ngx_connection_t*>(event->data);
  auto* self = static_cast<AgentExporter*>(connection->data);
  if (event->timedout) {
    event->timedout = 0;
    if (self->state_ == State::idle) {
      self->close_connection();
    } else {
      self->attempt_failed(self->state_ == State::connecting ? "connection timed out"
                                                             : "agent did not answer in time");
    }
    return;
  }
  if (event->write) {
    self->on_writable();
  } else {
    self->on_readable();
  }
}

void AgentExporter::on_writable() {
  ngx_connection_t* c = connection_;
  if (state_ == State::connecting) {
    int error = 0;
    socklen_t length = sizeof(error);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &length) == -1) error = errno;
    if (error != 0) {
      attempt_failed(std::strerror(error));
      return;
    }
    state_ = State::sending;
  }
  if (state_ != State::sending) return;
  if (c->write->timer_set) ngx_del_timer(c->write);
  while (sent_ < request_head_.size() + payload_.size()) {
    const bool in_head = sent_ < request_head_.size();
    const char* data =
        in_head ? request_head_.data() + sent_ : payload_.data() + (sent_ - request_head_.size());
    const std::size_t size =
        in_head ? request_head_.size() - sent_ : payload_.size() - (sent_ - request_head_.size());
    const ssize_t n = c->send(c, reinterpret_cast<u_char*>(const_cast<char*>(data)), size);
    if (n == NGX_AGAIN) {
      ngx_add_timer(c->write, conf_.agent_timeout);
      if (ngx_handle_write_event(c->write, 0) != NGX_OK) attempt_failed("cannot wait for the socket");
      return;
    }
    if (n == NGX_ERROR || n <= 0) {
      attempt_failed(last_error_[0] != '\0' ? last_error_ : "write failed");
      return;
    }
    sent_ += static_cast<std::size_t>(n);
  }
  state_ = State::receiving;
  ngx_add_timer(c->read, conf_.agent_timeout);
  if (c->read->ready) {
    on_readable();
  } else if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
    attempt_failed("cannot wait for the socket");
  }
}

void AgentExporter::on_readable() {
  ngx_connection_t* c = connection_;
  if (c == nullptr) return;
  u_char buffer[4096];
  if (state_ == State::connecting || state_ == State::sending) {
    // epoll reports a failed connect (or a reset) on the read side too.
    on_writable();
    return;
  }
  if (state_ == State::idle) {
    // Idle keep-alive connection: the agent closed it, or nginx asks idle
    // connections to close for a graceful exit.
    const ssize_t n = c->close ? 0 : c->recv(c, buffer, sizeof(buffer));
    if (n == NGX_AGAIN) {
      if (ngx_handle_read_event(c->read, 0) != NGX_OK) close_connection();
      return;
    }
    close_connection();
    return;
  }
  for (;;) {
    const ssize_t n = c->recv(c, buffer, sizeof(buffer));
    if (n == NGX_AGAIN) {
      if (ngx_handle_read_event(c->read, 0) != NGX_OK) attempt_failed("cannot wait for the socket");
      return;
    }
    if (n == NGX_ERROR) {
      attempt_failed(last_error_[0] != '\0' ? last_error_ : "read failed");
      return;
    }
    const bool eof = n == 0;
    if (!eof) response_.append(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(n));
    int status = 0;
    bool keep_alive = false;
    if (parse_response(response_, eof, status, keep_alive)) {
      if (c->read->timer_set) ngx_del_timer(c->read);
      if (status == 0) {
        attempt_failed(eof && response_.empty() ? "agent closed the connection without answering"
                                                : "agent's reply is not HTTP");
        return;
      }
      if (!keep_alive || eof) close_connection();
      payload_finished(status);
      return;
    }
    if (eof) {
      attempt_failed("agent closed the connection mid-reply");
      return;
    }
  }
}

void AgentExporter::payload_finished(int status) {
  state_ = State::idle;
  if (connection_ != nullptr) {
    connection_->idle = 1;
    if (ngx_handle_read_event(connection_->read, 0) != NGX_OK) close_connection();
  }
  if (status >= 200 && status < 300) {
    if (!reachable_) {
      ngx_log_error(NGX_LOG_NOTICE, cycle_->log, 0, "datadog: agent reachable again at %V",
                    &conf_.agent_addresses[address_index_].name);
      reachable_ = true;
    }
    payload_.clear();
    // The agent's sampling rates for later traces.
    if (const auto head_end = response_.find("\r\n\r\n"); head_end != std::string::npos) {
      if (Worker* worker = Worker::get()) {
        worker->sampler().update_agent_rates(std::string_view(response_).substr(head_end + 4));
      }
    }
  } else if (status == 400 || status == 413) {
    ngx_log_error(NGX_LOG_WARN, cycle_->log, 0,
                  "datadog: agent rejected a payload of %ui traces with status %d",
                  static_cast<ngx_uint_t>(payload_traces_), status);
    traces_dropped_ += payload_traces_;
    payload_.clear();
  }
  // Other statuses: the payload stays and is retried at the next flush.
}

void AgentExporter::attempt_failed(const char* what) {
  close_connection();
  state_ = State::idle;
  if (!failures_.empty()) failures_ += "; ";
  failures_ += address_name(conf_, address_index_);
  failures_ += ": ";
  failures_ += what;
  ++addresses_tried_;
  if (addresses_tried_ < conf_.agent_address_count) {
    address_index_ = (address_index_ + 1) % conf_.agent_address_count;
    sent_ = 0;
    response_.clear();
    connect_next();
    return;
  }
  if (reachable_) {
    ngx_log_error(NGX_LOG_WARN, cycle_->log, 0,
                  "datadog: agent unreachable: %*s (spans are kept and retried)", failures_.size(),
                  failures_.data());
    reachable_ = false;
  }
}

void AgentExporter::close_connection() {
  if (connection_ != nullptr) {
    ngx_close_connection(connection_);
    connection_ = nullptr;
  }
}

void AgentExporter::flush_at_exit() noexcept {
  // Whatever is in flight is resent: the event loop that would have read the
  // reply is gone.
  close_connection();
  if (payload_.empty() && batch_traces_ == 0) return;
  if (payload_.empty()) {
    prepare_payload();
  } else if (batch_traces_ != 0) {
    // Merge the accumulating batch into the payload being retried.
    const std::uint32_t total = payload_traces_ + batch_traces_;
    std::string merged;
    trace::msgpack::write_array_header(merged, total);
    const std::size_t header = payload_traces_ < 16 ? 1 : payload_traces_ <= 0xffff ? 3 : 5;
    merged.append(payload_, header);
    merged += batch_;
    payload_.swap(merged);
    payload_traces_ = total;
    batch_.clear();
    batch_traces_ = 0;
    build_request_head();
  }
  const ngx_msec_t deadline = ngx_current_msec + conf_.exit_flush_timeout;
  for (ngx_uint_t i = 0; i < conf_.agent_address_count; ++i) {
    const ngx_uint_t index = (address_index_ + i) % conf_.agent_address_count;
    const ngx_addr_t& address = conf_.agent_addresses[index];
    const int fd = socket(address.sockaddr->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd == -1) continue;
    auto wait = [&](short events) {
      ngx_time_update();
      const ngx_msec_int_t left = static_cast<ngx_msec_int_t>(deadline - ngx_current_msec);
      if (left <= 0) return false;
      pollfd p{fd, events, 0};
      return poll(&p, 1, static_cast<int>(left)) == 1 && (p.revents & (POLLERR | POLLHUP)) == 0;
    };
    bool ok = connect(fd, address.sockaddr, address.socklen) == 0 || (errno == EINPROGRESS && wait(POLLOUT));
    int error = 0;
    socklen_t length = sizeof(error);
    ok = ok && getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
    const std::string request = request_head_ + payload_;
    std::size_t done = 0;
    while (ok && done < request.size()) {
      const ssize_t n = send(fd, request.data() + done, request.size() - done, MSG_NOSIGNAL);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
      } else if (n == -1 && errno == EAGAIN) {
        ok = wait(POLLOUT);
      } else {
        ok = false;
      }
    }
    std::string reply;
    int status = 0;
    bool keep_alive = false;
    bool complete = false;
    while (ok && !complete) {
      char buffer[4096];
      const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
      if (n > 0) {
        reply.append(buffer, static_cast<std::size_t>(n));
        complete = parse_response(reply, false, status, keep_alive);
      } else if (n == 0) {
        complete = parse_response(reply, true, status, keep_alive);
        ok = complete;
      } else if (errno == EAGAIN) {
        ok = wait(POLLIN);
      } else {
        ok = false;
      }
    }
    close(fd);
    if (ok && status >= 200 && status < 300) {
      payload_.clear();
      return;
    }
  }
  ngx_log_error(NGX_LOG_WARN, cycle_->log, 0,
                "datadog: %ui traces could not be delivered before the worker exited",
                static_cast<ngx_uint_t>(payload_traces_));
}

}  // namespace datadog::module
