// The RUM snippet of PROTOCOLS.md section 5: CDN and intake per site and major,
// option typing after the SDK's init types, script-safe escaping, the CSP hash,
// the sentences nginx -t prints, and the script itself run in node.
#include "rum/rum_snippet.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

using datadog::rum::build_rum_snippet;
using datadog::rum::RumOption;
using datadog::rum::RumSnippet;
using Json = nlohmann::ordered_json;

namespace {

std::vector<RumOption> with_required(std::vector<RumOption> extra = {}) {
  std::vector<RumOption> options = {{"applicationId", {"app-1"}}, {"clientToken", {"pub123"}}};
  for (auto& option : extra) options.push_back(std::move(option));
  return options;
}

RumSnippet built(std::string_view version, const std::vector<RumOption>& options,
                 std::string_view sdk_url = "") {
  auto result = build_rum_snippet(version, options, sdk_url);
  if (const auto* error = std::get_if<std::string>(&result)) {
    ADD_FAILURE() << "rejected: " << *error;
    return {};
  }
  return std::get<RumSnippet>(std::move(result));
}

std::string error_of(std::string_view version, const std::vector<RumOption>& options,
                     std::string_view sdk_url = "") {
  auto result = build_rum_snippet(version, options, sdk_url);
  if (std::holds_alternative<RumSnippet>(result)) {
    ADD_FAILURE() << "accepted: " << std::get<RumSnippet>(result).script_body;
    return {};
  }
  return std::get<std::string>(std::move(result));
}

std::string error_of(const std::vector<RumOption>& extra) { return error_of("v6", with_required(extra)); }

// The object the snippet passes to DD_RUM.init.
Json init_of(const RumSnippet& snippet) {
  const std::string_view body = snippet.script_body;
  const std::string_view open = "w.DD_RUM.init(";
  const std::string_view close = ")})})(window,document,";
  const auto start = body.find(open);
  const auto end = body.rfind(close);
  if (start == body.npos || end == body.npos) {
    ADD_FAILURE() << "no init call in " << body;
    return {};
  }
  return Json::parse(body.substr(start + open.size(), end - start - open.size()));
}

Json init_with(std::vector<RumOption> extra, std::string_view version = "v6") {
  return init_of(built(version, with_required(std::move(extra))));
}

const std::vector<RumOption> seed_options = {
    {"applicationId", {"db5d092e-055d-4d4d-a4ca-b8f257fb4dcf"}},
    {"clientToken", {"pubbf870a54b30d159dc08f02bfff4159f9"}},
    {"service", {"devtoolscrape-dev"}},
    {"env", {"dev"}},
    {"sessionSampleRate", {"100"}},
    {"allowedTracingUrls", {"https://a.example", "https://b.example"}},
};

// Runs script_body `runs` times in node with only a fake `window` and
// `document` as globals, then loads a fake SDK that records init calls (or,
// with preset "sdk", starts with an SDK already on the page). Prints what the
// page saw as JSON. The program holds no single quote: it goes in '...'.
constexpr std::string_view node_driver = R"js(
const fs = require("fs");
const vm = require("vm");
const body = fs.readFileSync(process.argv[1], "utf8");
const runs = Number(process.argv[2]);
const preset = process.argv[3];
const appended = [];
const inits = [];
function createElement(tag) {
  const element = { tagName: tag, assigned: [] };
  for (const name of ["src", "async", "crossOrigin"]) {
    let value;
    Object.defineProperty(element, name, {
      get() { return value; },
      set(v) { value = v; element.assigned.push(name); },
    });
  }
  return element;
}
const document = { createElement, head: { appendChild(e) { appended.push(e); return e; } } };
const window = {};
if (preset === "sdk") window.DD_RUM = { onReady(c) { c(); }, init(o) { inits.push(o); } };
const context = vm.createContext({ window, document });
for (let i = 0; i < runs; i++) vm.runInContext(body, context);
const queued = window.DD_RUM.q ? window.DD_RUM.q.length : 0;
if (preset !== "sdk") {
  const stub = window.DD_RUM;
  window.DD_RUM = { init(o) { inits.push(o); } };
  stub.q.forEach((callback) => callback());
}
process.stdout.write(JSON.stringify({
  appended: appended.map((e) => ({
    tag: e.tagName, src: e.src, async: e.async,
    crossOrigin: e.crossOrigin === undefined ? null : e.crossOrigin, assigned: e.assigned,
  })),
  queued,
  inits,
}));
)js";

struct NodeRun {
  int exit_code = -1;
  std::string output;
};

NodeRun run_in_node(const std::string& script_body, int runs = 1, std::string_view preset = "stub") {
  char path[] = "/tmp/rum_snippet_test_XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return {};
  close(fd);
  std::ofstream(path, std::ios::binary) << script_body;
  const std::string command = "node -e '" + std::string(node_driver) + "' " + path + " " +
                              std::to_string(runs) + " " + std::string(preset) + " 2>&1";
  NodeRun run;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    std::size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) run.output.append(buffer, n);
    const int status = pclose(pipe);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::filesystem::remove(path);
  return run;
}

Json node_result(const std::string& script_body, int runs = 1, std::string_view preset = "stub") {
  const NodeRun run = run_in_node(script_body, runs, preset);
  EXPECT_EQ(run.exit_code, 0) << "node failed (is node installed?): " << run.output;
  if (run.exit_code != 0) return {};
  return Json::parse(run.output);
}

}  // namespace

// --- SDK URL -------------------------------------------------------------------

TEST(RumSnippetCdn, UrlPerSiteAndMajor) {
  const struct {
    const char* site;
    const char* version;
    const char* url;
  } cases[] = {
      {"datadoghq.com", "v5", "https://www.datadoghq-browser-agent.com/us1/v5/datadog-rum.js"},
      {"datadoghq.com", "v6", "https://www.datadoghq-browser-agent.com/us1/v6/datadog-rum.js"},
      {"datadoghq.com", "v7", "https://www.datadoghq-browser-agent.com/us1/v7/datadog-rum.js"},
      {"us3.datadoghq.com", "v5", "https://www.datadoghq-browser-agent.com/us3/v5/datadog-rum.js"},
      {"us3.datadoghq.com", "v6", "https://www.datadoghq-browser-agent.com/us3/v6/datadog-rum.js"},
      {"us3.datadoghq.com", "v7", "https://www.datadoghq-browser-agent.com/us3/v7/datadog-rum.js"},
      {"us5.datadoghq.com", "v5", "https://www.datadoghq-browser-agent.com/us5/v5/datadog-rum.js"},
      {"us5.datadoghq.com", "v6", "https://www.datadoghq-browser-agent.com/us5/v6/datadog-rum.js"},
      {"us5.datadoghq.com", "v7", "https://www.datadoghq-browser-agent.com/us5/v7/datadog-rum.js"},
      {"datadoghq.eu", "v5", "https://www.datadoghq-browser-agent.com/eu1/v5/datadog-rum.js"},
      {"datadoghq.eu", "v6", "https://www.datadoghq-browser-agent.com/eu1/v6/datadog-rum.js"},
      {"datadoghq.eu", "v7", "https://www.datadoghq-browser-agent.com/eu1/v7/datadog-rum.js"},
      {"ap1.datadoghq.com", "v5", "https://www.datadoghq-browser-agent.com/ap1/v5/datadog-rum.js"},
      {"ap1.datadoghq.com", "v6", "https://www.datadoghq-browser-agent.com/ap1/v6/datadog-rum.js"},
      {"ap1.datadoghq.com", "v7", "https://www.datadoghq-browser-agent.com/ap1/v7/datadog-rum.js"},
      {"ap2.datadoghq.com", "v5", "https://www.datadoghq-browser-agent.com/ap2/v5/datadog-rum.js"},
      {"ap2.datadoghq.com", "v6", "https://www.datadoghq-browser-agent.com/ap2/v6/datadog-rum.js"},
      {"ap2.datadoghq.com", "v7", "https://www.datadoghq-browser-agent.com/ap2/v7/datadog-rum.js"},
  };
  for (const auto& c : cases) {
    const RumSnippet snippet = built(c.version, with_required({{"site", {c.site}}}));
    EXPECT_EQ(snippet.sdk_url, c.url) << c.site << " " << c.version;
    EXPECT_EQ(snippet.sdk_origin, "https://www.datadoghq-browser-agent.com");
    EXPECT_NE(snippet.script_body.find(std::string("\"") + c.url + "\""), std::string::npos);
  }
}

TEST(RumSnippetCdn, MajorComesFromTheVersion) {
  EXPECT_EQ(built("v5", with_required()).major, 5);
  EXPECT_EQ(built("v6", with_required()).major, 6);
  EXPECT_EQ(built("v7", with_required()).major, 7);
}

TEST(RumSnippetCdn, NoSiteMeansUs1) {
  EXPECT_EQ(built("v6", with_required()).sdk_url,
            "https://www.datadoghq-browser-agent.com/us1/v6/datadog-rum.js");
}

TEST(RumSnippetCdn, GovUsesTheFlatLayout) {
  const auto gov = with_required({{"site", {"ddog-gov.com"}}});
  EXPECT_EQ(built("v5", gov).sdk_url, "https://www.datadoghq-browser-agent.com/datadog-rum-v5.js");
  EXPECT_EQ(built("v6", gov).sdk_url, "https://www.datadoghq-browser-agent.com/datadog-rum-v6.js");
  EXPECT_EQ(built("v7", gov).sdk_url, "https://www.datadoghq-browser-agent.com/datadog-rum-v7.js");
  EXPECT_EQ(built("v7", gov).sdk_origin, "https://www.datadoghq-browser-agent.com");
}

TEST(RumSnippetCdn, OverrideUrlReplacesTheCdn) {
  const RumSnippet snippet = built("v6", with_required({{"site", {"datadoghq.eu"}}}),
                                   "https://Static.Example:8443/rum/datadog-rum.js?v=6");
  EXPECT_EQ(snippet.sdk_url, "https://Static.Example:8443/rum/datadog-rum.js?v=6");
  EXPECT_EQ(snippet.sdk_origin, "https://static.example:8443");
  EXPECT_NE(snippet.script_body.find("\"https://Static.Example:8443/rum/datadog-rum.js?v=6\""),
            std::string::npos);
  EXPECT_EQ(snippet.script_body.find("datadoghq-browser-agent"), std::string::npos);
  // The site still decides where events go.
  EXPECT_EQ(snippet.intake_origin, "https://browser-intake-datadoghq.eu");
}

TEST(RumSnippetCdn, OverrideOriginDropsUserInfo) {
  EXPECT_EQ(built("v6", with_required(), "http://user@cdn.example/x.js").sdk_origin, "http://cdn.example");
  EXPECT_EQ(built("v6", with_required(), "http://[::1]:8080/x.js").sdk_origin, "http://[::1]:8080");
}

TEST(RumSnippetCdn, OverridePathIsSelf) {
  const RumSnippet snippet = built("v7", with_required(), "/static/datadog-rum.js");
  EXPECT_EQ(snippet.sdk_url, "/static/datadog-rum.js");
  EXPECT_EQ(snippet.sdk_origin, "'self'");
}

TEST(RumSnippetCdn, OverrideMustBeHttpOrAPath) {
  for (const char* url : {"ftp://cdn.example/x.js", "//cdn.example/x.js", "datadog-rum.js", "https:///x.js",
                          "https://cdn example/x.js", "https://cdn.example/x .js", "javascript:alert(1)"}) {
    EXPECT_EQ(error_of("v6", with_required(), url),
              std::string("invalid RUM SDK URL \"") + url +
                  "\" (expected an http:// or https:// URL, or a path starting with /)");
  }
}

// --- intake ----------------------------------------------------------------------

TEST(RumSnippetIntake, OriginPerSite) {
  const std::pair<const char*, const char*> cases[] = {
      {"datadoghq.com", "https://browser-intake-datadoghq.com"},
      {"us3.datadoghq.com", "https://browser-intake-us3-datadoghq.com"},
      {"us5.datadoghq.com", "https://browser-intake-us5-datadoghq.com"},
      {"datadoghq.eu", "https://browser-intake-datadoghq.eu"},
      {"ap1.datadoghq.com", "https://browser-intake-ap1-datadoghq.com"},
      {"ap2.datadoghq.com", "https://browser-intake-ap2-datadoghq.com"},
      {"ddog-gov.com", "https://browser-intake-ddog-gov.com"},
  };
  for (const auto& [site, origin] : cases) {
    for (const char* version : {"v5", "v6", "v7"}) {
      EXPECT_EQ(built(version, with_required({{"site", {site}}})).intake_origin, origin)
          << site << " " << version;
    }
  }
  EXPECT_EQ(built("v6", with_required()).intake_origin, "https://browser-intake-datadoghq.com");
}

TEST(RumSnippetIntake, AbsoluteProxyGivesItsOrigin) {
  const auto options =
      with_required({{"site", {"datadoghq.eu"}}, {"proxy", {"https://RUM.example.com:8443/fwd"}}});
  EXPECT_EQ(built("v6", options).intake_origin, "https://rum.example.com:8443");
  EXPECT_EQ(init_of(built("v6", options))["proxy"], "https://RUM.example.com:8443/fwd");
}

TEST(RumSnippetIntake, RelativeProxyIsSelf) {
  EXPECT_EQ(built("v7", with_required({{"proxy", {"/rum-forward"}}})).intake_origin, "'self'");
}

TEST(RumSnippetIntake, InternalAnalyticsSubdomainOnUs1BeforeV7) {
  EXPECT_EQ(built("v5", with_required({{"internalAnalyticsSubdomain", {"abc"}}})).intake_origin,
            "https://abc.datadoghq.com");
  EXPECT_EQ(built("v6", with_required({{"site", {"datadoghq.eu"}}, {"internalAnalyticsSubdomain", {"abc"}}}))
                .intake_origin,
            "https://browser-intake-datadoghq.eu");
}

TEST(RumSnippetIntake, SessionReplayWhenItsRateIsAboveZero) {
  EXPECT_TRUE(built("v6", with_required({{"sessionReplaySampleRate", {"20"}}})).session_replay);
  EXPECT_TRUE(built("v6", with_required({{"sessionReplaySampleRate", {"0.5"}}})).session_replay);
  EXPECT_FALSE(built("v6", with_required({{"sessionReplaySampleRate", {"0"}}})).session_replay);
  EXPECT_FALSE(built("v6", with_required()).session_replay);
}

// --- option typing -------------------------------------------------------------------

TEST(RumSnippetTyping, SampleRatesAreNumbers) {
  const Json init = init_with({{"sessionSampleRate", {"100"}},
                               {"sessionReplaySampleRate", {"12.5"}},
                               {"traceSampleRate", {"0"}},
                               {"telemetrySampleRate", {"007"}}});
  EXPECT_EQ(init["sessionSampleRate"], 100);
  EXPECT_TRUE(init["sessionSampleRate"].is_number_integer());
  EXPECT_EQ(init["sessionReplaySampleRate"], 12.5);
  EXPECT_EQ(init["traceSampleRate"], 0);
  EXPECT_EQ(init["telemetrySampleRate"], 7);
}

TEST(RumSnippetTyping, UnknownSampleRateKeysAreNumbersToo) {
  EXPECT_EQ(init_with({{"futureSampleRate", {"42"}}})["futureSampleRate"], 42);
}

TEST(RumSnippetTyping, BooleansAreBooleans) {
  const Json init = init_with({{"trackResources", {"true"}},
                               {"trackLongTasks", {"false"}},
                               {"trackUserInteractions", {"true"}},
                               {"trackSessionAcrossSubdomains", {"true"}},
                               {"silentMultipleInit", {"true"}},
                               {"compressIntakeRequests", {"false"}}});
  EXPECT_EQ(init["trackResources"], true);
  EXPECT_EQ(init["trackLongTasks"], false);
  EXPECT_EQ(init["trackUserInteractions"], true);
  EXPECT_EQ(init["trackSessionAcrossSubdomains"], true);
  EXPECT_EQ(init["silentMultipleInit"], true);
  EXPECT_EQ(init["compressIntakeRequests"], false);
}

TEST(RumSnippetTyping, ArraysTakeEveryValue) {
  const Json init = init_with({{"service", {"web"}},
                               {"allowedTracingUrls", {"https://a.example", "https://b.example"}},
                               {"excludedActivityUrls", {"https://ads.example"}},
                               {"enableExperimentalFeatures", {"feature_a"}}});
  EXPECT_EQ(init["allowedTracingUrls"], Json::array({"https://a.example", "https://b.example"}));
  EXPECT_EQ(init["excludedActivityUrls"], Json::array({"https://ads.example"}));
  EXPECT_EQ(init["enableExperimentalFeatures"], Json::array({"feature_a"}));
}

TEST(RumSnippetTyping, ArrayEntriesMayBeJsonObjects) {
  const Json init =
      init_with({{"service", {"web"}},
                 {"allowedTracingUrls",
                  {"https://a.example",
                   R"({"match":"https://api.example","propagatorTypes":["tracecontext","datadog"]})"}}});
  const Json expected = Json::parse(
      R"(["https://a.example",{"match":"https://api.example","propagatorTypes":["tracecontext","datadog"]}])");
  EXPECT_EQ(init["allowedTracingUrls"], expected);
  EXPECT_EQ(init["allowedTracingUrls"][1].begin().key(), "match");  // the literal's key order is kept
}

TEST(RumSnippetTyping, AJsonArrayValueGivesItsElements) {
  const Json init = init_with({{"enableExperimentalFeatures", {R"(["a","b"])", "c"}}});
  EXPECT_EQ(init["enableExperimentalFeatures"], Json::array({"a", "b", "c"}));
}

TEST(RumSnippetTyping, SessionPersistenceIsAStringOrAnArray) {
  EXPECT_EQ(init_with({{"sessionPersistence", {"cookie"}}})["sessionPersistence"], "cookie");
  EXPECT_EQ(init_with({{"sessionPersistence", {"cookie", "local-storage"}}})["sessionPersistence"],
            Json::array({"cookie", "local-storage"}));
  EXPECT_EQ(init_with({{"sessionPersistence", {"local-storage"}}}, "v5")["sessionPersistence"],
            "local-storage");
  EXPECT_EQ(error_of("v5", with_required({{"sessionPersistence", {"cookie", "local-storage"}}})),
            "too many values for \"sessionPersistence\" (expected one, found 2)");
}

TEST(RumSnippetTyping, TrackResourceHeadersIsABooleanOrAnArray) {
  EXPECT_EQ(init_with({{"trackResourceHeaders", {"true"}}})["trackResourceHeaders"], true);
  EXPECT_EQ(init_with({{"trackResourceHeaders", {R"({"name":"x-request-id"})"}}})["trackResourceHeaders"],
            Json::parse(R"([{"name":"x-request-id"}])"));
}

TEST(RumSnippetTyping, ObjectOptionsTakeAJsonObject) {
  EXPECT_EQ(init_with({{"replica", {R"({"clientToken":"pub2","applicationId":"app-2"})"}}})["replica"],
            Json::parse(R"({"clientToken":"pub2","applicationId":"app-2"})"));
  EXPECT_EQ(init_with({{"remoteConfiguration", {R"({"id":"rc-1"})"}}}, "v7")["remoteConfiguration"],
            Json::parse(R"({"id":"rc-1"})"));
}

TEST(RumSnippetTyping, StringsStayStrings) {
  const Json init = init_with({{"service", {"100"}},
                               {"env", {"true"}},
                               {"version", {"{not json"}},
                               {"defaultPrivacyLevel", {"mask"}}});
  EXPECT_EQ(init["service"], "100");
  EXPECT_EQ(init["env"], "true");
  EXPECT_EQ(init["version"], "{not json");
  EXPECT_EQ(init["defaultPrivacyLevel"], "mask");
}

TEST(RumSnippetTyping, UnknownKeysPassThroughAsStrings) {
  const Json init =
      init_with({{"newOption", {"true"}}, {"otherOption", {"12"}}, {"objectOption", {R"({"a":1})"}}});
  EXPECT_EQ(init["newOption"], "true");
  EXPECT_EQ(init["otherOption"], "12");
  EXPECT_EQ(init["objectOption"], Json::parse(R"({"a":1})"));
}

TEST(RumSnippetTyping, KeysKeepTheBlockOrder) {
  const Json init = init_of(built("v5", seed_options));
  std::vector<std::string> keys;
  for (const auto& item : init.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"applicationId", "clientToken", "service", "env",
                                            "sessionSampleRate", "allowedTracingUrls"}));
}

// --- errors nginx -t prints ------------------------------------------------------------

TEST(RumSnippetErrors, UnknownMajorVersion) {
  EXPECT_EQ(error_of("v9", with_required()), "invalid RUM major version \"v9\" (expected v5, v6 or v7)");
  EXPECT_EQ(error_of("6", with_required()), "invalid RUM major version \"6\" (expected v5, v6 or v7)");
  EXPECT_EQ(error_of("", with_required()), "invalid RUM major version \"\" (expected v5, v6 or v7)");
}

TEST(RumSnippetErrors, UnknownSite) {
  EXPECT_EQ(
      error_of({{"site", {"datadoghq.co"}}}),
      "unknown RUM site \"datadoghq.co\" (expected datadoghq.com, us3.datadoghq.com, us5.datadoghq.com, "
      "datadoghq.eu, ap1.datadoghq.com, ap2.datadoghq.com or ddog-gov.com)");
}

TEST(RumSnippetErrors, InvalidBoolean) {
  EXPECT_EQ(error_of({{"trackResources", {"yes"}}}),
            "invalid boolean \"yes\" for \"trackResources\" (expected true or false)");
  EXPECT_EQ(error_of({{"trackLongTasks", {"TRUE"}}}),
            "invalid boolean \"TRUE\" for \"trackLongTasks\" (expected true or false)");
}

TEST(RumSnippetErrors, InvalidPercentage) {
  for (const char* value : {"150", "100.5", "abc", "-1", "1e2", "nan", "inf", "5.", ".5", "", " 5", "0x10"}) {
    EXPECT_EQ(error_of({{"sessionSampleRate", {value}}}),
              std::string("invalid percentage \"") + value +
                  "\" for \"sessionSampleRate\" (expected a number from 0 to 100)");
  }
  EXPECT_EQ(error_of({{"customSampleRate", {"200"}}}),
            "invalid percentage \"200\" for \"customSampleRate\" (expected a number from 0 to 100)");
}

TEST(RumSnippetErrors, SeveralValuesForASingleValueOption) {
  EXPECT_EQ(error_of({{"service", {"a", "b"}}}), "too many values for \"service\" (expected one, found 2)");
  EXPECT_EQ(error_of({{"sessionSampleRate", {"1", "2", "3"}}}),
            "too many values for \"sessionSampleRate\" (expected one, found 3)");
  EXPECT_EQ(error_of({{"unknownOption", {"a", "b"}}}),
            "too many values for \"unknownOption\" (expected one, found 2)");
}

TEST(RumSnippetErrors, MissingValue) {
  EXPECT_EQ(error_of({{"env", {}}}), "missing value for RUM option \"env\"");
}

TEST(RumSnippetErrors, RequiredOptions) {
  EXPECT_EQ(error_of("v6", {{"clientToken", {"pub123"}}}), "missing RUM option \"applicationId\"");
  EXPECT_EQ(error_of("v6", {{"applicationId", {"app-1"}}}), "missing RUM option \"clientToken\"");
  EXPECT_EQ(error_of({{"allowedTracingUrls", {"https://a.example"}}}),
            "missing RUM option \"service\" (required when \"allowedTracingUrls\" is set)");
}

TEST(RumSnippetErrors, DuplicateKey) {
  EXPECT_EQ(error_of({{"env", {"dev"}}, {"env", {"prod"}}}), "duplicate RUM option \"env\"");
}

TEST(RumSnippetErrors, InvalidJsonLiteral) {
  EXPECT_EQ(error_of({{"service", {"web"}}, {"allowedTracingUrls", {"{\"match\":"}}}),
            "invalid JSON \"{\"match\":\" for \"allowedTracingUrls\" (expected a JSON object or array)");
  EXPECT_EQ(error_of({{"futureOption", {"[1,"}}}),
            "invalid JSON \"[1,\" for \"futureOption\" (expected a JSON object or array)");
}

TEST(RumSnippetErrors, ObjectOptionWithoutAnObject) {
  EXPECT_EQ(error_of({{"replica", {"pub2"}}}),
            "invalid value \"pub2\" for \"replica\" (expected a JSON object)");
  EXPECT_EQ(error_of({{"replica", {"[1]"}}}),
            "invalid value \"[1]\" for \"replica\" (expected a JSON object)");
}

TEST(RumSnippetErrors, InvalidUtf8) {
  EXPECT_EQ(error_of({{"env", {"d\xC3"}}}), "invalid UTF-8 in the value of \"env\"");
  EXPECT_EQ(error_of({{"service", {"web"}}, {"allowedTracingUrls", {"https://a.example", "\xED\xA0\x80"}}}),
            "invalid UTF-8 in the value of \"allowedTracingUrls\"");
  EXPECT_EQ(error_of({{"env", {"\xC0\xAF"}}}), "invalid UTF-8 in the value of \"env\"");  // overlong "/"
  EXPECT_EQ(error_of({{"bad\xFFkey", {"x"}}}), "invalid UTF-8 in a RUM option name");
  EXPECT_EQ(
      error_of("v6", with_required(), "/rum\xFF.js"),
      "invalid RUM SDK URL \"/rum\xFF.js\" (expected an http:// or https:// URL, or a path starting with /)");
}

TEST(RumSnippetErrors, OptionOfAnotherMajor) {
  EXPECT_EQ(error_of("v7", with_required({{"trackBfcacheViews", {"true"}}})),
            "RUM option \"trackBfcacheViews\" is not supported by v7 (only by v6)");
  EXPECT_EQ(error_of("v7", with_required({{"allowFallbackToLocalStorage", {"true"}}})),
            "RUM option \"allowFallbackToLocalStorage\" is not supported by v7 (only by v5 and v6)");
  EXPECT_EQ(error_of("v5", with_required({{"trackAnonymousUser", {"true"}}})),
            "RUM option \"trackAnonymousUser\" is not supported by v5 (only by v6 and v7)");
  EXPECT_EQ(error_of("v6", with_required({{"useCrossSiteSessionCookie", {"true"}}})),
            "RUM option \"useCrossSiteSessionCookie\" is not supported by v6 (only by v5)");
}

TEST(RumSnippetErrors, OptionsThatTakeCode) {
  EXPECT_EQ(
      error_of({{"beforeSend", {"function(){}"}}}),
      "unsupported RUM option \"beforeSend\" (it takes JavaScript functions, which a configuration file "
      "cannot give)");
  EXPECT_EQ(
      error_of({{"plugins", {"{}"}}}),
      "unsupported RUM option \"plugins\" (it takes JavaScript functions, which a configuration file cannot "
      "give)");
}

TEST(RumSnippetErrors, InvalidProxy) {
  for (const char* proxy : {"rum-forward", "//rum.example/fwd", "ftp://rum.example", "https://"}) {
    EXPECT_EQ(error_of({{"proxy", {proxy}}}),
              std::string("invalid URL \"") + proxy +
                  "\" for \"proxy\" (expected an http:// or https:// URL, or a path starting with /)");
  }
}

TEST(RumSnippetErrors, InvalidInternalAnalyticsSubdomain) {
  EXPECT_EQ(error_of({{"internalAnalyticsSubdomain", {"a b"}}}),
            "invalid value \"a b\" for \"internalAnalyticsSubdomain\" (expected a host name label)");
}

// --- escaping --------------------------------------------------------------------------

TEST(RumSnippetEscaping, NoValueCanCloseTheScript) {
  const std::string hostile = "</script><!--<script>&amp;\xE2\x80\xA8\xE2\x80\xA9-->é";
  const RumSnippet snippet =
      built("v6",
            with_required({{"service", {hostile}},
                           {"allowedTracingUrls", {hostile, R"({"match":")" + hostile + R"("})"}},
                           {hostile, {hostile}}}),
            "/rum/" + hostile + ".js");
  const std::string& body = snippet.script_body;
  for (const char c : body) {
    EXPECT_TRUE(c != '<' && c != '>' && c != '&') << body;
    EXPECT_LT(static_cast<unsigned char>(c), 0x80) << body;
  }
  EXPECT_EQ(body.find("</script"), std::string::npos);
  EXPECT_EQ(body.find("<!--"), std::string::npos);
  EXPECT_EQ(body.find("\xE2\x80\xA8"), std::string::npos);
  EXPECT_EQ(body.find("\xE2\x80\xA9"), std::string::npos);
  EXPECT_NE(
      body.find(R"(\u003c/script\u003e\u003c!--\u003cscript\u003e\u0026amp;\u2028\u2029--\u003e\u00e9)"),
      std::string::npos);
  // The values still reach the SDK unchanged.
  const Json init = init_of(snippet);
  EXPECT_EQ(init["service"], hostile);
  EXPECT_EQ(init[hostile], hostile);
  EXPECT_EQ(init["allowedTracingUrls"][1]["match"], hostile);
}

// --- the script and its hash -------------------------------------------------------------

TEST(RumSnippetScript, SeedConfigurationGivesThisScriptAndHash) {
  const RumSnippet snippet = built("v5", seed_options);
  EXPECT_EQ(
      snippet.script_body,
      R"js((function(w,d,u){var r=w.DD_RUM;if(!r){r=w.DD_RUM={q:[],onReady:function(c){r.q.push(c)}};)js"
      R"js(var s=d.createElement("script");s.async=true;s.src=u;(d.head||d.documentElement).appendChild(s)})js"
      R"js(r.onReady(function(){w.DD_RUM.init({"applicationId":"db5d092e-055d-4d4d-a4ca-b8f257fb4dcf",)js"
      R"js("clientToken":"pubbf870a54b30d159dc08f02bfff4159f9","service":"devtoolscrape-dev","env":"dev",)js"
      R"js("sessionSampleRate":100,"allowedTracingUrls":["https://a.example","https://b.example"]})})}))js"
      R"js((window,document,"https://www.datadoghq-browser-agent.com/us1/v5/datadog-rum.js");)js");
  // printf %s "$body" | openssl dgst -sha256 -binary | base64
  EXPECT_EQ(snippet.script_hash, "'sha256-CjaH3PWzfbeam4MHMa+/OAq68QhuI3bL2wx1+2IG0rE='");
  EXPECT_EQ(snippet.intake_origin, "https://browser-intake-datadoghq.com");
  EXPECT_FALSE(snippet.session_replay);
}

TEST(RumSnippetScript, HashFollowsTheBody) {
  const RumSnippet v5 = built("v5", with_required());
  const RumSnippet v7 = built("v7", with_required());
  EXPECT_NE(v5.script_hash, v7.script_hash);
  EXPECT_EQ(v7.script_hash.size(), std::string("'sha256-'").size() + 44);
  EXPECT_TRUE(v7.script_hash.starts_with("'sha256-") && v7.script_hash.ends_with("='"));
}

TEST(RumSnippetNode, QueuesInitAndLoadsTheSdk) {
  const Json page = node_result(built("v5", seed_options).script_body);
  ASSERT_EQ(page["appended"].size(), 1u) << page.dump();
  const Json& script = page["appended"][0];
  EXPECT_EQ(script["tag"], "script");
  EXPECT_EQ(script["src"], "https://www.datadoghq-browser-agent.com/us1/v5/datadog-rum.js");
  EXPECT_EQ(script["async"], true);
  EXPECT_EQ(script["crossOrigin"], nullptr);
  EXPECT_EQ(page["queued"], 1);
  const Json expected_init = Json::parse(R"({
    "applicationId": "db5d092e-055d-4d4d-a4ca-b8f257fb4dcf",
    "clientToken": "pubbf870a54b30d159dc08f02bfff4159f9",
    "service": "devtoolscrape-dev",
    "env": "dev",
    "sessionSampleRate": 100,
    "allowedTracingUrls": ["https://a.example", "https://b.example"]
  })");
  EXPECT_EQ(page["inits"], Json::array({expected_init}));
}

TEST(RumSnippetNode, V7SetsCrossOriginBeforeSrc) {
  const Json page = node_result(built("v7", with_required({{"site", {"datadoghq.eu"}}})).script_body);
  ASSERT_EQ(page["appended"].size(), 1u) << page.dump();
  const Json& script = page["appended"][0];
  EXPECT_EQ(script["src"], "https://www.datadoghq-browser-agent.com/eu1/v7/datadog-rum.js");
  EXPECT_EQ(script["crossOrigin"], "anonymous");
  EXPECT_EQ(script["assigned"], Json::array({"async", "crossOrigin", "src"}));
  EXPECT_EQ(page["inits"],
            Json::parse(R"([{"applicationId":"app-1","clientToken":"pub123","site":"datadoghq.eu"}])"));
}

TEST(RumSnippetNode, V6LeavesCrossOriginUnset) {
  const Json page = node_result(built("v6", with_required()).script_body);
  ASSERT_EQ(page["appended"].size(), 1u) << page.dump();
  EXPECT_EQ(page["appended"][0]["crossOrigin"], nullptr);
}

TEST(RumSnippetNode, LoadedTwiceRequestsTheSdkOnce) {
  const Json page = node_result(built("v6", with_required()).script_body, 2);
  EXPECT_EQ(page["appended"].size(), 1u) << page.dump();
  EXPECT_EQ(page["queued"], 2);
}

TEST(RumSnippetNode, SdkAlreadyOnThePageIsInitialisedAtOnce) {
  const Json page = node_result(built("v6", with_required()).script_body, 1, "sdk");
  EXPECT_EQ(page["appended"].size(), 0u) << page.dump();
  EXPECT_EQ(page["inits"], Json::parse(R"([{"applicationId":"app-1","clientToken":"pub123"}])"));
}

TEST(RumSnippetNode, HostileValuesArriveIntact) {
  const std::string hostile = "</script><!--\xE2\x80\xA8\xE2\x80\xA9'\"\\&é";
  const RumSnippet snippet = built("v7", with_required({{"env", {hostile}}}), "/rum/" + hostile + ".js");
  const Json page = node_result(snippet.script_body);
  ASSERT_EQ(page["appended"].size(), 1u) << page.dump();
  EXPECT_EQ(page["appended"][0]["src"], "/rum/" + hostile + ".js");
  ASSERT_EQ(page["inits"].size(), 1u);
  EXPECT_EQ(page["inits"][0]["env"], hostile);
}
