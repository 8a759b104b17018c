// Amending Content-Security-Policy headers for the RUM snippet: the nonce our
// script borrows, the least the policy must gain, and everything else left as
// it was.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "rum/csp_policy.hpp"

using datadog::rum::amend_csp;
using datadog::rum::CspAmendment;
using datadog::rum::CspNeeds;
using datadog::rum::find_script_nonce;

namespace {

constexpr std::string_view kHash = "'sha256-OurLoaderHash+/='";
constexpr std::string_view kSdk = "https://www.datadoghq-browser-agent.com";
constexpr std::string_view kIntake = "https://browser-intake-datadoghq.com";
constexpr std::string_view kUnchanged = "(unchanged)";

CspNeeds rum_needs(bool replay = false) { return CspNeeds{kHash, kSdk, kIntake, replay}; }

// The amended header, or kUnchanged.
std::string amended(std::string_view header, std::string_view our_nonce = {},
                    const CspNeeds& needs = rum_needs()) {
  const CspAmendment result = amend_csp(header, our_nonce, needs);
  if (!result.changed) {
    EXPECT_EQ(result.value, "");
    return std::string(kUnchanged);
  }
  return result.value;
}

std::string amended_for_replay(std::string_view header) { return amended(header, {}, rum_needs(true)); }

// A script-src list that runs our inline script already ('unsafe-inline'
// appended): only the SDK origin can be missing.
std::string with_sdk_only(std::string_view script_src) {
  return amended(std::string(script_src) + " 'unsafe-inline'");
}

}  // namespace

// --- find_script_nonce ------------------------------------------------------------

TEST(RumCspNonce, ReturnsTheNonceOfScriptSrc) {
  EXPECT_EQ(find_script_nonce("default-src 'self'; script-src 'self' 'nonce-r4nd0m+/=' 'strict-dynamic'"),
            "r4nd0m+/=");
}

TEST(RumCspNonce, FollowsTheEffectiveDirectiveForScriptElements) {
  EXPECT_EQ(find_script_nonce("script-src 'nonce-aaa'; script-src-elem 'nonce-bbb'"), "bbb");
  EXPECT_EQ(find_script_nonce("default-src 'nonce-ccc'"), "ccc");
  EXPECT_EQ(find_script_nonce("default-src 'nonce-ccc'; script-src 'self'"), "");
  EXPECT_EQ(find_script_nonce("script-src-elem 'self'; script-src 'nonce-ddd'"), "");
  EXPECT_EQ(find_script_nonce("style-src 'nonce-eee'; img-src 'self'"), "");
}

TEST(RumCspNonce, KeywordIsCaseInsensitiveButTheValueIsKeptAsWritten) {
  EXPECT_EQ(find_script_nonce("SCRIPT-SRC 'NONCE-MiXeD'"), "MiXeD");
}

TEST(RumCspNonce, FirstOccurrenceOfADirectiveWins) {
  EXPECT_EQ(find_script_nonce("script-src 'self'; script-src 'nonce-ignored'"), "");
}

TEST(RumCspNonce, TakesTheFirstPolicyThatOffersOne) {
  EXPECT_EQ(find_script_nonce("script-src 'nonce-first', script-src 'nonce-second'"), "first");
  EXPECT_EQ(find_script_nonce("img-src 'none', script-src 'nonce-second'"), "second");
  EXPECT_EQ(find_script_nonce("script-src 'self', default-src 'nonce-third'"), "third");
}

TEST(RumCspNonce, SkipsWhatIsNotANonceSource) {
  // Only base64 characters come back: the value goes into an HTML attribute.
  EXPECT_EQ(
      find_script_nonce("script-src 'nonce-' 'nonce-x\"><script>' 'nonce-abc===' nonce-bare 'nonce-ok'"),
      "ok");
  EXPECT_EQ(find_script_nonce("script-src 'nonce-abc"), "");
  EXPECT_EQ(find_script_nonce(""), "");
  EXPECT_EQ(find_script_nonce(" ;; , ;"), "");
}

// --- the inline loader ------------------------------------------------------------

TEST(RumCspInline, NoScriptOrConnectRestrictionMeansNoChange) {
  EXPECT_EQ(amended("img-src 'self'; frame-ancestors 'none'; upgrade-insecure-requests"), kUnchanged);
}

TEST(RumCspInline, DefaultSrcGetsScriptSrcAndConnectSrcCopiesThatCarryTheAdditions) {
  EXPECT_EQ(amended("default-src 'self'"),
            "default-src 'self'; script-src 'self' 'sha256-OurLoaderHash+/=' "
            "https://www.datadoghq-browser-agent.com; "
            "connect-src 'self' https://browser-intake-datadoghq.com; worker-src 'self'");
}

TEST(RumCspInline, NoncePolicyWithOurNonceOnlyGainsHosts) {
  const std::string header = "script-src 'nonce-r4nd0m' 'self'; connect-src 'self'; object-src 'none'";
  ASSERT_EQ(find_script_nonce(header), "r4nd0m");
  EXPECT_EQ(amended(header, "r4nd0m"),
            "script-src 'nonce-r4nd0m' 'self' https://www.datadoghq-browser-agent.com; "
            "connect-src 'self' https://browser-intake-datadoghq.com; object-src 'none'; "
            "worker-src 'nonce-r4nd0m' 'self'");
}

TEST(RumCspInline, NoncePolicyWithoutOurNonceGainsTheHash) {
  EXPECT_EQ(amended("script-src 'nonce-r4nd0m' 'self' https:", "another"),
            "script-src 'nonce-r4nd0m' 'self' https: 'sha256-OurLoaderHash+/='");
}

TEST(RumCspInline, StrictDynamicWithOurNonceNeedsNoHost) {
  EXPECT_EQ(amended("script-src 'nonce-r4nd0m' 'strict-dynamic' https: 'unsafe-inline'; object-src 'none'; "
                    "base-uri 'none'",
                    "r4nd0m"),
            kUnchanged);
}

TEST(RumCspInline, StrictDynamicWithoutOurNonceNeedsOnlyTheHash) {
  EXPECT_EQ(amended("script-src 'nonce-r4nd0m' 'strict-dynamic'; object-src 'none'"),
            "script-src 'nonce-r4nd0m' 'strict-dynamic' 'sha256-OurLoaderHash+/='; object-src 'none'");
}

TEST(RumCspInline, UnsafeInlineAloneAlreadyRunsUsAndMustNotBeDisabledByAHash) {
  EXPECT_EQ(amended("script-src 'unsafe-inline' https:"), kUnchanged);
  EXPECT_EQ(amended("script-src 'unsafe-inline' *"), kUnchanged);
  EXPECT_EQ(amended("script-src 'self' 'unsafe-inline'"),
            "script-src 'self' 'unsafe-inline' https://www.datadoghq-browser-agent.com; "
            "worker-src 'self' 'unsafe-inline'");
}

TEST(RumCspInline, UnsafeInlineNextToAHashOrStrictDynamicDoesNotCount) {
  EXPECT_EQ(amended("script-src 'unsafe-inline' 'sha256-PageScript=' https:"),
            "script-src 'unsafe-inline' 'sha256-PageScript=' https: 'sha256-OurLoaderHash+/='");
  EXPECT_EQ(amended("script-src 'unsafe-inline' 'strict-dynamic'"),
            "script-src 'unsafe-inline' 'strict-dynamic' 'sha256-OurLoaderHash+/='");
}

TEST(RumCspInline, MalformedNonceDoesNotOverrideUnsafeInline) {
  EXPECT_EQ(amended("script-src 'unsafe-inline' 'nonce-' https:"), kUnchanged);
}

TEST(RumCspInline, OurHashAlreadyThereInAnyCaseOrBase64url) {
  EXPECT_EQ(amended("script-src 'sha256-OurLoaderHash+/=' https:"), kUnchanged);
  EXPECT_EQ(amended("script-src 'SHA256-OurLoaderHash-_=' https:"), kUnchanged);
  EXPECT_EQ(amended("script-src 'sha256-ourloaderhash+/=' https:"),
            "script-src 'sha256-ourloaderhash+/=' https: 'sha256-OurLoaderHash+/='");
}

TEST(RumCspInline, ScriptSrcElemIsAmendedAndScriptSrcLeftAlone) {
  EXPECT_EQ(amended("script-src 'self'; script-src-elem 'self'"),
            "script-src 'self'; script-src-elem 'self' 'sha256-OurLoaderHash+/=' "
            "https://www.datadoghq-browser-agent.com");
  EXPECT_EQ(amended("script-src-elem 'unsafe-inline' https:; script-src 'none'"), kUnchanged);
}

TEST(RumCspInline, LoneNoneIsReplacedByTheAdditions) {
  EXPECT_EQ(amended("script-src 'none'; connect-src 'none'"),
            "script-src 'sha256-OurLoaderHash+/=' https://www.datadoghq-browser-agent.com; "
            "connect-src https://browser-intake-datadoghq.com; worker-src 'none'");
  EXPECT_EQ(
      amended("default-src 'none'"),
      "default-src 'none'; script-src 'sha256-OurLoaderHash+/=' https://www.datadoghq-browser-agent.com; "
      "connect-src https://browser-intake-datadoghq.com; worker-src 'none'");
  EXPECT_EQ(amended("script-src 'report-sample' 'none' 'NONE'; connect-src *"),
            "script-src 'report-sample' 'sha256-OurLoaderHash+/=' https://www.datadoghq-browser-agent.com; "
            "connect-src *; worker-src 'report-sample' 'none' 'NONE'");
}

TEST(RumCspInline, NoneNextToOtherSourcesHasNoEffectAndStays) {
  EXPECT_EQ(amended("script-src 'none' https://www.datadoghq-browser-agent.com"),
            "script-src 'none' https://www.datadoghq-browser-agent.com 'sha256-OurLoaderHash+/='");
  EXPECT_EQ(amended("script-src 'none' 'unsafe-inline' https:"), kUnchanged);
}

TEST(RumCspInline, EmptySourceListIsLikeNone) {
  EXPECT_EQ(amended("script-src; connect-src"),
            "script-src 'sha256-OurLoaderHash+/=' https://www.datadoghq-browser-agent.com; "
            "connect-src https://browser-intake-datadoghq.com; worker-src");
}

// --- the SDK script -----------------------------------------------------------------

TEST(RumCspSdk, StarAndSchemeSourcesCoverTheCdn) {
  EXPECT_EQ(with_sdk_only("script-src *"), kUnchanged);
  EXPECT_EQ(with_sdk_only("script-src https:"), kUnchanged);
  EXPECT_EQ(with_sdk_only("script-src https://*"), kUnchanged);
  EXPECT_EQ(with_sdk_only("script-src HTTP:"), kUnchanged);  // upgrades to https
  EXPECT_EQ(amended("script-src *"), "script-src * 'sha256-OurLoaderHash+/='");
  EXPECT_EQ(with_sdk_only("script-src data: blob: wss:"),
            "script-src data: blob: wss: 'unsafe-inline' https://www.datadoghq-browser-agent.com; "
            "worker-src data: blob: wss: 'unsafe-inline'");
}

TEST(RumCspSdk, HostSources) {
  EXPECT_EQ(with_sdk_only("script-src https://www.datadoghq-browser-agent.com"), kUnchanged);
  EXPECT_EQ(with_sdk_only("script-src HTTPS://WWW.DATADOGHQ-BROWSER-AGENT.COM"), kUnchanged);
  EXPECT_EQ(with_sdk_only("script-src www.datadoghq-browser-agent.com"), kUnchanged);
  EXPECT_EQ(with_sdk_only("script-src http://www.datadoghq-browser-agent.com"), kUnchanged);
  EXPECT_EQ(with_sdk_only("script-src https://*.datadoghq-browser-agent.com"), kUnchanged);
  EXPECT_EQ(with_sdk_only("script-src *.datadoghq-browser-agent.com"), kUnchanged);
  EXPECT_EQ(with_sdk_only("script-src https://www.datadoghq-browser-agent.com:443"), kUnchanged);
  EXPECT_EQ(with_sdk_only("script-src https://www.datadoghq-browser-agent.com:*"), kUnchanged);
  EXPECT_EQ(with_sdk_only("script-src https://www.datadoghq-browser-agent.com/us1/"), kUnchanged);
  EXPECT_EQ(with_sdk_only("script-src https://www.datadoghq-browser-agent.com/us1/v6/datadog-rum.js"),
            kUnchanged);
}

TEST(RumCspSdk, SourcesThatDoNotCoverTheCdn) {
  const std::string add = " 'unsafe-inline' https://www.datadoghq-browser-agent.com";
  for (const std::string_view source :
       {"datadoghq-browser-agent.com", "*.browser-agent.com", "https://www.datadoghq-browser-agent.com:8443",
        "https://www.datadoghq-browser-agent.com.evil.example", "ftp:", "'self'",
        "https://www.datadoghq-browser-agent.com.", "example.com:*"}) {
    SCOPED_TRACE(source);
    const std::string list = "script-src " + std::string(source);
    EXPECT_EQ(with_sdk_only(list), list + add + "; worker-src " + std::string(source) + " 'unsafe-inline'");
  }
}

TEST(RumCspSdk, PathIsCheckedWhenTheSdkIsKnownByItsUrl) {
  const std::string_view sdk_url = "https://www.datadoghq-browser-agent.com/eu1/v6/datadog-rum.js";
  const CspNeeds needs{kHash, sdk_url, kIntake, false};
  EXPECT_EQ(amended("script-src 'unsafe-inline' https://www.datadoghq-browser-agent.com/eu1/", {}, needs),
            kUnchanged);
  EXPECT_EQ(amended("script-src 'unsafe-inline' https://www.datadoghq-browser-agent.com/us1/", {}, needs),
            "script-src 'unsafe-inline' https://www.datadoghq-browser-agent.com/us1/ "
            "https://www.datadoghq-browser-agent.com/eu1/v6/datadog-rum.js; "
            "worker-src 'unsafe-inline' https://www.datadoghq-browser-agent.com/us1/");
}

TEST(RumCspSdk, SelfHostedSdkIsCoveredBySelf) {
  const CspNeeds needs{kHash, "'self'", kIntake, false};
  EXPECT_EQ(amended("script-src 'self' 'unsafe-inline'", {}, needs), kUnchanged);
  EXPECT_EQ(amended("script-src https: 'unsafe-inline'", {}, needs),
            "script-src https: 'unsafe-inline' 'self'; worker-src https: 'unsafe-inline'");
}

// --- the intake -------------------------------------------------------------------------

TEST(RumCspIntake, ConnectSrcElseDefaultSrc) {
  EXPECT_EQ(amended("connect-src 'self'"), "connect-src 'self' https://browser-intake-datadoghq.com");
  EXPECT_EQ(amended("connect-src https://*.datadoghq.com wss:"),
            "connect-src https://*.datadoghq.com wss: https://browser-intake-datadoghq.com");
  EXPECT_EQ(amended("connect-src https://browser-intake-datadoghq.com/api/"), kUnchanged);
  EXPECT_EQ(amended("default-src * 'unsafe-inline'"), kUnchanged);
  EXPECT_EQ(amended("connect-src *; default-src 'none'"),
            "connect-src *; default-src 'none'; script-src 'sha256-OurLoaderHash+/=' "
            "https://www.datadoghq-browser-agent.com; worker-src 'none'");
}

TEST(RumCspIntake, StrictDynamicDoesNotApplyToFetches) {
  EXPECT_EQ(amended("default-src 'strict-dynamic' 'nonce-abc'", "abc"),
            "default-src 'strict-dynamic' 'nonce-abc'; "
            "connect-src 'strict-dynamic' 'nonce-abc' https://browser-intake-datadoghq.com");
}

TEST(RumCspIntake, ProxiedThroughTheSameOrigin) {
  const CspNeeds needs{kHash, kSdk, "'self'", false};
  EXPECT_EQ(amended("connect-src 'self'", {}, needs), kUnchanged);
  EXPECT_EQ(amended("connect-src 'SELF'", {}, needs), kUnchanged);
  EXPECT_EQ(amended("connect-src *", {}, needs), kUnchanged);
  EXPECT_EQ(amended("connect-src https:", {}, needs), "connect-src https: 'self'");
  EXPECT_EQ(amended("connect-src https://browser-intake-datadoghq.com", {}, needs),
            "connect-src https://browser-intake-datadoghq.com 'self'");
}

// --- workers for session replay ------------------------------------------------------------

TEST(RumCspWorker, WorkerSrcGainsBlob) {
  EXPECT_EQ(amended_for_replay("worker-src 'self'; script-src * 'unsafe-inline'"),
            "worker-src 'self' blob:; script-src * 'unsafe-inline'");
  EXPECT_EQ(amended_for_replay("worker-src 'none'"), "worker-src blob:");
  EXPECT_EQ(amended_for_replay("worker-src BLOB:"), kUnchanged);
}

TEST(RumCspWorker, NeitherStarNorSelfCoversBlob) {
  EXPECT_EQ(amended_for_replay("worker-src * 'self'"), "worker-src * 'self' blob:");
}

TEST(RumCspWorker, FallbackGetsAWorkerSrcCopy) {
  EXPECT_EQ(amended_for_replay("child-src blob:; script-src * 'unsafe-inline'"), kUnchanged);
  EXPECT_EQ(amended_for_replay("child-src 'self'; script-src * 'unsafe-inline'"),
            "child-src 'self'; script-src * 'unsafe-inline'; worker-src 'self' blob:");
  EXPECT_EQ(amended_for_replay("script-src * 'unsafe-inline'"),
            "script-src * 'unsafe-inline'; worker-src * 'unsafe-inline' blob:");
  EXPECT_EQ(amended_for_replay("default-src * 'unsafe-inline'"),
            "default-src * 'unsafe-inline'; worker-src * 'unsafe-inline' blob:");
  EXPECT_EQ(
      amended_for_replay("default-src 'none'"),
      "default-src 'none'; script-src 'sha256-OurLoaderHash+/=' https://www.datadoghq-browser-agent.com; "
      "connect-src https://browser-intake-datadoghq.com; worker-src blob:");
}

TEST(RumCspWorker, WorkersKeepTheirSourcesWhenScriptSrcGainsTheSdk) {
  // Without replay, the SDK origin added to script-src must not reach workers.
  EXPECT_EQ(amended("script-src 'self' 'unsafe-inline'; child-src 'self'"),
            "script-src 'self' 'unsafe-inline' https://www.datadoghq-browser-agent.com; child-src 'self'");
  EXPECT_EQ(amended("script-src 'self' 'unsafe-inline'; worker-src 'self'"),
            "script-src 'self' 'unsafe-inline' https://www.datadoghq-browser-agent.com; worker-src 'self'");
  EXPECT_EQ(amended("script-src 'self'"),
            "script-src 'self' 'sha256-OurLoaderHash+/=' https://www.datadoghq-browser-agent.com; "
            "worker-src 'self'");
  EXPECT_EQ(amended("worker-src 'self'"), kUnchanged);
}

// --- how the header is read and written -------------------------------------------------------

TEST(RumCspStructure, LaterDuplicatesAreIgnoredAndKept) {
  EXPECT_EQ(amended("script-src 'self'; SCRIPT-SRC https://www.datadoghq-browser-agent.com 'unsafe-inline'"),
            "script-src 'self' 'sha256-OurLoaderHash+/=' https://www.datadoghq-browser-agent.com; "
            "SCRIPT-SRC https://www.datadoghq-browser-agent.com 'unsafe-inline'; worker-src 'self'");
}

TEST(RumCspStructure, NamesAndKeywordsInAnyCase) {
  EXPECT_EQ(amended("Script-Src 'SELF' 'Unsafe-Inline' HTTPS://WWW.DATADOGHQ-BROWSER-AGENT.COM; "
                    "Connect-Src 'Self' HTTPS://Browser-Intake-Datadoghq.com"),
            kUnchanged);
  EXPECT_EQ(amended("Connect-Src 'Self'"), "Connect-Src 'Self' https://browser-intake-datadoghq.com");
  EXPECT_EQ(
      amended("DEFAULT-SRC 'NONE'"),
      "DEFAULT-SRC 'NONE'; script-src 'sha256-OurLoaderHash+/=' https://www.datadoghq-browser-agent.com; "
      "connect-src https://browser-intake-datadoghq.com; worker-src 'NONE'");
}

TEST(RumCspStructure, EachPolicyOfAHeaderIsAmendedOnItsOwn) {
  EXPECT_EQ(amended("default-src 'self', script-src 'nonce-abc' 'strict-dynamic'; report-uri /csp", "abc"),
            "default-src 'self'; script-src 'self' 'sha256-OurLoaderHash+/=' "
            "https://www.datadoghq-browser-agent.com; "
            "connect-src 'self' https://browser-intake-datadoghq.com; worker-src 'self', "
            "script-src 'nonce-abc' 'strict-dynamic'; report-uri /csp");
  EXPECT_EQ(amended("img-src 'self' ,  connect-src 'none' ,script-src 'nonce-abc' 'strict-dynamic'", "abc"),
            "img-src 'self' ,  connect-src https://browser-intake-datadoghq.com ,"
            "script-src 'nonce-abc' 'strict-dynamic'");
}

TEST(RumCspStructure, ReportOnlyHeaderValueIsTreatedTheSame) {
  // Content-Security-Policy-Report-Only goes through the same function; what
  // only reports or configures stays as written.
  EXPECT_EQ(amended("default-src 'self'; report-uri https://csp.example/r?a=1; report-to csp-endpoint; "
                    "upgrade-insecure-requests; sandbox allow-scripts allow-same-origin"),
            "default-src 'self'; report-uri https://csp.example/r?a=1; report-to csp-endpoint; "
            "upgrade-insecure-requests; sandbox allow-scripts allow-same-origin; "
            "script-src 'self' 'sha256-OurLoaderHash+/=' https://www.datadoghq-browser-agent.com; "
            "connect-src 'self' https://browser-intake-datadoghq.com; worker-src 'self'");
}

TEST(RumCspStructure, SeparatorsAndWhitespaceAroundUntouchedTextStay) {
  EXPECT_EQ(amended("  img-src  *  ;script-src\t'self'  ;; ; connect-src 'self';  "),
            "  img-src  *  ;script-src 'self' 'sha256-OurLoaderHash+/=' "
            "https://www.datadoghq-browser-agent.com  ;; "
            "; connect-src 'self' https://browser-intake-datadoghq.com; worker-src 'self';  ");
}

// --- malformed input ----------------------------------------------------------------------------

TEST(RumCspMalformed, EmptyAndSeparatorOnlyHeaders) {
  for (const std::string_view header : {"", " ", "\t", ";", ";;;", ",", ",,, ;", " , ; , "}) {
    SCOPED_TRACE(header);
    EXPECT_EQ(amended(header), kUnchanged);
    EXPECT_EQ(amended_for_replay(header), kUnchanged);
  }
}

TEST(RumCspMalformed, ControlCharactersAndNonAsciiLeaveTheHeaderAlone) {
  using namespace std::string_literals;
  for (const std::string& header :
       {"script-src 'self'\x01"s, "script-src 'self'\r\n connect-src 'self'"s,
        "img-src 'self'\x7f; script-src"s, "script-src 'self'\0"s,
        "script-src 'self', connect-src https://ex\xc3\xa4mple.com"s, "script-src\f'self'"s}) {
    SCOPED_TRACE(header);
    EXPECT_EQ(amended(header), kUnchanged);
  }
}

TEST(RumCspMalformed, NeedsThatAreNotOneSourceExpressionAreNotAdded) {
  const CspNeeds needs{"sha256-NoQuotes=", "https://a.example; script-src *", "", true};
  EXPECT_EQ(amended("script-src 'self'; connect-src 'self'; worker-src blob:", {}, needs), kUnchanged);
  const CspNeeds comma{"'sha256-x,y'", "https://a.example,https://b.example", "'self' https:", false};
  EXPECT_EQ(amended("script-src 'self'; connect-src 'none'", {}, comma), kUnchanged);
}

TEST(RumCspMalformed, UnparsableSourcesNeverCountAsCover) {
  EXPECT_EQ(with_sdk_only("script-src https:// ://www.datadoghq-browser-agent.com *.*.com"),
            "script-src https:// ://www.datadoghq-browser-agent.com *.*.com 'unsafe-inline' "
            "https://www.datadoghq-browser-agent.com; worker-src https:// ://www.datadoghq-browser-agent.com "
            "*.*.com 'unsafe-inline'");
}

// --- properties over generated policies --------------------------------------------------------------

namespace {

struct ParsedDirective {
  std::string name;  // lowercase
  std::string text;  // trimmed, as written
  std::vector<std::string> tokens;
};
using ParsedPolicy = std::vector<ParsedDirective>;

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::vector<std::string> split_keep_empty(std::string_view text, char separator) {
  std::vector<std::string> pieces;
  std::size_t start = 0;
  for (std::size_t at; (at = text.find(separator, start)) != std::string_view::npos; start = at + 1) {
    pieces.emplace_back(text.substr(start, at - start));
  }
  pieces.emplace_back(text.substr(start));
  return pieces;
}

// Policies as lists of non-empty directives, in order, duplicates included.
std::vector<ParsedPolicy> parse_header(std::string_view header) {
  std::vector<ParsedPolicy> policies;
  for (const std::string& policy_text : split_keep_empty(header, ',')) {
    ParsedPolicy policy;
    for (const std::string& piece : split_keep_empty(policy_text, ';')) {
      std::size_t begin = 0;
      std::size_t end = piece.size();
      while (begin < end && is_space(piece[begin])) ++begin;
      while (end > begin && is_space(piece[end - 1])) --end;
      if (begin == end) continue;
      ParsedDirective directive;
      directive.text = piece.substr(begin, end - begin);
      std::size_t i = 0;
      while (i < directive.text.size()) {
        while (i < directive.text.size() && is_space(directive.text[i])) ++i;
        const std::size_t token_begin = i;
        while (i < directive.text.size() && !is_space(directive.text[i])) ++i;
        if (i > token_begin) directive.tokens.push_back(directive.text.substr(token_begin, i - token_begin));
      }
      directive.name = lowercase(directive.tokens.front());
      directive.tokens.erase(directive.tokens.begin());
      policy.push_back(std::move(directive));
    }
    policies.push_back(std::move(policy));
  }
  return policies;
}

const ParsedDirective* first_named(const ParsedPolicy& policy, std::string_view name) {
  for (const ParsedDirective& directive : policy) {
    if (directive.name == name) return &directive;
  }
  return nullptr;
}

bool is_lone_none(const std::vector<std::string>& tokens) {
  bool none = false;
  for (const std::string& token : tokens) {
    const std::string lower = lowercase(token);
    if (lower == "'none'") {
      none = true;
    } else if (lower != "'report-sample'") {
      return false;
    }
  }
  return none;
}

// What a directive may gain, by name.
std::vector<std::string> allowed_additions(std::string_view name, const CspNeeds& needs) {
  if (name == "script-src" || name == "script-src-elem") {
    return {std::string(needs.script_hash), std::string(needs.sdk_origin)};
  }
  if (name == "connect-src") return {std::string(needs.intake_origin)};
  if (name == "worker-src") return {"blob:"};
  return {};
}

// `after` is `before` (a lone 'none' dropped when something is added) followed
// by distinct allowed additions, none of which was there already.
::testing::AssertionResult grows_by_additions(const std::vector<std::string>& before,
                                              const std::vector<std::string>& after, std::string_view name,
                                              const CspNeeds& needs, bool may_stay_equal) {
  std::vector<std::string> kept = before;
  if (after != before && is_lone_none(before)) {
    std::erase_if(kept, [](const std::string& token) { return lowercase(token) == "'none'"; });
  }
  if (after.size() < kept.size() || !std::equal(kept.begin(), kept.end(), after.begin())) {
    return ::testing::AssertionFailure() << name << ": the sources it had are not kept in order";
  }
  const std::vector<std::string> allowed = allowed_additions(name, needs);
  std::vector<std::string> added(after.begin() + static_cast<std::ptrdiff_t>(kept.size()), after.end());
  if (added.empty() && !may_stay_equal)
    return ::testing::AssertionFailure() << name << ": rewritten, nothing added";
  for (std::size_t i = 0; i < added.size(); ++i) {
    if (std::find(allowed.begin(), allowed.end(), added[i]) == allowed.end()) {
      return ::testing::AssertionFailure() << name << ": added " << added[i] << ", not one of its needs";
    }
    if (std::find(added.begin(), added.begin() + static_cast<std::ptrdiff_t>(i), added[i]) !=
            added.begin() + static_cast<std::ptrdiff_t>(i) ||
        std::find(kept.begin(), kept.end(), added[i]) != kept.end()) {
      return ::testing::AssertionFailure() << name << ": added " << added[i] << " twice";
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult only_needs_were_added(std::string_view input, const std::string& output,
                                                 const CspNeeds& needs) {
  const std::vector<ParsedPolicy> before = parse_header(input);
  const std::vector<ParsedPolicy> after = parse_header(output);
  if (before.size() != after.size()) return ::testing::AssertionFailure() << "policy count changed";
  for (std::size_t p = 0; p < before.size(); ++p) {
    const ParsedPolicy& old_policy = before[p];
    const ParsedPolicy& new_policy = after[p];
    if (new_policy.size() < old_policy.size()) return ::testing::AssertionFailure() << "directives lost";
    for (std::size_t d = 0; d < old_policy.size(); ++d) {
      const ParsedDirective& old_directive = old_policy[d];
      const ParsedDirective& new_directive = new_policy[d];
      if (new_directive.text == old_directive.text) continue;
      const std::string& name = old_directive.name;
      if (new_directive.name != name || first_named(old_policy, name) != &old_directive) {
        return ::testing::AssertionFailure() << "rewrote " << old_directive.text;
      }
      const bool touchable = name == "script-src-elem" || name == "connect-src" || name == "worker-src" ||
                             (name == "script-src" && !first_named(old_policy, "script-src-elem"));
      if (!touchable) return ::testing::AssertionFailure() << "rewrote " << old_directive.text;
      if (auto result = grows_by_additions(old_directive.tokens, new_directive.tokens, name, needs, false);
          !result) {
        return result;
      }
    }
    for (std::size_t d = old_policy.size(); d < new_policy.size(); ++d) {
      const ParsedDirective& created = new_policy[d];
      if (first_named(old_policy, created.name)) {
        return ::testing::AssertionFailure() << "created " << created.name << " which was there";
      }
      const std::vector<std::string_view> fallbacks =
          created.name == "worker-src"
              ? std::vector<std::string_view>{"child-src", "script-src", "default-src"}
              : std::vector<std::string_view>{"default-src"};
      if (created.name != "script-src" && created.name != "connect-src" && created.name != "worker-src") {
        return ::testing::AssertionFailure() << "created " << created.name;
      }
      const ParsedDirective* fallback = nullptr;
      for (std::string_view name : fallbacks) {
        if ((fallback = first_named(old_policy, name))) break;
      }
      if (!fallback) return ::testing::AssertionFailure() << "created " << created.name << " from nothing";
      if (auto result = grows_by_additions(fallback->tokens, created.tokens, created.name, needs,
                                           created.name == "worker-src");
          !result) {
        return result;
      }
    }
  }
  return ::testing::AssertionSuccess();
}

class PolicyGenerator {
 public:
  explicit PolicyGenerator(std::uint32_t seed) : random_(seed) {}

  std::string header() {
    std::string out;
    const int policies = pick(1, 3);
    for (int p = 0; p < policies; ++p) {
      if (p > 0) out += one_of({",", ", ", " , "});
      const int directives = pick(0, 7);
      for (int d = 0; d < directives; ++d) {
        if (d > 0) out += one_of({";", "; ", " ;", ";;", "; ;\t"});
        out += directive();
      }
      if (chance(10)) out += one_of({";", " ", "; "});
    }
    return out;
  }

  std::string nonce() { return chance(50) ? "abc" : ""; }
  bool coin() { return chance(50); }

 private:
  std::string directive() {
    std::string out = mangle_case(one_of(
        {"default-src", "script-src", "script-src-elem", "connect-src", "worker-src", "child-src", "img-src",
         "style-src", "script-src-attr", "report-uri", "sandbox", "upgrade-insecure-requests", "x-unknown"}));
    const int tokens = pick(0, 4);
    for (int t = 0; t < tokens; ++t) {
      out += one_of({" ", "  ", "\t"});
      out += mangle_case(one_of({"'self'",
                                 "'none'",
                                 "'unsafe-inline'",
                                 "'strict-dynamic'",
                                 "'report-sample'",
                                 "'nonce-abc'",
                                 "'nonce-xyz'",
                                 "'unsafe-eval'",
                                 "'sha256-OurLoaderHash+/='",
                                 "'sha256-OurLoaderHash-_='",
                                 "'sha384-Other='",
                                 "*",
                                 "https:",
                                 "http:",
                                 "blob:",
                                 "data:",
                                 "https://www.datadoghq-browser-agent.com",
                                 "*.datadoghq-browser-agent.com",
                                 "https://browser-intake-datadoghq.com",
                                 "'self'",
                                 "example.com",
                                 "https://x.example:8443/p/",
                                 "/relative",
                                 "https://*",
                                 "'nonce-'"}));
    }
    return out;
  }

  std::string mangle_case(std::string_view text) {
    std::string out(text);
    if (chance(15)) {
      for (char& c : out) {
        if (chance(50)) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
    }
    return out;
  }

  int pick(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }
  bool chance(int percent) { return pick(1, 100) <= percent; }
  std::string_view one_of(std::initializer_list<std::string_view> options) {
    return options.begin()[pick(0, static_cast<int>(options.size()) - 1)];
  }

  std::mt19937 random_;
};

}  // namespace

TEST(RumCspProperty, OnlyTheNeededSourcesAreAddedAndOnce) {
  PolicyGenerator generator(20240611);
  int changed = 0;
  for (int i = 0; i < 5000; ++i) {
    const std::string header = generator.header();
    const std::string nonce = generator.nonce();
    const CspNeeds needs{kHash, kSdk, generator.coin() ? kIntake : "'self'", generator.coin()};
    SCOPED_TRACE("header: [" + header + "] nonce: [" + nonce + "]");
    const CspAmendment result = amend_csp(header, nonce, needs);
    if (!result.changed) {
      EXPECT_EQ(result.value, "");
      continue;
    }
    ++changed;
    ASSERT_TRUE(only_needs_were_added(header, result.value, needs)) << "output: " << result.value;
    // Once amended, the policy allows everything we need: nothing more to add.
    EXPECT_FALSE(amend_csp(result.value, nonce, needs).changed) << "output: " << result.value;
  }
  EXPECT_GT(changed, 2500);
}

TEST(RumCspProperty, ArbitraryBytesNeverBreakIt) {
  std::mt19937 random(7);
  const std::string_view alphabet = "scriptdefaulcon-*:/.' ;,\t\x01\xc3nbg=";
  for (int i = 0; i < 20000; ++i) {
    std::string header(std::uniform_int_distribution<int>(0, 40)(random), ' ');
    for (char& c : header)
      c = alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(random)];
    const std::string_view nonce = find_script_nonce(header);
    EXPECT_TRUE(std::all_of(nonce.begin(), nonce.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '-' || c == '_' ||
             c == '=';
    }));
    const CspAmendment result = amend_csp(header, nonce, rum_needs(true));
    if (result.changed) {
      EXPECT_FALSE(amend_csp(result.value, nonce, rum_needs(true)).changed) << header;
    }
  }
}
