// Option typing follows the SDK's own init types, so a block that passes
// `nginx -t` is one the SDK accepts; the script is built so that no option value
// can end it or change what it does.
#include "rum/rum_snippet.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <exception>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace datadog::rum {
namespace {

using Json = nlohmann::ordered_json;  // keeps the block's key order

using Majors = unsigned;  // a set of major versions, bit N for vN
constexpr Majors major_bit(int major) { return 1u << major; }
constexpr Majors v5 = major_bit(5);
constexpr Majors v6 = major_bit(6);
constexpr Majors v7 = major_bit(7);
constexpr Majors all_majors = v5 | v6 | v7;

enum class OptionKind {
  string,
  percentage,        // number from 0 to 100
  boolean,           // true or false
  array,             // one element per value
  string_or_array,   // one value: a string; several: an array
  boolean_or_array,  // one true/false value: a boolean; otherwise an array
  object,            // one JSON object literal
  code,              // takes JavaScript functions: cannot come from a configuration file
};

struct KnownOption {
  std::string_view key;
  OptionKind kind;
  Majors majors;
};

// RumInitConfiguration and the InitConfiguration it extends, in @datadog/browser-rum
// 5.35.1, 6.33.0 and 7.16.2 (browser-core / browser-rum-core src/domain/configuration).
// A key listed for other majors only was removed or not yet added in this one.
constexpr KnownOption known_options[] = {
    {"applicationId", OptionKind::string, all_majors},
    {"clientToken", OptionKind::string, all_majors},
    {"site", OptionKind::string, all_majors},
    {"service", OptionKind::string, all_majors},
    {"env", OptionKind::string, all_majors},
    {"version", OptionKind::string, all_majors},
    {"proxy", OptionKind::string, all_majors},
    {"actionNameAttribute", OptionKind::string, all_majors},
    {"datacenter", OptionKind::string, all_majors},
    {"defaultPrivacyLevel", OptionKind::string, all_majors},
    {"remoteConfigurationId", OptionKind::string, all_majors},
    {"subdomain", OptionKind::string, all_majors},
    {"traceContextInjection", OptionKind::string, all_majors},
    {"trackingConsent", OptionKind::string, all_majors},
    {"workerUrl", OptionKind::string, all_majors},
    {"internalAnalyticsSubdomain", OptionKind::string, v5 | v6},
    {"remoteConfigurationProxy", OptionKind::string, v6 | v7},
    {"sdkVersion", OptionKind::string, v6 | v7},
    {"source", OptionKind::string, v6 | v7},
    {"variant", OptionKind::string, v6 | v7},
    {"sessionPersistence", OptionKind::string, v5},
    {"sessionPersistence", OptionKind::string_or_array, v6 | v7},

    {"sessionSampleRate", OptionKind::percentage, all_majors},
    {"sessionReplaySampleRate", OptionKind::percentage, all_majors},
    {"traceSampleRate", OptionKind::percentage, all_majors},
    {"telemetrySampleRate", OptionKind::percentage, all_majors},
    {"telemetryConfigurationSampleRate", OptionKind::percentage, all_majors},
    {"telemetryUsageSampleRate", OptionKind::percentage, all_majors},
    {"profilingSampleRate", OptionKind::percentage, v6 | v7},

    {"trackUserInteractions", OptionKind::boolean, all_majors},
    {"trackResources", OptionKind::boolean, all_majors},
    {"trackLongTasks", OptionKind::boolean, all_majors},
    {"trackViewsManually", OptionKind::boolean, all_majors},
    {"trackSessionAcrossSubdomains", OptionKind::boolean, all_majors},
    {"silentMultipleInit", OptionKind::boolean, all_majors},
    {"compressIntakeRequests", OptionKind::boolean, all_majors},
    {"allowUntrustedEvents", OptionKind::boolean, all_majors},
    {"storeContextsAcrossPages", OptionKind::boolean, all_majors},
    {"startSessionReplayRecordingManually", OptionKind::boolean, all_majors},
    {"enablePrivacyForActionName", OptionKind::boolean, all_majors},
    {"usePartitionedCrossSiteSessionCookie", OptionKind::boolean, all_majors},
    {"useSecureSessionCookie", OptionKind::boolean, all_majors},
    {"useCrossSiteSessionCookie", OptionKind::boolean, v5},
    {"allowFallbackToLocalStorage", OptionKind::boolean, v5 | v6},
    {"trackAnonymousUser", OptionKind::boolean, v6 | v7},
    {"propagateTraceBaggage", OptionKind::boolean, v6 | v7},
    {"trackBfcacheViews", OptionKind::boolean, v6},
    {"trackEarlyRequests", OptionKind::boolean, v6},
    {"betaTrackActionsInShadowDom", OptionKind::boolean, v6},
    {"betaEncodeCookieOptions", OptionKind::boolean, v6},
    {"betaEnableViewUpdates", OptionKind::boolean, v7},
    {"betaTrackWebSockets", OptionKind::boolean, v7},

    {"allowedTracingUrls", OptionKind::array, all_majors},
    {"excludedActivityUrls", OptionKind::array, all_majors},
    {"enableExperimentalFeatures", OptionKind::array, all_majors},
    {"allowedTrackingOrigins", OptionKind::array, v6 | v7},
    {"allowedGraphQlUrls", OptionKind::array, v6 | v7},
    {"trackFeatureFlagsForEvents", OptionKind::array, v6 | v7},
    {"trackResourceHeaders", OptionKind::boolean_or_array, v6 | v7},

    {"replica", OptionKind::object, all_majors},
    {"remoteConfiguration", OptionKind::object, v7},
    {"sessionReplayCanvasRecording", OptionKind::object, v7},

    {"beforeSend", OptionKind::code, all_majors},
    {"plugins", OptionKind::code, all_majors},
};

struct Site {
  std::string_view name;
  std::string_view cdn_region;  // empty: the CDN's flat layout (datadog-rum-vN.js)
};

constexpr Site sites[] = {
    {"datadoghq.com", "us1"}, {"us3.datadoghq.com", "us3"}, {"us5.datadoghq.com", "us5"},
    {"datadoghq.eu", "eu1"},  {"ap1.datadoghq.com", "ap1"}, {"ap2.datadoghq.com", "ap2"},
    {"ddog-gov.com", ""},
};
constexpr std::string_view default_site = "datadoghq.com";
constexpr std::string_view valid_sites =
    "datadoghq.com, us3.datadoghq.com, us5.datadoghq.com, datadoghq.eu, ap1.datadoghq.com, "
    "ap2.datadoghq.com or ddog-gov.com";
constexpr std::string_view cdn_origin = "https://www.datadoghq-browser-agent.com";

// Thrown by the option readers and caught once in build_rum_snippet.
struct ConfigError {
  std::string sentence;
};

std::string in_quotes(std::string_view text) {
  std::string out = "\"";
  out.append(text);
  out += '"';
  return out;
}

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    char32_t code = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
      code = lead & 0x1Fu;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      code = lead & 0x0Fu;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      code = lead & 0x07u;
    } else {
      return false;
    }
    if (text.size() - i < length) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0u) != 0x80u) return false;
      code = (code << 6) | (next & 0x3Fu);
    }
    const bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
    const bool surrogate = code >= 0xD800 && code <= 0xDFFF;
    if (overlong || surrogate || code > 0x10FFFF) return false;
    i += length;
  }
  return true;
}

// JSON text that is also safe anywhere in an inline <script>: no byte outside
// ASCII (the page's charset is unknown), and none of < > & that could close the
// element or open a comment. Outside strings JSON has none of these characters,
// so escaping them in the serialised text only touches string contents.
std::string script_safe_json(const Json& value) {
  const std::string text = value.dump(-1, ' ', /*ensure_ascii=*/true);
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '<':
        out += "\\u003c";
        break;
      case '>':
        out += "\\u003e";
        break;
      case '&':
        out += "\\u0026";
        break;
      default:
        out += c;
    }
  }
  return out;
}

const KnownOption* find_option(std::string_view key, int major) {
  for (const auto& option : known_options) {
    if (option.key == key && (option.majors & major_bit(major)) != 0) return &option;
  }
  return nullptr;
}

// "v6", "v5 and v6": the majors whose SDK knows `key` (none: an unknown key).
std::string majors_knowing(std::string_view key) {
  Majors majors = 0;
  for (const auto& option : known_options) {
    if (option.key == key) majors |= option.majors;
  }
  std::vector<std::string> names;
  for (const int n : {5, 6, 7}) {
    if ((majors & major_bit(n)) != 0) names.push_back("v" + std::to_string(n));
  }
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += i + 1 == names.size() ? " and " : ", ";
    text += names[i];
  }
  return text;
}

Json percentage(std::string_view key, std::string_view value) {
  const auto fail = [&] {
    return ConfigError{"invalid percentage " + in_quotes(value) + " for " + in_quotes(key) +
                       " (expected a number from 0 to 100)"};
  };
  // Plain decimal only: from_chars alone would also take "1e2", "inf" or "nan".
  const std::size_t dot = value.find('.');
  const std::string_view whole = value.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? "" : value.substr(dot + 1);
  const auto all_digits = [](std::string_view s) { return s.find_first_not_of("0123456789") == s.npos; };
  if (whole.empty() || !all_digits(whole) || !all_digits(fraction) ||
      (dot != std::string_view::npos && fraction.empty())) {
    throw fail();
  }
  double number = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (error != std::errc{} || end != value.data() + value.size() || number > 100) throw fail();
  if (dot == std::string_view::npos) return static_cast<std::uint64_t>(number);  // 100, not 100.0
  return number;
}

Json boolean(std::string_view key, std::string_view value) {
  if (value == "true") return true;
  if (value == "false") return false;
  throw ConfigError{"invalid boolean " + in_quotes(value) + " for " + in_quotes(key) +
                    " (expected true or false)"};
}

bool looks_like_json(std::string_view value) { return value.starts_with('{') || value.starts_with('['); }

Json json_literal(std::string_view key, std::string_view value) {
  Json parsed = Json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !(parsed.is_object() || parsed.is_array())) {
    throw ConfigError{"invalid JSON " + in_quotes(value) + " for " + in_quotes(key) +
                      " (expected a JSON object or array)"};
  }
  return parsed;
}

Json array_of(std::string_view key, const std::vector<std::string>& values) {
  Json array = Json::array();
  for (const auto& value : values) {
    if (!looks_like_json(value)) {
      array.push_back(value);
      continue;
    }
    Json parsed = json_literal(key, value);
    if (parsed.is_array()) {
      for (auto& element : parsed) array.push_back(std::move(element));
    } else {
      array.push_back(std::move(parsed));
    }
  }
  return array;
}

const std::string& single_value(std::string_view key, const std::vector<std::string>& values) {
  if (values.size() != 1) {
    throw ConfigError{"too many values for " + in_quotes(key) + " (expected one, found " +
                      std::to_string(values.size()) + ")"};
  }
  return values.front();
}

Json typed_value(const RumOption& option, int major) {
  const std::string_view key = option.key;
  const auto& values = option.values;
  const KnownOption* known = find_option(key, major);
  if (known == nullptr) {
    const std::string majors = majors_knowing(key);
    if (!majors.empty()) {
      throw ConfigError{"RUM option " + in_quotes(key) + " is not supported by v" + std::to_string(major) +
                        " (only by " + majors + ")"};
    }
    const std::string& value = single_value(key, values);
    if (key.ends_with("SampleRate")) return percentage(key, value);
    if (looks_like_json(value)) return json_literal(key, value);
    return value;
  }
  switch (known->kind) {
    case OptionKind::string:
      return single_value(key, values);
    case OptionKind::percentage:
      return percentage(key, single_value(key, values));
    case OptionKind::boolean:
      return boolean(key, single_value(key, values));
    case OptionKind::array:
      return array_of(key, values);
    case OptionKind::string_or_array:
      if (values.size() == 1 && !looks_like_json(values.front())) return values.front();
      return array_of(key, values);
    case OptionKind::boolean_or_array:
      if (values.size() == 1 && (values.front() == "true" || values.front() == "false")) {
        return values.front() == "true";
      }
      return array_of(key, values);
    case OptionKind::object: {
      const std::string& value = single_value(key, values);
      Json parsed = Json::parse(value, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_discarded() || !parsed.is_object()) {
        throw ConfigError{"invalid value " + in_quotes(value) + " for " + in_quotes(key) +
                          " (expected a JSON object)"};
      }
      return parsed;
    }
    case OptionKind::code:
      break;
  }
  throw ConfigError{"unsupported RUM option " + in_quotes(key) +
                    " (it takes JavaScript functions, which a configuration file cannot give)"};
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_host_name_char(char c) {
  c = lower(c);
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (lower(text[i]) != prefix[i]) return false;
  }
  return true;
}

// The CSP source for a URL: "scheme://host[:port]" (lower case, without user
// info) for an absolute http(s) URL, "'self'" for a path; nothing for anything
// else, including "//host/..." whose scheme is the page's.
std::optional<std::string> csp_source_of(std::string_view url) {
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) return std::nullopt;
  }
  if (url.starts_with('/') && !url.starts_with("//")) return "'self'";
  std::string_view scheme;
  if (starts_with_ignoring_case(url, "https://")) {
    scheme = "https://";
  } else if (starts_with_ignoring_case(url, "http://")) {
    scheme = "http://";
  } else {
    return std::nullopt;
  }
  std::string_view authority = url.substr(scheme.size());
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const auto at = authority.rfind('@'); at != authority.npos) authority.remove_prefix(at + 1);
  if (authority.empty() || authority.starts_with(':')) return std::nullopt;
  std::string source(scheme);
  for (const char c : authority) {
    // Host name, IPv6 literal in brackets, port: nothing that could end a CSP source.
    if (!(is_host_name_char(c) || c == ':' || c == '[' || c == ']')) return std::nullopt;
    source += lower(c);
  }
  return source;
}

// As the SDK's endpoint builder computes it (buildEndpointHost / buildEndpointUrl).
std::string intake_origin_of(std::string_view site, const Json& init, int major) {
  if (const auto proxy = init.find("proxy"); proxy != init.end()) {
    const auto& url = proxy->get_ref<const std::string&>();
    auto source = csp_source_of(url);
    if (!source) {
      throw ConfigError{"invalid URL " + in_quotes(url) +
                        " for \"proxy\" (expected an http:// or https:// URL, or a path starting with /)"};
    }
    return *source;
  }
  if (const auto sub = init.find("internalAnalyticsSubdomain");
      sub != init.end() && (major_bit(major) & (v5 | v6)) != 0 && site == default_site) {
    const auto& label = sub->get_ref<const std::string&>();
    if (label.empty() || !std::all_of(label.begin(), label.end(), is_host_name_char)) {
      throw ConfigError{"invalid value " + in_quotes(label) +
                        " for \"internalAnalyticsSubdomain\" (expected a host name label)"};
    }
    std::string origin = "https://";
    for (const char c : label) origin += lower(c);
    return origin + "." + std::string(default_site);
  }
  const std::size_t last_dot = site.rfind('.');
  std::string host = "https://browser-intake-";
  for (const char c : site.substr(0, last_dot)) host += c == '.' ? '-' : c;
  host.append(site.substr(last_dot));
  return host;
}

std::string cdn_url(const Site& site, int major) {
  const std::string n = std::to_string(major);
  if (site.cdn_region.empty()) return std::string(cdn_origin) + "/datadog-rum-v" + n + ".js";
  return std::string(cdn_origin) + "/" + std::string(site.cdn_region) + "/v" + n + "/datadog-rum.js";
}

// The CDN async setup of Datadog's documentation, made safe to run twice: the
// SDK is requested only by whoever creates the DD_RUM stub, and the init call
// waits in the stub's `q` until the SDK replaces the stub and runs the queue.
std::string script_body_for(int major, const std::string& init_json, const std::string& sdk_url) {
  std::string body =
      "(function(w,d,u){var r=w.DD_RUM;"
      "if(!r){r=w.DD_RUM={q:[],onReady:function(c){r.q.push(c)}};"
      "var s=d.createElement(\"script\");s.async=true;";
  // v7 bundles load their chunks as ES modules, which needs a CORS-mode script.
  if (major >= 7) body += "s.crossOrigin=\"anonymous\";";
  body +=
      "s.src=u;(d.head||d.documentElement).appendChild(s)}"
      "r.onReady(function(){w.DD_RUM.init(";
  body += init_json;
  body += ")})})(window,document,";
  body += script_safe_json(Json(sdk_url));
  body += ");";
  return body;
}

std::string csp_hash_of(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &digest_size, EVP_sha256(), nullptr) != 1) {
    throw ConfigError{"cannot compute the SHA-256 of the RUM snippet (OpenSSL error)"};
  }
  std::array<unsigned char, 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1> base64{};
  const int base64_size = EVP_EncodeBlock(base64.data(), digest.data(), static_cast<int>(digest_size));
  std::string hash = "'sha256-";
  hash.append(reinterpret_cast<const char*>(base64.data()), static_cast<std::size_t>(base64_size));
  hash += '\'';
  return hash;
}

RumSnippet build(std::string_view version, const std::vector<RumOption>& options,
                 std::string_view sdk_url_override) {
  RumSnippet snippet;
  if (version == "v5" || version == "v6" || version == "v7") {
    snippet.major = version[1] - '0';
  } else {
    throw ConfigError{"invalid RUM major version " + in_quotes(version) + " (expected v5, v6 or v7)"};
  }
  Json init = Json::object();
  for (const auto& option : options) {
    if (!is_valid_utf8(option.key)) throw ConfigError{"invalid UTF-8 in a RUM option name"};
    if (option.values.empty()) throw ConfigError{"missing value for RUM option " + in_quotes(option.key)};
    for (const auto& value : option.values) {
      if (!is_valid_utf8(value)) throw ConfigError{"invalid UTF-8 in the value of " + in_quotes(option.key)};
    }
    if (init.contains(option.key)) throw ConfigError{"duplicate RUM option " + in_quotes(option.key)};
    init[option.key] = typed_value(option, snippet.major);
  }
  for (const std::string_view required : {"applicationId", "clientToken"}) {
    if (!init.contains(required)) throw ConfigError{"missing RUM option " + in_quotes(required)};
  }
  if (init.contains("allowedTracingUrls") && !init.contains("service")) {
    throw ConfigError{"missing RUM option \"service\" (required when \"allowedTracingUrls\" is set)"};
  }

  const std::string site_name = init.value("site", std::string(default_site));
  const Site* site = nullptr;
  for (const auto& candidate : sites) {
    if (candidate.name == site_name) site = &candidate;
  }
  if (site == nullptr) {
    throw ConfigError{"unknown RUM site " + in_quotes(site_name) + " (expected " + std::string(valid_sites) +
                      ")"};
  }

  if (sdk_url_override.empty()) {
    snippet.sdk_url = cdn_url(*site, snippet.major);
    snippet.sdk_origin = cdn_origin;
  } else {
    auto source = is_valid_utf8(sdk_url_override) ? csp_source_of(sdk_url_override) : std::nullopt;
    if (!source) {
      throw ConfigError{"invalid RUM SDK URL " + in_quotes(sdk_url_override) +
                        " (expected an http:// or https:// URL, or a path starting with /)"};
    }
    snippet.sdk_url = sdk_url_override;
    snippet.sdk_origin = std::move(*source);
  }
  snippet.intake_origin = intake_origin_of(site->name, init, snippet.major);
  if (const auto replay = init.find("sessionReplaySampleRate"); replay != init.end()) {
    snippet.session_replay = replay->get<double>() > 0;
  }
  snippet.script_body = script_body_for(snippet.major, script_safe_json(init), snippet.sdk_url);
  snippet.script_hash = csp_hash_of(snippet.script_body);
  return snippet;
}

}  // namespace

std::variant<RumSnippet, std::string> build_rum_snippet(std::string_view version,
                                                        const std::vector<RumOption>& options,
                                                        std::string_view sdk_url_override) noexcept {
  try {
    return build(version, options, sdk_url_override);
  } catch (ConfigError& error) {
    return std::move(error.sentence);
  } catch (const std::exception& error) {
    return std::string("cannot build the RUM snippet: ") + error.what();
  } catch (...) {
    return std::string("cannot build the RUM snippet");
  }
}

}  // namespace datadog::rum
