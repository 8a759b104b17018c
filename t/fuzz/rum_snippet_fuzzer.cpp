// Whatever names and values a datadog_rum_config block holds, the snippet's
// script is printable ASCII without '<', '>' or '&' (so nothing in it can
// close the <script> or open a comment), its init object and SDK URL parse
// back as JSON to what was configured, its hash is its SHA-256, and the CSP
// sources it names are single source expressions.
//
// Input: lines. 1: the major ("v6"); 2: the SDK URL override (may be empty);
// then one option per line: the key, then each value after a tab.
#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fuzz_check.hpp"
#include "rum/rum_snippet.hpp"

using datadog::rum::build_rum_snippet;
using datadog::rum::RumOption;
using datadog::rum::RumSnippet;
using Json = nlohmann::ordered_json;

namespace {

std::string sha256_source(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  FUZZ_CHECK(EVP_Digest(text.data(), text.size(), digest.data(), &digest_size, EVP_sha256(), nullptr) == 1);
  std::array<unsigned char, 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1> base64{};
  const int base64_size = EVP_EncodeBlock(base64.data(), digest.data(), static_cast<int>(digest_size));
  return "'sha256-" + std::string(reinterpret_cast<const char*>(base64.data()), base64_size) + "'";
}

void check_source_expression(std::string_view source) {
  FUZZ_CHECK(!source.empty());
  for (const char c : source) FUZZ_CHECK(c > 0x20 && c < 0x7f && c != ';' && c != ',');
}

void check_snippet(const RumSnippet& snippet, const std::vector<RumOption>& options,
                   std::string_view sdk_url_override) {
  const std::string_view body = snippet.script_body;
  for (const char c : body) {
    FUZZ_CHECK(c >= 0x20 && c < 0x7f);
    FUZZ_CHECK(c != '<' && c != '>' && c != '&');
  }
  FUZZ_CHECK(snippet.script_hash == sha256_source(body));
  check_source_expression(snippet.sdk_origin);
  check_source_expression(snippet.intake_origin);
  if (sdk_url_override.empty()) {
    FUZZ_CHECK(snippet.sdk_url.starts_with("https://www.datadoghq-browser-agent.com/"));
  } else {
    FUZZ_CHECK(snippet.sdk_url == sdk_url_override);
  }

  // ...DD_RUM.init(<init>)})})(window,document,<url>);
  const std::string_view open = "w.DD_RUM.init(";
  const std::string_view close = ")})})(window,document,";
  const std::size_t init_begin = body.find(open);
  FUZZ_CHECK(init_begin != std::string_view::npos);
  const std::size_t init_start = init_begin + open.size();
  FUZZ_CHECK(body.ends_with(");"));
  // The URL is a JSON string: its closing quote ends it, and only "\\\"" inside
  // can look like one; scan back for the quote that opens it.
  const std::string_view before_end = body.substr(0, body.size() - 2);
  std::size_t url_start = std::string_view::npos;
  for (std::size_t at = before_end.rfind(close); at != std::string_view::npos && at >= init_start;
       at = at == 0 ? std::string_view::npos : before_end.rfind(close, at - 1)) {
    const Json url = Json::parse(before_end.substr(at + close.size()), nullptr, /*allow_exceptions=*/false);
    const Json init = Json::parse(before_end.substr(init_start, at - init_start), nullptr, false);
    if (url.is_string() && init.is_object()) {
      url_start = at;
      FUZZ_CHECK(url.get<std::string>() == snippet.sdk_url);
      FUZZ_CHECK(init.size() == options.size());
      std::size_t i = 0;
      for (const auto& [key, value] : init.items()) {
        FUZZ_CHECK(key == options[i].key);
        if (value.is_string()) {
          FUZZ_CHECK(options[i].values.size() == 1 && value.get<std::string>() == options[i].values[0]);
        }
        ++i;
      }
      break;
    }
  }
  FUZZ_CHECK(url_start != std::string_view::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::string_view> lines = split({reinterpret_cast<const char*>(data), size}, '\n');
  const std::string_view version = lines[0];
  const std::string_view sdk_url = lines.size() > 1 ? lines[1] : std::string_view{};
  std::vector<RumOption> options;
  for (std::size_t i = 2; i < lines.size() && options.size() < 64; ++i) {
    const std::vector<std::string_view> fields = split(lines[i], '\t');
    RumOption option{std::string(fields[0]), {}};
    for (std::size_t f = 1; f < fields.size(); ++f) option.values.emplace_back(fields[f]);
    options.push_back(std::move(option));
  }

  const auto result = build_rum_snippet(version, options, sdk_url);
  if (const auto* error = std::get_if<std::string>(&result)) {
    FUZZ_CHECK(!error->empty());
    return 0;
  }
  check_snippet(std::get<RumSnippet>(result), options, sdk_url);
  return 0;
}
