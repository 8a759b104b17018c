// The constant part of the request head is built once; per payload only the
// two numbers are appended.
#include "agent/agent_request.hpp"

#include <charconv>
#include <utility>

namespace datadog::agent {
namespace {

void append_header_value(std::string& out, std::string_view value) {
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    out += (byte > 0x20 && byte < 0x7f) ? c : '_';
  }
}

void append_number(std::string& out, std::size_t value) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  (void)ec;  // 24 digits hold any size_t
  out.append(digits, end);
}

}  // namespace

std::string cpp_language_version() { return std::to_string(__cplusplus); }

std::string host_header_for(const AgentEndpoint& endpoint) {
  if (std::holds_alternative<UnixEndpoint>(endpoint)) {
    return "localhost";
  }
  const auto& tcp = std::get<TcpEndpoint>(endpoint);
  std::string host;
  if (tcp.host.find(':') != std::string::npos) {
    host = "[" + tcp.host + "]";
  } else {
    host = tcp.host;
  }
  if (tcp.port != 80) {
    host += ':';
    append_number(host, tcp.port);
  }
  return host;
}

AgentRequestWriter::AgentRequestWriter(std::string_view host, std::string_view tracer_version,
                                       std::string_view language_version, const OriginHeaders& origin) {
  buffer_ = "PUT /v0.4/traces HTTP/1.1\r\nHost: ";
  append_header_value(buffer_, host);
  buffer_ +=
      "\r\nConnection: keep-alive"
      "\r\nContent-Type: application/msgpack"
      "\r\nDatadog-Meta-Lang: cpp"
      "\r\nDatadog-Meta-Lang-Version: ";
  append_header_value(buffer_, language_version);
  buffer_ += "\r\nDatadog-Meta-Lang-Interpreter: nginx\r\nDatadog-Meta-Tracer-Version: ";
  append_header_value(buffer_, tracer_version);
  buffer_ += "\r\n";
  for (const auto& [name, value] : {std::pair{"Datadog-Container-ID", origin.container_id},
                                    std::pair{"Datadog-Entity-Id", origin.entity_id},
                                    std::pair{"Datadog-External-Env", origin.external_env}}) {
    if (value.empty()) continue;
    buffer_ += name;
    buffer_ += ": ";
    append_header_value(buffer_, value);
    buffer_ += "\r\n";
  }
  fixed_size_ = buffer_.size();
  buffer_.reserve(fixed_size_ + 80);
}

std::string_view AgentRequestWriter::head(std::size_t body_bytes, std::size_t trace_count) {
  buffer_.resize(fixed_size_);
  buffer_ += "Content-Length: ";
  append_number(buffer_, body_bytes);
  buffer_ += "\r\nX-Datadog-Trace-Count: ";
  append_number(buffer_, trace_count);
  buffer_ += "\r\n\r\n";
  return buffer_;
}

}  // namespace datadog::agent
