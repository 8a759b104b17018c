// Per policy: find the first occurrence of the directives that decide for our
// script (parsed as CSP3 does: ';'-split, trimmed, names case-insensitive,
// later duplicates ignored), judge each need against its effective directive
// with CSP3's matching rules, and rewrite only the directives that must grow.
// An addition never lands on a fallback that other directives read
// (default-src, or script-src for workers): a new directive copying the
// fallback's sources takes it instead, so nothing else changes meaning.
#include "rum/csp_policy.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <initializer_list>

namespace datadog::rum {
namespace {

constexpr bool is_ascii_whitespace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}
constexpr bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr char fold_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (fold_ascii(a[i]) != fold_ascii(b[i])) return false;
  }
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ascii_whitespace(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ascii_whitespace(s.back())) s.remove_suffix(1);
  return s;
}

bool is_ascii(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// Control characters other than tab (CR, LF and FF are CSP whitespace but have
// no business in a header value), DEL, and non-ASCII bytes (a browser drops a
// directive holding one, which shifts which directive is effective): a header
// holding any of them is not ours to rewrite.
bool is_editable(std::string_view header) {
  return std::none_of(header.begin(), header.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && c != '\t') || byte >= 0x7f;
  });
}

// One source expression we may add: printable ASCII without ';' or ','.
bool is_source_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte > 0x20 && byte < 0x7f && c != ';' && c != ',';
  });
}

// Strict split on one separator: empty pieces included.
class Pieces {
 public:
  Pieces(std::string_view text, char separator) : rest_(text), separator_(separator) {}

  bool next(std::string_view& piece) {
    if (done_) return false;
    const std::size_t at = rest_.find(separator_);
    if (at == std::string_view::npos) {
      piece = rest_;
      done_ = true;
    } else {
      piece = rest_.substr(0, at);
      rest_.remove_prefix(at + 1);
    }
    return true;
  }

 private:
  std::string_view rest_;
  char separator_;
  bool done_ = false;
};

// The next whitespace-separated source expression of `rest`, which shrinks.
bool next_token(std::string_view& rest, std::string_view& token) {
  std::size_t begin = 0;
  while (begin < rest.size() && is_ascii_whitespace(rest[begin])) ++begin;
  if (begin == rest.size()) return false;
  std::size_t end = begin;
  while (end < rest.size() && !is_ascii_whitespace(rest[end])) ++end;
  token = rest.substr(begin, end - begin);
  rest.remove_prefix(end);
  return true;
}

// --- source expression grammar (CSP3 §2.3.1) ---------------------------------

// base64-value = 1*( ALPHA / DIGIT / "+" / "/" / "-" / "_" ) *2( "=" )
bool is_base64_value(std::string_view v) {
  std::size_t i = 0;
  while (i < v.size() &&
         (is_alpha(v[i]) || is_digit(v[i]) || v[i] == '+' || v[i] == '/' || v[i] == '-' || v[i] == '_')) {
    ++i;
  }
  if (i == 0 || v.size() - i > 2) return false;
  return std::all_of(v.begin() + i, v.end(), [](char c) { return c == '='; });
}

// The base64-value of a nonce-source ('nonce-<value>'), or empty.
std::string_view nonce_of(std::string_view token) {
  constexpr std::string_view prefix = "'nonce-";
  if (token.size() < prefix.size() + 2 || !istarts_with(token, prefix) || token.back() != '\'') return {};
  const std::string_view value = token.substr(prefix.size(), token.size() - prefix.size() - 1);
  return is_base64_value(value) ? value : std::string_view{};
}

struct HashSource {
  std::string_view algorithm;
  std::string_view value;
};

// hash-source = "'" ( "sha256" / "sha384" / "sha512" ) "-" base64-value "'"
bool parse_hash_source(std::string_view token, HashSource& out) {
  if (token.size() < 3 || token.front() != '\'' || token.back() != '\'') return false;
  const std::string_view inner = token.substr(1, token.size() - 2);
  const std::size_t dash = inner.find('-');
  if (dash == std::string_view::npos) return false;
  out.algorithm = inner.substr(0, dash);
  out.value = inner.substr(dash + 1);
  return (iequals(out.algorithm, "sha256") || iequals(out.algorithm, "sha384") ||
          iequals(out.algorithm, "sha512")) &&
         is_base64_value(out.value);
}

// Browsers read a hash written in base64url as its base64 twin.
constexpr char base64url_to_base64(char c) { return c == '-' ? '+' : c == '_' ? '/' : c; }

bool same_hash(const HashSource& a, const HashSource& b) {
  if (!iequals(a.algorithm, b.algorithm) || a.value.size() != b.value.size()) return false;
  for (std::size_t i = 0; i < a.value.size(); ++i) {
    if (base64url_to_base64(a.value[i]) != base64url_to_base64(b.value[i])) return false;
  }
  return true;
}

// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
bool is_scheme(std::string_view s) {
  if (s.empty() || !is_alpha(s.front())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.'; });
}

// host-part = "*" / [ "*." ] 1*host-char *( "." 1*host-char ), host-char =
// ALPHA / DIGIT / "-"
bool is_host_part(std::string_view host) {
  if (host == "*") return true;
  if (host.starts_with("*.")) host.remove_prefix(2);
  bool label_empty = true;
  for (const char c : host) {
    if (c == '.') {
      if (label_empty) return false;
      label_empty = true;
    } else if (is_alpha(c) || is_digit(c) || c == '-') {
      label_empty = false;
    } else {
      return false;
    }
  }
  return !label_empty;
}

// A port number, or -1 when `digits` is not one.
long parse_port(std::string_view digits) {
  if (digits.empty() || digits.size() > 5) return -1;
  long port = 0;
  for (const char c : digits) {
    if (!is_digit(c)) return -1;
    port = port * 10 + (c - '0');
  }
  return port <= 65535 ? port : -1;
}

long default_port(std::string_view scheme) {
  if (iequals(scheme, "http") || iequals(scheme, "ws")) return 80;
  if (iequals(scheme, "https") || iequals(scheme, "wss")) return 443;
  if (iequals(scheme, "ftp")) return 21;
  return -1;
}

struct HostSource {
  std::string_view scheme;  // empty when absent
  std::string_view host;
  std::string_view port;  // digits or "*"; empty when absent
  std::string_view path;  // empty or starting with '/'
};

// host-source = [ scheme-part "://" ] host-part [ ":" port-part ] [ path-part ]
bool parse_host_source(std::string_view text, HostSource& out) {
  out = HostSource{};
  const std::size_t scheme_end = text.find("://");
  if (scheme_end != std::string_view::npos) {
    out.scheme = text.substr(0, scheme_end);
    if (!is_scheme(out.scheme)) return false;
    text.remove_prefix(scheme_end + 3);
  }
  const std::size_t host_end = std::min(text.find_first_of(":/"), text.size());
  out.host = text.substr(0, host_end);
  if (!is_host_part(out.host)) return false;
  text.remove_prefix(host_end);
  if (!text.empty() && text.front() == ':') {
    const std::size_t port_end = std::min(text.find('/'), text.size());
    out.port = text.substr(1, port_end - 1);
    if (out.port != "*" && parse_port(out.port) < 0) return false;
    text.remove_prefix(port_end);
  }
  out.path = text;
  return true;
}

// --- matching a URL of ours (CSP3 §6.7.2.8–12)
// --------------------------------

// Where our script sends a request: an absolute URL (usually an origin), or
// 'self'.
struct Target {
  std::string_view text;  // as configured; empty when there is no such need
  bool self = false;
  bool url = false;  // scheme, host, port and path below are meaningful
  std::string_view scheme;
  std::string_view host;
  long port = -1;         // -1: the scheme's default
  std::string_view path;  // empty: unknown (an origin was configured)
};

Target parse_target(std::string_view text) {
  Target target;
  target.text = text;
  if (iequals(text, "'self'")) {
    target.self = true;
    return target;
  }
  HostSource source;
  if (!parse_host_source(text, source) || source.scheme.empty() ||
      source.host.find('*') != std::string_view::npos || source.port == "*") {
    return target;  // only matched by its own text
  }
  target.scheme = source.scheme;
  target.host = source.host;
  target.path = source.path;
  if (!source.port.empty()) {
    target.port = parse_port(source.port);
    if (target.port == default_port(target.scheme)) target.port = -1;
  }
  target.url = true;
  return target;
}

// The secure upgrades every browser makes. CSP3 also lets "ws"/"wss" match
// http(s) URLs; not relying on that costs at most a redundant source.
bool scheme_part_match(std::string_view pattern, std::string_view scheme) {
  return iequals(pattern, scheme) || (iequals(pattern, "http") && iequals(scheme, "https")) ||
         (iequals(pattern, "ws") && iequals(scheme, "wss"));
}

bool is_ipv4_literal(std::string_view host) {
  return std::all_of(host.begin(), host.end(), [](char c) { return is_digit(c) || c == '.'; });
}

bool host_part_match(std::string_view pattern, std::string_view host) {
  if (pattern.front() == '*') {  // "*" or "*.example.com": the rightmost characters
    const std::string_view remaining = pattern.substr(1);
    return host.size() >= remaining.size() && iequals(host.substr(host.size() - remaining.size()), remaining);
  }
  // Browsers never match an IP address other than the loopback one.
  return iequals(pattern, host) && (!is_ipv4_literal(pattern) || pattern == "127.0.0.1");
}

bool port_part_match(std::string_view pattern, const Target& target) {
  if (pattern == "*") return true;
  if (pattern.empty()) return target.port < 0;
  const long port = target.port >= 0 ? target.port : default_port(target.scheme);
  return port >= 0 && parse_port(pattern) == port;
}

// A path-restricted source for a target known by its origin only is taken as
// written for it (the operator allowed a part of that origin, which is all we
// can see); for a target with a path, CSP3's rule, without percent-decoding
// (a difference in encoding only makes us add our source).
bool path_part_match(std::string_view pattern, std::string_view path) {
  if (pattern.empty() || path.empty()) return true;
  if (pattern.back() != '/') return pattern == path;
  return path.starts_with(pattern);
}

bool source_matches(std::string_view expression, const Target& target) {
  if (expression == target.text) return true;
  if (target.self) return iequals(expression, "'self'") || expression == "*";
  if (!target.url) return false;
  // "*" matches HTTP(S) URLs only (and those of the page's own scheme).
  if (expression == "*") return iequals(target.scheme, "http") || iequals(target.scheme, "https");
  if (expression.size() > 1 && expression.back() == ':') {
    const std::string_view scheme = expression.substr(0, expression.size() - 1);
    return is_scheme(scheme) && scheme_part_match(scheme, target.scheme);
  }
  HostSource source;
  if (!parse_host_source(expression, source)) return false;
  if (source.scheme.empty()) {
    // Resolved against the page's scheme, http or https: only https is sure
    // to be allowed by both.
    if (!iequals(target.scheme, "https")) return false;
  } else if (!scheme_part_match(source.scheme, target.scheme)) {
    return false;
  }
  return host_part_match(source.host, target.host) && port_part_match(source.port, target) &&
         path_part_match(source.path, target.path);
}

// --- what a source list allows
// -------------------------------------------------

struct Requirements {
  std::string_view our_nonce;
  std::string_view hash;  // the expression to add; empty when unusable
  HashSource parsed_hash;
  Target sdk;
  Target intake;
  bool worker_blob = false;
};

// CSP3 §6.7.3.2–3: 'unsafe-inline' counts only without nonce, hash or
// 'strict-dynamic' in the list.
bool allows_our_inline_script(std::string_view list, const Requirements& ours) {
  bool unsafe_inline = false;
  bool unsafe_inline_ignored = false;
  std::string_view token;
  while (next_token(list, token)) {
    HashSource hash;
    if (const std::string_view nonce = nonce_of(token); !nonce.empty()) {
      if (nonce == ours.our_nonce) return true;
      unsafe_inline_ignored = true;
    } else if (parse_hash_source(token, hash)) {
      if (same_hash(hash, ours.parsed_hash)) return true;
      unsafe_inline_ignored = true;
    } else if (iequals(token, "'strict-dynamic'")) {
      unsafe_inline_ignored = true;
    } else if (iequals(token, "'unsafe-inline'")) {
      unsafe_inline = true;
    }
  }
  return unsafe_inline && !unsafe_inline_ignored;
}

bool allows_request(std::string_view list, const Target& target) {
  std::string_view token;
  while (next_token(list, token)) {
    if (source_matches(token, target)) return true;
  }
  return false;
}

// Our script, trusted by nonce or hash, inserts the SDK's <script>: with
// 'strict-dynamic' that is enough, and host sources would be ignored anyway.
bool allows_sdk_script(std::string_view list, const Target& sdk) {
  std::string_view rest = list;
  std::string_view token;
  while (next_token(rest, token)) {
    if (iequals(token, "'strict-dynamic'")) return true;
  }
  return allows_request(list, sdk);
}

// Neither "*" nor 'self' matches a blob: URL.
bool allows_blob_worker(std::string_view list) {
  std::string_view token;
  while (next_token(list, token)) {
    if (iequals(token, "blob:")) return true;
  }
  return false;
}

// A list made of 'none' (besides 'report-sample'): what we add replaces it.
// Next to any other expression, 'none' has no effect and stays.
bool is_lone_none(std::string_view list) {
  bool none = false;
  std::string_view token;
  while (next_token(list, token)) {
    if (iequals(token, "'none'")) {
      none = true;
    } else if (!iequals(token, "'report-sample'")) {
      return false;
    }
  }
  return none;
}

// --- one policy
// -----------------------------------------------------------------

enum Slot : std::size_t {
  kDefaultSrc,
  kScriptSrc,
  kScriptSrcElem,
  kConnectSrc,
  kWorkerSrc,
  kChildSrc,
  kSlotCount
};

constexpr std::array<std::string_view, kSlotCount> kSlotNames = {
    "default-src", "script-src", "script-src-elem", "connect-src", "worker-src", "child-src"};

struct Directive {
  std::string_view text;  // name and value, without surrounding whitespace; empty when absent
  std::string_view name;
  std::string_view value;

  bool present() const { return !text.empty(); }
};

struct Policy {
  std::array<Directive, kSlotCount> directives;  // the first occurrence of each
  const char* end_of_last = nullptr;             // new directives go after the last one
};

Policy parse_policy(std::string_view text) {
  Policy policy;
  Pieces pieces(text, ';');
  std::string_view piece;
  while (pieces.next(piece)) {
    const std::string_view directive = trim(piece);
    if (directive.empty()) continue;
    policy.end_of_last = directive.data() + directive.size();
    if (!is_ascii(directive)) continue;  // browsers drop it
    std::size_t name_end = 0;
    while (name_end < directive.size() && !is_ascii_whitespace(directive[name_end])) ++name_end;
    const std::string_view name = directive.substr(0, name_end);
    for (std::size_t slot = 0; slot < kSlotCount; ++slot) {
      if (!iequals(name, kSlotNames[slot])) continue;
      Directive& found = policy.directives[slot];
      if (!found.present()) found = Directive{directive, name, directive.substr(name_end)};
      break;
    }
  }
  return policy;
}

// The first present of `fallbacks`, or nullptr (nothing restricts).
const Directive* effective(const Policy& policy, std::initializer_list<Slot> fallbacks) {
  for (const Slot slot : fallbacks) {
    if (policy.directives[slot].present()) return &policy.directives[slot];
  }
  return nullptr;
}

// Sources added to one directive: in place, or to a new directive `name` that
// starts from a copy of the effective fallback's sources.
struct Change {
  const Directive* existing = nullptr;
  std::string_view name;
  std::string_view sources;
  std::array<std::string_view, 2> added{};
  std::size_t added_count = 0;

  void add(std::string_view source) { added[added_count++] = source; }
};

Change change_of(const Policy& policy, const Directive& effective_directive, Slot slot) {
  Change change;
  if (&effective_directive == &policy.directives[slot]) {
    change.existing = &effective_directive;
    change.name = effective_directive.name;
  } else {
    change.name = kSlotNames[slot];
  }
  change.sources = effective_directive.value;
  return change;
}

struct Plan {
  std::array<Change, 3> changes;
  std::size_t count = 0;

  void push(const Change& change) { changes[count++] = change; }
};

Plan plan_policy(const Policy& policy, const Requirements& needs) {
  Plan plan;
  const Directive* elem_src = &policy.directives[kScriptSrcElem];
  bool script_src_gains_source = false;
  if (const Directive* list = effective(policy, {kScriptSrcElem, kScriptSrc, kDefaultSrc})) {
    Change change = change_of(policy, *list, list == elem_src ? kScriptSrcElem : kScriptSrc);
    if (!needs.hash.empty() && !allows_our_inline_script(list->value, needs)) change.add(needs.hash);
    if (!needs.sdk.text.empty() && !allows_sdk_script(list->value, needs.sdk)) {
      change.add(needs.sdk.text);
      script_src_gains_source = list != elem_src;
    }
    if (change.added_count > 0) plan.push(change);
  }
  if (const Directive* list = effective(policy, {kConnectSrc, kDefaultSrc})) {
    if (!needs.intake.text.empty() && !allows_request(list->value, needs.intake)) {
      Change change = change_of(policy, *list, kConnectSrc);
      change.add(needs.intake.text);
      plan.push(change);
    }
  }
  if (const Directive* list = effective(policy, {kWorkerSrc, kChildSrc, kScriptSrc, kDefaultSrc})) {
    const bool add_blob = needs.worker_blob && !allows_blob_worker(list->value);
    // Workers read script-src when neither worker-src nor child-src is there:
    // they keep the sources they had rather than gain the SDK's.
    const bool keep_workers_as_they_were = script_src_gains_source &&
                                           list != &policy.directives[kWorkerSrc] &&
                                           list != &policy.directives[kChildSrc];
    if (add_blob || keep_workers_as_they_were) {
      Change change = change_of(policy, *list, kWorkerSrc);
      if (add_blob) change.add("blob:");
      plan.push(change);
    }
  }
  return plan;
}

// `name src1 src2 … added…`
void write_directive(std::string& out, const Change& change) {
  const bool drop_none = change.added_count > 0 && is_lone_none(change.sources);
  out += change.name;
  std::string_view rest = change.sources;
  std::string_view token;
  while (next_token(rest, token)) {
    if (drop_none && iequals(token, "'none'")) continue;
    out += ' ';
    out += token;
  }
  for (std::size_t i = 0; i < change.added_count; ++i) {
    out += ' ';
    out += change.added[i];
  }
}

// Everything between and around the amended directives is copied as it was.
void write_policy(std::string& out, std::string_view text, const Policy& policy, const Plan& plan) {
  // In text order: each placed as it is collected (three at most).
  std::array<const Change*, 3> in_place{};
  std::size_t in_place_count = 0;
  for (std::size_t i = 0; i < plan.count; ++i) {
    const Change* change = &plan.changes[i];
    if (!change->existing) continue;
    std::size_t at = in_place_count++;
    for (; at > 0 && in_place[at - 1]->existing->text.data() > change->existing->text.data(); --at) {
      in_place[at] = in_place[at - 1];
    }
    in_place[at] = change;
  }
  const char* cursor = text.data();
  for (std::size_t i = 0; i < in_place_count; ++i) {
    const std::string_view replaced = in_place[i]->existing->text;
    out.append(cursor, replaced.data());
    write_directive(out, *in_place[i]);
    cursor = replaced.data() + replaced.size();
  }
  out.append(cursor, policy.end_of_last);
  cursor = policy.end_of_last;
  for (std::size_t i = 0; i < plan.count; ++i) {
    if (plan.changes[i].existing) continue;
    out += "; ";
    write_directive(out, plan.changes[i]);
  }
  out.append(cursor, text.data() + text.size());
}

Requirements requirements_of(std::string_view our_nonce, const CspNeeds& needs) {
  Requirements requirements;
  requirements.our_nonce = our_nonce;
  if (parse_hash_source(needs.script_hash, requirements.parsed_hash)) requirements.hash = needs.script_hash;
  if (is_source_token(needs.sdk_origin)) requirements.sdk = parse_target(needs.sdk_origin);
  if (is_source_token(needs.intake_origin)) requirements.intake = parse_target(needs.intake_origin);
  requirements.worker_blob = needs.worker_blob;
  return requirements;
}

}  // namespace

std::string_view find_script_nonce(std::string_view header_value) {
  Pieces policies(header_value, ',');
  std::string_view text;
  while (policies.next(text)) {
    const Policy policy = parse_policy(text);
    const Directive* list = effective(policy, {kScriptSrcElem, kScriptSrc, kDefaultSrc});
    if (!list) continue;
    std::string_view rest = list->value;
    std::string_view token;
    while (next_token(rest, token)) {
      if (const std::string_view nonce = nonce_of(token); !nonce.empty()) return nonce;
    }
  }
  return {};
}

CspAmendment amend_csp(std::string_view header_value, std::string_view our_nonce, const CspNeeds& needs) {
  CspAmendment result;
  if (!is_editable(header_value)) return result;
  const Requirements requirements = requirements_of(our_nonce, needs);
  const char* copied_up_to = header_value.data();
  Pieces policies(header_value, ',');
  std::string_view text;
  while (policies.next(text)) {
    const Policy policy = parse_policy(text);
    const Plan plan = plan_policy(policy, requirements);
    if (plan.count == 0) continue;
    if (!result.changed) {
      result.changed = true;
      result.value.reserve(header_value.size() + 256);
    }
    result.value.append(copied_up_to, text.data());
    write_policy(result.value, text, policy, plan);
    copied_up_to = text.data() + text.size();
  }
  if (result.changed) result.value.append(copied_up_to, header_value.data() + header_value.size());
  return result;
}

}  // namespace datadog::rum
