// The default query-string obfuscation regex (PROTOCOLS.md section 2), a
// constant of its own so that unit tests can hold it against the tracers'.
#pragma once

#include <string_view>

namespace datadog::trace {

// The sensitive keys of the default regex.
#define DD_SENSITIVE_KEYS                                                                                      \
  R"re((?:(?:old[-_]?|new[-_]?)?p(?:ass)?w(?:or)?d(?:1|2)?|pass(?:[-_]?phrase)?|secret|)re"                    \
  R"re((?:api[-_]?|private[-_]?|public[-_]?|access[-_]?|secret[-_]?|app(?:lication)?[-_]?)key(?:[-_]?id)?|)re" \
  R"re(token|consumer[-_]?(?:id|key|secret)|sign(?:ed|ature)?|auth(?:entication|orization)?))re"

// Matches where a match of the default regex's other alternatives than the
// JWT's starts (and a little more: each cut to what a match of it implies,
// e.g. a key and the first character of its value).
#define DD_OTHER_MATCH_STARTS                                                                                              \
  R"re((?:(?:"|%22)?)re" DD_SENSITIVE_KEYS                                                                                 \
  R"re((?:(?:\s|%20)*(?:=|%3D)[^&]|(?:"|%22)(?:\s|%20)*(?::|%3A)(?:\s|%20)*(?:"|%22)(?:%2[^2]|%[^2]|[^"%])+(?:"|%22))|)re" \
  R"re(bearer(?:\s|%20)+[a-z0-9._\-]|token(?::|%3A)[a-z0-9]{13}|gh[opsu]_[0-9a-zA-Z]{36}|)re"                              \
  R"re(-{5}BEGIN(?:[a-z\s]|%20)+PRIVATE(?:\s|%20)KEY-{5}[^\-]+-{5}END(?:[a-z\s]|%20)+PRIVATE(?:\s|%20)KEY|)re"             \
  R"re((?:ssh-(?:rsa|dss)|ecdsa-[a-z0-9]+-[a-z0-9]+)(?:\s|%20|%09)+(?:[a-z0-9/.+]|%2F|%5C|%2B){100}))re"

// The expression of dd-trace-php, dd-trace-go and the Datadog documentation
// (PCRE syntax: dd-trace-php runs it with PCRE too), with the same matches
// (checked against it on random queries), but in time linear in the query.
// The tracers' JWT alternative, ey[I-L](?:[\w=-]|%3D)+\.ey[I-L]..., rescans
// a run of [\w=-] from every "eyJ" in it: the square of the run's length
// (0.2 s of CPU for 16 KB of "eyJ", JIT-compiled). Every "eyJ" of a run
// ends the first part at the run's end, so when the first "eyJ" fails, all
// the others fail too: (*SKIP) resumes the search at the run's end, unless
// another alternative could match inside the run (the scan looks for that
// at each position), where the search resumes instead.
inline constexpr std::string_view default_query_string_regex =
    // A sensitive key, possibly quoted ...
    R"re((?i)(?:(?:"|%22)?))re" DD_SENSITIVE_KEYS
    // ... with its value, as key=value or "key":"value" ...
    R"re((?:(?:\s|%20)*(?:=|%3D)[^&]+|(?:"|%22)(?:\s|%20)*(?::|%3A)(?:\s|%20)*(?:"|%22)(?:%2[^2]|%[^2]|[^"%])+(?:"|%22))|)re"
    // ... or a value that is a secret by its shape: bearer token, token:<13>,
    // GitHub token, JWT, PEM private key, SSH public key.
    R"re((?:bearer(?:\s|%20)+[a-z0-9._\-]+|token(?::|%3A)[a-z0-9]{13}|gh[opsu]_[0-9a-zA-Z]{36}|)re"
    R"re(ey[I-L](?=[\w=-]|%3D)(?:(?!)re" DD_OTHER_MATCH_STARTS R"re()(?:[\w=-]|%3D))*+)re"
    R"re((?:(?=)re" DD_OTHER_MATCH_STARTS R"re()(?:[\w=-]|%3D)*+|(*SKIP)))re"
    R"re(\.ey[I-L](?:[\w=-]|%3D)++(?:\.(?:[\w.+/=-]|%3D|%2F|%2B)++)?|)re"
    R"re(-{5}BEGIN(?:[a-z\s]|%20)+PRIVATE(?:\s|%20)KEY-{5}[^\-]+-{5}END(?:[a-z\s]|%20)+PRIVATE(?:\s|%20)KEY(?:-{5})?(?:\n|%0A)?|)re"
    R"re((?:ssh-(?:rsa|dss)|ecdsa-[a-z0-9]+-[a-z0-9]+)(?:\s|%20|%09)+(?:[a-z0-9/.+]|%2F|%5C|%2B){100,}(?:=|%3D)*)re"
    R"re((?:(?:\s|%20|%09)+[a-z0-9._-]+)?))re";

#undef DD_OTHER_MATCH_STARTS
#undef DD_SENSITIVE_KEYS

}  // namespace datadog::trace
