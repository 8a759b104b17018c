// http.endpoint: expected values from Datadog's cross-tracer examples
// (system-tests' resource renaming tests, dd-trace-py/-js/-java tests) and
// from dd-trace-cpp where it differs (the trailing slash).
#include "trace/endpoint_simplifier.hpp"

#include <gtest/gtest.h>

#include <string>

using datadog::trace::endpoint_placeholder;
using datadog::trace::endpoint_url_path;
using datadog::trace::EndpointMode;
using datadog::trace::should_compute_endpoint;
using datadog::trace::simplify_endpoint;

namespace {
std::string simplified(std::string_view path) { return std::string(simplify_endpoint(path).view()); }
}  // namespace

TEST(EndpointPlaceholder, IntegersOfTwoDigitsOrMoreWithoutLeadingZero) {
  EXPECT_EQ(endpoint_placeholder("123"), "{param:int}");
  EXPECT_EQ(endpoint_placeholder("10"), "{param:int}");
  EXPECT_EQ(endpoint_placeholder("9876"), "{param:int}");
  EXPECT_EQ(endpoint_placeholder("0"), "");
  EXPECT_EQ(endpoint_placeholder("1"), "");
  EXPECT_EQ(endpoint_placeholder("01"), "");
  EXPECT_EQ(endpoint_placeholder("09"), "");
}

TEST(EndpointPlaceholder, DigitsWithDelimitersAreIntIds) {
  EXPECT_EQ(endpoint_placeholder("1-2-3"), "{param:int_id}");
  EXPECT_EQ(endpoint_placeholder("999_888"), "{param:int_id}");
  EXPECT_EQ(endpoint_placeholder("123.456"), "{param:int_id}");
  EXPECT_EQ(endpoint_placeholder("123-456.678"), "{param:int_id}");
  EXPECT_EQ(endpoint_placeholder("0123"), "{param:int_id}");
  EXPECT_EQ(endpoint_placeholder("0__"), "{param:int_id}");
  EXPECT_EQ(endpoint_placeholder("0-"), "");   // under 3 characters
  EXPECT_EQ(endpoint_placeholder("---"), "");  // no digit
}

TEST(EndpointPlaceholder, HexWithADigitFromSixCharacters) {
  EXPECT_EQ(endpoint_placeholder("abc123"), "{param:hex}");
  EXPECT_EQ(endpoint_placeholder("123ABC"), "{param:hex}");
  EXPECT_EQ(endpoint_placeholder("DEAD0BEEF"), "{param:hex}");
  EXPECT_EQ(endpoint_placeholder("a1b2c3d4e5f6"), "{param:hex}");
  EXPECT_EQ(endpoint_placeholder("abcdef"), "");  // no decimal digit
  EXPECT_EQ(endpoint_placeholder("deadbeef"), "");
  EXPECT_EQ(endpoint_placeholder("abc12"), "");   // under 6 characters
  EXPECT_EQ(endpoint_placeholder("xyz123"), "");  // not hex
}

TEST(EndpointPlaceholder, HexWithDelimitersAreHexIds) {
  EXPECT_EQ(endpoint_placeholder("abc-123"), "{param:hex_id}");
  EXPECT_EQ(endpoint_placeholder("abc123-abc123"), "{param:hex_id}");
  EXPECT_EQ(endpoint_placeholder("abc-123-def"), "{param:hex_id}");
  EXPECT_EQ(endpoint_placeholder("123.ABC"), "{param:hex_id}");
  EXPECT_EQ(endpoint_placeholder("ab_cd9"), "{param:hex_id}");
  EXPECT_EQ(endpoint_placeholder("ab_c9"), "");        // under 6 characters
  EXPECT_EQ(endpoint_placeholder("abc-def"), "");      // no digit
  EXPECT_EQ(endpoint_placeholder("uuid-abc123"), "");  // 'u' is not hex
  EXPECT_EQ(endpoint_placeholder("user-123"), "");
}

TEST(EndpointPlaceholder, LongOrSpecialSegmentsAreStrings) {
  EXPECT_EQ(endpoint_placeholder("very-long-filename-with-special-chars"), "{param:str}");
  EXPECT_EQ(endpoint_placeholder(std::string(20, 'a')), "{param:str}");
  EXPECT_EQ(endpoint_placeholder(std::string(19, 'a')), "");
  EXPECT_EQ(endpoint_placeholder("12345678901234567890"), "{param:int}");  // int comes first
  EXPECT_EQ(endpoint_placeholder("test%40%2B%3D"), "{param:str}");
  EXPECT_EQ(endpoint_placeholder("hello%20world"), "{param:str}");
  EXPECT_EQ(endpoint_placeholder("email@domain.com"), "{param:str}");
  for (const char special : std::string("%&'()*+,:=@")) {
    EXPECT_EQ(endpoint_placeholder(std::string("a") + special + "b"), "{param:str}") << special;
  }
  EXPECT_EQ(endpoint_placeholder("file.with.dots"), "");
  EXPECT_EQ(endpoint_placeholder("users"), "");
  EXPECT_EQ(endpoint_placeholder("v1"), "");
  EXPECT_EQ(endpoint_placeholder("~tilde!"), "");  // other characters only rule the ids out
}

TEST(SimplifyEndpoint, ReplacesEachSegment) {
  EXPECT_EQ(simplified("/resource_renaming/some/url"), "/resource_renaming/some/url");
  EXPECT_EQ(simplified("/api/users/123"), "/api/users/{param:int}");
  EXPECT_EQ(simplified("/v1/users/12345/posts/67890"), "/v1/users/{param:int}/posts/{param:int}");
  EXPECT_EQ(simplified("/api/v2/users/123/posts/abc123/comments/hello%20world"),
            "/api/v2/users/{param:int}/posts/{param:hex}/comments/{param:str}");
  EXPECT_EQ(simplified("/12/123-456/abc123/abc-def-123/longstringthathastoomanycharacters"),
            "/{param:int}/{param:int_id}/{param:hex}/{param:hex_id}/{param:str}");
  EXPECT_EQ(simplified("/tier/3/access"), "/tier/3/access");
}

TEST(SimplifyEndpoint, RootEmptyAndRelativePathsGiveSlash) {
  EXPECT_EQ(simplified(""), "/");
  EXPECT_EQ(simplified("/"), "/");
  EXPECT_EQ(simplified("////"), "/");
  EXPECT_EQ(simplified("abc"), "/");
}

TEST(SimplifyEndpoint, SkipsEmptySegments) {
  EXPECT_EQ(simplified("/resource_renaming//double//slash"), "/resource_renaming/double/slash");
  EXPECT_EQ(simplified("/api//v1///users//123"), "/api/v1/users/{param:int}");
}

TEST(SimplifyEndpoint, KeepsAtMostEightSegments) {
  EXPECT_EQ(simplified("/a/b/c/d/e/f/g/h"), "/a/b/c/d/e/f/g/h");
  // dd-trace-cpp (nginx-datadog's tracer) ends a cut path with '/'; the
  // RFC's other tracers do not ("/a/b/c/d/e/f/g/h").
  EXPECT_EQ(simplified("/a/b/c/d/e/f/g/h/i/j/k"), "/a/b/c/d/e/f/g/h/");
  EXPECT_EQ(simplified("/11/22/33/44/55/66/77/88/99/12"),
            "/{param:int}/{param:int}/{param:int}/{param:int}/{param:int}/{param:int}/{param:int}/"
            "{param:int}/");
}

TEST(SimplifyEndpoint, KeepsAFinalSlashAsDdTraceCppDoes) { EXPECT_EQ(simplified("/a/b/"), "/a/b/"); }

TEST(SimplifyEndpoint, LongestResultFitsTheBuffer) {
  std::string path;
  for (int i = 0; i < 9; ++i) path += "/" + std::string(19, 'x');
  const auto endpoint = simplify_endpoint(path);
  EXPECT_EQ(endpoint.size, 8 * 20 + 1);
  EXPECT_EQ(endpoint.view().substr(0, 21), "/" + std::string(19, 'x') + "/");
}

TEST(EndpointUrlPath, PathOfHttpUrlsWithoutQuery) {
  EXPECT_EQ(endpoint_url_path("http://example.com/api/users?id=123"), "/api/users");
  EXPECT_EQ(endpoint_url_path("https://example.com:8443/users/123?filter=active#top"), "/users/123");
  EXPECT_EQ(endpoint_url_path("http://[::1]/users?id=123"), "/users");
  EXPECT_EQ(endpoint_url_path("http://example.com"), "");
  EXPECT_EQ(endpoint_url_path("http://example.com?foo=bar"), "");
  EXPECT_EQ(endpoint_url_path("http://example.com/"), "/");
  EXPECT_EQ(endpoint_url_path("unix:///var/run/x.sock"), "");
  EXPECT_FALSE(endpoint_url_path("not-a-valid-url"));
  EXPECT_FALSE(endpoint_url_path("ftp://example.com/a"));
  EXPECT_FALSE(endpoint_url_path("/users/123"));
}

TEST(ShouldComputeEndpoint, FallbackOnlyWithoutRouteAlwaysEvenWithRoute) {
  EXPECT_FALSE(should_compute_endpoint(EndpointMode::disabled, false, true, false));
  EXPECT_TRUE(should_compute_endpoint(EndpointMode::fallback, false, true, false));
  EXPECT_FALSE(should_compute_endpoint(EndpointMode::fallback, false, true, true));
  EXPECT_TRUE(should_compute_endpoint(EndpointMode::always, false, true, true));
  EXPECT_FALSE(should_compute_endpoint(EndpointMode::always, true, true, false));    // already set
  EXPECT_FALSE(should_compute_endpoint(EndpointMode::always, false, false, false));  // no http.url
}
