#pragma once
// A small Markdown renderer for the runbook pages (runbooks.hpp): ATX headings (with GitHub's
// anchors), paragraphs, bullet and numbered lists, fenced code, inline code, bold and links. Anything
// else is text, and every character of the input reaches the output escaped: the renderer writes no
// tag the input did not ask for through this syntax, and no attribute but the escaped href and id.
//
// Bounded: one pass over the lines, inline spans found through cached forward searches, so time and
// output are linear in the input (at most 6 bytes out per byte in, plus the tags). Links are links
// only for http:// and https:// URLs, absolute paths on this server (/api/v1/alerts), #anchors and
// sibling pages (`Name.md`, `Name.md#anchor`, `Name`), which become `<page_base><Name>`; any other
// target (javascript:, data:, ../ paths, //host) is shown as text, not linked.

#include <string>
#include <string_view>

namespace tocsin::http {

struct MarkdownOptions {
  // The path sibling pages are served under, ending in '/': "Name.md" links to page_base + "Name".
  std::string page_base = "/runbooks/";
};

// The HTML of `markdown` (a fragment: no <html> or <body>).
std::string render_markdown(std::string_view markdown, const MarkdownOptions& options = {});

// The target a Markdown link's href becomes, or "" when it must not be a link (see above).
std::string markdown_link_target(std::string_view href, const MarkdownOptions& options = {});

// GitHub's anchor for a heading: lower-cased, spaces to '-', only letters, digits, '-' and '_' kept.
std::string heading_anchor(std::string_view text);

}  // namespace tocsin::http
