// Event-loop I/O with the agent. nginx's connect code logs every refused
// connection at `error`; the connection gets a private log whose writer only
// remembers the last message, so the error log shows the session's state
// changes, not one line per attempt.
#include "module/agent_exporter.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

#include "module/container_origin.hpp"
#include "module/main_conf.hpp"
#include "module/str_view.hpp"
#include "trace/span_encoder.hpp"

namespace datadog::module {
namespace {

constexpr std::string_view module_version = "0.1.0";

agent::Clock::time_point now() {
  return agent::Clock::time_point(std::chrono::milliseconds(ngx_current_msec));
}

// How often a worker may ask the resolver again while the agent stays away.
constexpr ngx_msec_t resolve_interval = 5000;

std::vector<std::string> names_of(const std::vector<AgentExporter::Address>& addresses) {
  std::vector<std::string> names;
  for (const auto& address : addresses) names.push_back(address.name);
  return names;
}

agent::SessionConfig session_config(const MainConf& conf) {
  agent::SessionConfig config;
  config.batch.max_buffered = conf.buffer_size;
  config.connect_timeout = std::chrono::milliseconds(conf.agent_timeout);
  config.request_timeout = std::chrono::milliseconds(conf.agent_timeout);
  // Workers must not retry in step after an outage.
  config.link.jitter_seed = static_cast<std::uint64_t>(ngx_pid) * 0x9e3779b97f4a7c15ULL;
  return config;
}

ngx_uint_t nginx_level(agent::LogLevel level) {
  switch (level) {
    case agent::LogLevel::error:
      return NGX_LOG_ERR;
    case agent::LogLevel::warn:
      return NGX_LOG_WARN;
    case agent::LogLevel::notice:
      return NGX_LOG_NOTICE;
    case agent::LogLevel::info:
      return NGX_LOG_INFO;
  }
  return NGX_LOG_WARN;
}

}  // namespace

std::vector<AgentExporter::Address> AgentExporter::addresses_of(const MainConf& conf) {
  std::vector<Address> addresses(conf.agent_address_count);
  for (ngx_uint_t i = 0; i < conf.agent_address_count; ++i) {
    const ngx_addr_t& from = conf.agent_addresses[i];
    std::memcpy(&addresses[i].sockaddr, from.sockaddr, from.socklen);
    addresses[i].socklen = from.socklen;
    addresses[i].name = to_string_view(from.name);
  }
  return addresses;
}

AgentExporter::AgentExporter(ngx_cycle_t* cycle, const MainConf& conf, trace::TraceSampler& sampler)
    : cycle_(cycle),
      conf_(conf),
      sampler_(sampler),
      addresses_(addresses_of(conf)),
      session_(names_of(addresses_), agent_request_writer(conf, module_version), session_config(conf)) {
  quiet_log_ = *cycle->log;
  quiet_log_.log_level = NGX_LOG_ERR;
  quiet_log_.writer = capture_error;
  quiet_log_.wdata = this;
  quiet_log_.next = nullptr;
  quiet_log_.handler = nullptr;
  quiet_log_.data = nullptr;

  // A pending flush must not keep a gracefully exiting worker alive: the last
  // spans are sent by flush_at_exit. An exchange under way does (its deadline
  // timer is not cancelable), and is bounded by datadog_agent_timeout, or by
  // worker_shutdown_timeout, after which flush_at_exit finishes it.
  for (ngx_event_t* event : {&flush_timer_, &flush_posted_, &deadline_}) {
    event->data = this;
    event->log = cycle->log;
  }
  flush_timer_.handler = on_flush_timer;
  flush_timer_.cancelable = 1;
  flush_posted_.handler = on_flush_posted;
  deadline_.handler = on_deadline;
  ngx_add_timer(&flush_timer_, conf_.flush_interval);
}

// Destroyed only in exit_process, after which the worker runs no event: its
// timers and posted events are left as they are (nginx's queues are being torn
// down), but an open socket must be closed or nginx reports it as leaked.
AgentExporter::~AgentExporter() {
  close_connection();
  if (resolution_ != nullptr) ngx_resolve_name_done(resolution_);
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

void AgentExporter::publish_status() noexcept {
  if (status_ == nullptr) return;
  const auto& link = session_.link();
  // Not a conditional expression: with a std::string on one side and "" on
  // the other it makes a temporary string, and the view would outlive it.
  std::string_view address;
  if (link.preferred_address() < addresses_.size()) address = addresses_[link.preferred_address()].name;
  agent::publish(*status_, link.counters(), link.state(), address);
}

void AgentExporter::record_trace(std::span<const trace::SpanRecord> spans) noexcept {
  if (status_ != nullptr) status_->spans_created.fetch_add(spans.size(), std::memory_order_relaxed);
  // The agent's host did not resolve when the configuration loaded (a
  // warning said so) and there is no resolver to ask again: there is
  // nowhere to send spans.
  if (addresses_.empty() && conf_.agent_resolver == nullptr) return;
  std::string* out = session_.begin_trace();
  if (out == nullptr) return;  // buffer full: counted as dropped by the session
  try {
    trace::encode_trace(*out, spans);
  } catch (...) {
    session_.abandon_trace();
    return;
  }
  if (session_.commit_trace() && !flush_posted_.posted) {
    ngx_post_event(&flush_posted_, &ngx_posted_events);
  }
}

void AgentExporter::on_flush_timer(ngx_event_t* event) {
  auto* self = static_cast<AgentExporter*>(event->data);
  if (self->addresses_.empty()) {
    if (self->conf_.agent_resolver == nullptr) return;  // never anywhere to send to
    self->resolve_again();
  } else if (self->resolution_ == nullptr) {
    // (While the resolver works, the batch waits for its answer.)
    self->react(self->session_.flush(now()));
  }
  if (!ngx_exiting) ngx_add_timer(&self->flush_timer_, self->conf_.flush_interval);
}

void AgentExporter::on_flush_posted(ngx_event_t* event) {
  auto* self = static_cast<AgentExporter*>(event->data);
  if (self->addresses_.empty() || self->resolution_ != nullptr) return;
  self->react(self->session_.flush(now()));
}

void AgentExporter::after_connect_failure() noexcept {
  // Idle after a failed connect: every address failed in this round.
  if (!session_.busy() && session_.link().state() == agent::LinkState::unreachable) resolve_again();
}

void AgentExporter::resolve_again() noexcept {
  if (conf_.agent_resolver == nullptr || resolution_ != nullptr || ngx_exiting || exiting_) return;
  if (resolved_once_ && ngx_current_msec - last_resolution_ < resolve_interval) return;
  resolved_once_ = true;
  last_resolution_ = ngx_current_msec;
  ngx_resolver_ctx_t* resolution = ngx_resolve_start(conf_.agent_resolver, nullptr);
  if (resolution == nullptr || resolution == NGX_NO_RESOLVER) return;
  resolution->name = conf_.agent_host_name;
  resolution->handler = on_resolved;
  resolution->data = this;
  resolution->timeout = conf_.agent_resolver_timeout;
  resolution->cancelable = 1;  // a graceful exit does not wait for it
  resolution_ = resolution;
  // The answer may come at once (from the resolver's cache), in on_resolved.
  if (ngx_resolve_name(resolution) != NGX_OK) resolution_ = nullptr;  // freed by nginx
}

void AgentExporter::on_resolved(ngx_resolver_ctx_t* resolution) {
  auto* self = static_cast<AgentExporter*>(resolution->data);
  self->resolution_ = nullptr;
  std::vector<Address> found;
  std::string error;
  try {
    if (resolution->state == NGX_OK) {
      for (ngx_uint_t i = 0; i < resolution->naddrs; ++i) {
        const ngx_resolver_addr_t& from = resolution->addrs[i];
        if (from.socklen > sizeof(sockaddr_storage)) continue;
        Address& address = found.emplace_back();
        std::memcpy(&address.sockaddr, from.sockaddr, from.socklen);
        address.socklen = from.socklen;
        auto* sockaddr = reinterpret_cast<struct sockaddr*>(&address.sockaddr);
        ngx_inet_set_port(sockaddr, self->conf_.agent_port);
        u_char text[NGX_SOCKADDR_STRLEN];
        const size_t n = ngx_sock_ntop(sockaddr, address.socklen, text, sizeof(text), 1);
        address.name.assign(reinterpret_cast<const char*>(text), n);
      }
    } else {
      error = ngx_resolver_strerror(resolution->state);
    }
  } catch (...) {
    found.clear();
    error = "out of memory";
  }
  ngx_resolve_name_done(resolution);
  if (found.empty()) {
    if (error.empty()) error = "no address";
    // Once per different error, not once per attempt.
    if (error != self->last_resolution_error_) {
      ngx_log_error(NGX_LOG_WARN, self->cycle_->log, 0,
                    "datadog: resolving the agent host \"%V\" failed: %*s", &self->conf_.agent_host_name,
                    error.size(), error.data());
      try {
        self->last_resolution_error_ = error;
      } catch (...) {
      }
    }
    return;
  }
  self->last_resolution_error_.clear();
  self->take_addresses(std::move(found));
}

void AgentExporter::take_addresses(std::vector<Address> found) noexcept {
  try {
    std::vector<std::string> names = names_of(found);
    std::vector<std::string> current = names_of(addresses_);
    std::vector<std::string> sorted = names;
    std::sort(sorted.begin(), sorted.end());
    std::sort(current.begin(), current.end());
    if (sorted == current) return;  // the same agent: its trouble is elsewhere
    std::string list;
    for (const auto& name : names) list += (list.empty() ? "" : ", ") + name;
    if (!session_.replace_addresses(std::move(names))) return;  // busy: the next failure asks again
    close_connection();
    addresses_ = std::move(found);
    ngx_log_error(NGX_LOG_NOTICE, cycle_->log, 0, "datadog: the agent host \"%V\" resolves to %*s",
                  &conf_.agent_host_name, list.size(), list.data());
  } catch (...) {
    return;
  }
  publish_status();
  ngx_post_event(&flush_posted_, &ngx_posted_events);  // (the macro checks whether it is posted already)
}

void AgentExporter::on_deadline(ngx_event_t* event) {
  static_cast<AgentExporter*>(event->data)->deadline_passed();
}

void AgentExporter::deadline_passed() noexcept {
  if (connecting_) {
    react(session_.connect_failed(agent::Failure::connect_timeout, "timed out", now()));
    after_connect_failure();
  } else {
    react(session_.exchange_failed(agent::Failure::response_timeout, "timed out", now()));
  }
}

void AgentExporter::set_deadline(agent::Clock::time_point deadline) noexcept {
  exchange_deadline_ = deadline;
  if (exiting_) return;  // flush_at_exit's poll loop watches it
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now()).count();
  ngx_add_timer(&deadline_, static_cast<ngx_msec_t>(left > 0 ? left : 1));
}

void AgentExporter::react(agent::Reaction reaction) noexcept {
  publish_status();
  if (reaction.log) {
    ngx_log_error(nginx_level(reaction.log->level), cycle_->log, 0, "%*s", reaction.log->text.size(),
                  reaction.log->text.data());
  }
  if (reaction.rates != nullptr) {
    try {
      sampler_.replace_agent_rates(*reaction.rates);
    } catch (...) {
      // Keep the previous rates.
    }
  }
  const agent::Command& command = reaction.command;
  switch (command.kind) {
    case agent::Command::Kind::none:
      return;
    case agent::Command::Kind::idle:
      if (deadline_.timer_set) ngx_del_timer(&deadline_);
      head_ = body_ = {};
      if (command.close_connection) {
        close_connection();
      } else if (connection_ != nullptr) {
        // Kept alive for the next flush; nginx closes idle connections on
        // graceful exit through c->close.
        connection_->idle = 1;
      }
      return;
    case agent::Command::Kind::connect:
      if (command.close_connection) close_connection();
      set_deadline(command.deadline);
      connect_to(command.address);
      return;
    case agent::Command::Kind::send:
      if (command.close_connection) close_connection();
      set_deadline(command.deadline);
      head_ = command.head;
      body_ = command.body;
      sent_ = 0;
      if (connection_ != nullptr) connection_->idle = 0;
      on_writable();
      return;
  }
}

void AgentExporter::connect_to(std::size_t address_index) noexcept {
  close_connection();
  Address& address = addresses_[address_index];
  ngx_str_t name{address.name.size(), reinterpret_cast<u_char*>(address.name.data())};
  ngx_peer_connection_t peer{};
  peer.sockaddr = reinterpret_cast<struct sockaddr*>(&address.sockaddr);
  peer.socklen = address.socklen;
  peer.name = &name;
  peer.get = ngx_event_get_peer;
  peer.log = &quiet_log_;
  peer.log_error = NGX_ERROR_ERR;
  last_error_[0] = '\0';
  const ngx_int_t rc = ngx_event_connect_peer(&peer);
  if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
    if (peer.connection != nullptr) ngx_close_connection(peer.connection);
    const bool refused = std::strstr(last_error_, "refused") != nullptr;
    react(session_.connect_failed(refused ? agent::Failure::connect_refused : agent::Failure::connect_error,
                                  last_error_[0] != '\0' ? last_error_ : "connect failed", now()));
    after_connect_failure();
    return;
  }
  connection_ = peer.connection;
  connection_->data = this;
  connection_->read->handler = on_connection_event;
  connection_->write->handler = on_connection_event;
  if (rc == NGX_AGAIN) {
    connecting_ = true;
    return;
  }
  react(session_.connected(now()));
}

void AgentExporter::on_connection_event(ngx_event_t* event) {
  auto* connection = static_cast<ngx_connection_t*>(event->data);
  auto* self = static_cast<AgentExporter*>(connection->data);
  if (connection->close) {
    self->on_close_requested();
    return;
  }
  if (event->write) {
    self->on_writable();
  } else {
    self->on_readable();
  }
}

void AgentExporter::on_writable() noexcept {
  ngx_connection_t* c = connection_;
  if (c == nullptr) return;
  if (connecting_) {
    int error = 0;
    socklen_t length = sizeof(error);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &length) == -1) error = errno;
    connecting_ = false;
    if (error != 0) {
      react(session_.connect_failed(
          error == ECONNREFUSED ? agent::Failure::connect_refused : agent::Failure::connect_error,
          std::strerror(error), now()));
      after_connect_failure();
      return;
    }
    react(session_.connected(now()));
    return;
  }
  while (sent_ < head_.size() + body_.size()) {
    const bool in_head = sent_ < head_.size();
    const std::string_view rest = in_head ? head_.substr(sent_) : body_.substr(sent_ - head_.size());
    const ssize_t n = c->send(c, reinterpret_cast<u_char*>(const_cast<char*>(rest.data())), rest.size());
    if (n == NGX_AGAIN) {
      if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        react(session_.exchange_failed(agent::Failure::io_error, "cannot wait for the socket", now()));
      }
      return;
    }
    if (n <= 0) {
      react(session_.exchange_failed(agent::Failure::io_error,
                                     last_error_[0] != '\0' ? last_error_ : "write failed", now()));
      return;
    }
    sent_ += static_cast<std::size_t>(n);
  }
  if (c->read->ready) {
    on_readable();
  } else if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
    react(session_.exchange_failed(agent::Failure::io_error, "cannot wait for the socket", now()));
  }
}

void AgentExporter::on_readable() noexcept {
  if (connecting_) {
    // epoll reports a failed connect on the read side too.
    on_writable();
    return;
  }
  u_char buffer[4096];
  while (connection_ != nullptr) {
    ngx_connection_t* c = connection_;
    const ssize_t n = c->recv(c, buffer, sizeof(buffer));
    if (n == NGX_AGAIN) {
      if (ngx_handle_read_event(c->read, 0) != NGX_OK) close_connection();
      return;
    }
    if (n == 0) {
      close_connection();
      react(session_.peer_closed(now()));
      return;
    }
    if (n < 0) {
      close_connection();
      react(session_.exchange_failed(agent::Failure::io_error,
                                     last_error_[0] != '\0' ? last_error_ : "read failed", now()));
      return;
    }
    const bool was_busy = session_.busy();
    react(session_.received(
        std::string_view(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(n)), now()));
    if (!was_busy) return;
  }
}

void AgentExporter::on_close_requested() noexcept {
  if (!session_.busy()) {
    // Graceful exit: nginx closes idle connections, the kept-alive one too.
    close_connection();
    react(session_.peer_closed(now()));
    return;
  }
  // worker_shutdown_timeout: nginx closes every connection. Closing this one
  // would lose the reply to a payload the agent may already have, and the exit
  // flush would send it again; instead the worker may exit (the deadline timer
  // kept it alive) and the exit flush waits for the reply. Events until then
  // land here and are left to it.
  if (deadline_.timer_set) ngx_del_timer(&deadline_);
}

void AgentExporter::close_connection() noexcept {
  if (connection_ != nullptr) {
    ngx_close_connection(connection_);
    connection_ = nullptr;
  }
  connecting_ = false;
}

void AgentExporter::flush_at_exit() noexcept {
  // The event loop is gone, maybe with an exchange under way: the same session
  // goes on here, on its own socket, with poll() up to the exit deadline (the
  // worker serves nothing else now), so what is in flight is finished, not
  // sent again, and what is buffered follows it.
  exiting_ = true;
  if (deadline_.timer_set) ngx_del_timer(&deadline_);
  try {
    ngx_time_update();
    const ngx_msec_t exit_deadline = ngx_current_msec + conf_.exit_flush_timeout;
    // No address (the host never resolved): nowhere to send to.
    if (!addresses_.empty()) react(session_.begin_exit(now()));
    while (session_.busy() && connection_ != nullptr) {
      ngx_time_update();
      const auto exit_left = static_cast<ngx_msec_int_t>(exit_deadline - ngx_current_msec);
      if (exit_left <= 0) break;
      const auto exchange_left =
          std::chrono::duration_cast<std::chrono::milliseconds>(exchange_deadline_ - now()).count();
      if (exchange_left <= 0) {
        deadline_passed();
        continue;
      }
      ngx_connection_t* c = connection_;
      const bool writing = connecting_ || sent_ < head_.size() + body_.size();
      pollfd p{c->fd, static_cast<short>(writing ? POLLOUT : POLLIN), 0};
      const long long left = std::min<long long>({exit_left, exchange_left, INT_MAX});
      const int n = poll(&p, 1, static_cast<int>(left));
      if (n == -1 && errno != EINTR) break;
      if (n <= 0) continue;
      if ((p.revents & POLLOUT) != 0) {
        on_writable();
      } else {
        // Readable, or an error or hang-up that a read reports. nginx's epoll
        // module would have marked the event so; its recv() trusts the marks.
        c->read->ready = 1;
        c->read->available = -1;
        on_readable();
      }
    }
    react(session_.end_exit());
  } catch (...) {
    close_connection();
    ngx_log_error(NGX_LOG_WARN, cycle_->log, 0, "datadog: the final flush failed");
  }
}

}  // namespace datadog::module
