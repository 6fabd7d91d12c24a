// The runbook pages' Markdown renderer (src/http/markdown.hpp): what it renders, and that hostile input
// comes out escaped, never as markup, in time and space linear in its size.

#include "http/markdown.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tocsin::http {
namespace {

TEST(Markdown, RendersTheBlocksRunbooksUse) {
  const std::string html = render_markdown(
      "# HostCpuHigh\n\nAll CPUs are **busy**; see `node_load1`.\n\n## Check first\n\n"
      "1. Which process: `top`.\n2. The [procedure](investigate-slow-endpoint.md).\n\n"
      "- one\n- two\n  continued\n\n```sh\ncurl -s \"$TOCSIN/api/v1/query\" <x>\n```\n");
  EXPECT_EQ(html,
            "<h1 id=\"hostcpuhigh\">HostCpuHigh</h1>\n"
            "<p>All CPUs are <strong>busy</strong>; see <code>node_load1</code>.</p>\n"
            "<h2 id=\"check-first\">Check first</h2>\n"
            "<ol>\n<li>Which process: <code>top</code>.\n</li>\n"
            "<li>The <a href=\"/runbooks/investigate-slow-endpoint\">procedure</a>.\n</li>\n</ol>\n"
            "<ul>\n<li>one\n</li>\n<li>two\ncontinued\n</li>\n</ul>\n"
            "<pre><code>curl -s &quot;$TOCSIN/api/v1/query&quot; &lt;x&gt;\n</code></pre>\n");
}

TEST(Markdown, CodeInsideAListItemAndLooseLists) {
  const std::string html = render_markdown("1. Run:\n\n   ```sh\n   psql -X\n   ```\n\n2. Then this.\n");
  EXPECT_EQ(html,
            "<ol>\n<li><p>Run:</p>\n<pre><code>psql -X\n</code></pre>\n</li>\n<li><p>Then this.</p>\n</li>\n"
            "</ol>\n");
}

TEST(Markdown, HeadingAnchorsAreUniqueAndSluggedAsGitHubDoes) {
  const std::string html =
      render_markdown("## api-availability\n## Check first\n## Check first\n# A_b. C!\n");
  EXPECT_NE(html.find("<h2 id=\"api-availability\">"), std::string::npos);
  EXPECT_NE(html.find("<h2 id=\"check-first\">"), std::string::npos);
  EXPECT_NE(html.find("<h2 id=\"check-first-1\">"), std::string::npos);
  EXPECT_NE(html.find("<h1 id=\"a_b-c\">"), std::string::npos);
  EXPECT_EQ(heading_anchor("SLOErrorBudgetBurn"), "sloerrorbudgetburn");
}

TEST(Markdown, ScriptAndHtmlAreEscapedEverywhere) {
  const std::string html = render_markdown(
      "<script>alert(1)</script>\n\n# <img src=x onerror=alert(1)>\n\n- <b>x</b> `<script>`\n\n"
      "**<i>bold</i>**\n\n```\n</code></pre><script>x</script>\n```\n[<script>](#a\"onmouseover=\"x)\n");
  EXPECT_EQ(html.find("<script"), std::string::npos) << html;
  EXPECT_EQ(html.find("<img"), std::string::npos) << html;
  EXPECT_EQ(html.find("<b>"), std::string::npos) << html;
  EXPECT_EQ(html.find("<i>"), std::string::npos) << html;
  EXPECT_EQ(html.find("\"onmouseover"), std::string::npos) << html;
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos) << html;
  EXPECT_NE(html.find("&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;"), std::string::npos) << html;
}

TEST(Markdown, OnlyWebRelativeAndAnchorLinksAreLinks) {
  for (const char* bad : {"javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<script>x</script>",
                          "vbscript:x", "//evil.example/x", "/\\evil.example", "../cli.md",
                          "file:///etc/passwd", "java\tscript:x", "a b.md", "HostCpuHigh.md/../x"}) {
    EXPECT_EQ(markdown_link_target(bad), "") << bad;
    const std::string html = render_markdown(std::string("[click](") + bad + ")");
    EXPECT_EQ(html.find("<a "), std::string::npos) << bad << ": " << html;
    EXPECT_NE(html.find("click"), std::string::npos) << html;
  }
  EXPECT_EQ(markdown_link_target("https://www.postgresql.org/docs/"), "https://www.postgresql.org/docs/");
  EXPECT_EQ(markdown_link_target("HTTP://example.com/"), "HTTP://example.com/");
  EXPECT_EQ(markdown_link_target("#check-first"), "#check-first");
  EXPECT_EQ(markdown_link_target("/api/v1/alerts"), "/api/v1/alerts");
  EXPECT_EQ(markdown_link_target("HostCpuHigh.md"), "/runbooks/HostCpuHigh");
  EXPECT_EQ(markdown_link_target("SLOErrorBudgetBurn.md#api-availability"),
            "/runbooks/SLOErrorBudgetBurn#api-availability");
  // A quote in a URL stays inside the attribute, escaped.
  EXPECT_EQ(
      render_markdown("[a](https://x.example/?b=\"2\" onclick=\"x)"),
      "<p>a (<code>https://x.example/?b=&quot;2&quot; onclick=&quot;x</code>)</p>\n");  // a space: no URL
  EXPECT_EQ(render_markdown("[a](https://x.example/?b=\"onclick=\"x)"),
            "<p><a href=\"https://x.example/?b=&quot;onclick=&quot;x\">a</a></p>\n");
  EXPECT_EQ(render_markdown("[a](https://x.example/?a=1&b=2)"),
            "<p><a href=\"https://x.example/?a=1&amp;b=2\">a</a></p>\n");
}

TEST(Markdown, UnterminatedConstructsAreText) {
  // A fence without its end runs to the end of the text, escaped, and the document still closes.
  EXPECT_EQ(render_markdown("```\n<script>\n# not a heading"),
            "<pre><code>&lt;script&gt;\n# not a heading\n</code></pre>\n");
  EXPECT_EQ(render_markdown("**bold `code [link](x"), "<p>**bold `code [link](x</p>\n");
  EXPECT_EQ(render_markdown("[text](https://x.example"), "<p>[text](https://x.example</p>\n");
  EXPECT_EQ(render_markdown(""), "");
  EXPECT_EQ(render_markdown("\n\n\n"), "");
  EXPECT_EQ(render_markdown("\\*\\*not bold\\*\\* \\<b>"), "<p>**not bold** &lt;b&gt;</p>\n");
}

TEST(Markdown, DeepNestingIsBounded) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += std::string(static_cast<std::size_t>(i) * 2, ' ') + "- level\n";
  const std::string html = render_markdown(text);
  std::size_t lists = 0;
  for (std::size_t at = html.find("<ul>"); at != std::string::npos; at = html.find("<ul>", at + 1)) ++lists;
  EXPECT_GT(lists, 1u);
  EXPECT_LE(lists, 9u);  // nesting stops at 8 levels; deeper markers are text
  EXPECT_NE(html.find("- level"), std::string::npos);
}

// A megabyte on one line of each construct that opens a span: each is text, escaped, and the output stays
// within the escaping's factor (the work is linear: the same input quadratic would take minutes).
TEST(Markdown, MegabyteLinesOfOpenersStayLinearAndEscaped) {
  const std::size_t n = std::size_t(1) << 20;
  for (const std::string unit : {"[", "**", "`", "``", "](", "[a](", "<", "\\", "# ", "- ", "&\""}) {
    std::string line;
    while (line.size() < n) line += unit;
    const std::string html = render_markdown(line);
    EXPECT_LE(html.size(), line.size() * 6 + 64) << unit;
    EXPECT_EQ(html.find("<a "), std::string::npos) << unit;
    EXPECT_EQ(html.find("<strong>"), std::string::npos) << unit;
    std::size_t tags = 0;
    for (char c : html) tags += c == '<' ? 1 : 0;
    EXPECT_LE(tags, 64u) << unit;  // the block's own tags only: every '<' of the input is escaped
  }
  // A million one-character code spans and bold spans: all rendered, none lost.
  std::string spans;
  for (int i = 0; i < 100000; ++i) spans += "`a`**b**";
  const std::string html = render_markdown(spans);
  std::size_t codes = 0;
  for (std::size_t at = html.find("<code>a</code>"); at != std::string::npos;
       at = html.find("<code>a</code>", at + 1))
    ++codes;
  EXPECT_EQ(codes, 100000u);
}

}  // namespace
}  // namespace tocsin::http
