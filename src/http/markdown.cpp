#include "http/markdown.hpp"

#include <cctype>
#include <map>
#include <vector>

#include "tocsin/http/humanize.hpp"

namespace tocsin::http {

namespace markdown_impl {
namespace {

constexpr int kMaxDepth = 8;  // nested list levels; deeper markers are text

bool blank(std::string_view line) { return line.find_first_not_of(" \t") == std::string_view::npos; }

std::size_t indent_of(std::string_view line) {
  std::size_t n = 0;
  while (n < line.size() && line[n] == ' ') ++n;
  return n;
}

std::string_view trim(std::string_view s) {
  const std::size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const std::size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// The first occurrence of `needle` at or after `from`, for `from`s that only grow: a result stays the
// answer for every later `from` up to it, so a scan that asks again and again (a line of a million
// '[' without ']') searches the text once, not once per question.
class NextFinder {
 public:
  NextFinder(std::string_view text, std::string_view needle) : text_(text), needle_(needle) {}
  std::size_t next(std::size_t from) {
    if (!known_ || from < asked_ || (found_ != std::string_view::npos && from > found_)) {
      found_ = text_.find(needle_, from);
      known_ = true;
    }
    asked_ = from;
    return found_;
  }

 private:
  std::string_view text_;
  std::string_view needle_;
  bool known_ = false;
  std::size_t asked_ = 0;
  std::size_t found_ = std::string_view::npos;
};

// A fence opening line ("```lang" or "~~~"), up to 3 spaces in: its character and length; 0 if none.
std::size_t fence_length(std::string_view line, char* fence_char) {
  std::size_t i = indent_of(line);
  if (i > 3 || i >= line.size() || (line[i] != '`' && line[i] != '~')) return 0;
  const char c = line[i];
  std::size_t n = 0;
  while (i + n < line.size() && line[i + n] == c) ++n;
  if (n < 3) return 0;
  if (c == '`' && line.find('`', i + n) != std::string_view::npos) return 0;  // inline code, not a fence
  *fence_char = c;
  return n;
}

bool closes_fence(std::string_view line, char c, std::size_t length) {
  std::size_t i = indent_of(line);
  if (i > 3) return false;
  std::size_t n = 0;
  while (i + n < line.size() && line[i + n] == c) ++n;
  return n >= length && blank(line.substr(i + n));
}

// An ATX heading's level (1..6), its text in `text`; 0 when the line is none.
int heading_level(std::string_view line, std::string_view* text) {
  std::size_t i = indent_of(line);
  if (i > 3) return 0;
  int level = 0;
  while (i < line.size() && line[i] == '#' && level < 7) {
    ++i;
    ++level;
  }
  if (level == 0 || level > 6 || (i < line.size() && line[i] != ' ' && line[i] != '\t')) return 0;
  std::string_view rest = trim(line.substr(i));
  // An optional closing run of '#' preceded by a space.
  std::size_t end = rest.size();
  while (end > 0 && rest[end - 1] == '#') --end;
  if (end == 0) {
    rest = {};
  } else if (end < rest.size() && (rest[end - 1] == ' ' || rest[end - 1] == '\t')) {
    rest = trim(rest.substr(0, end));
  }
  *text = rest;
  return level;
}

// A list item's marker: "- ", "* ", "+ " or "12. ", "3) ". Sets `ordered` and returns the content's
// column (marker, then one to four spaces), 0 when the line is no item.
std::size_t list_marker(std::string_view line, bool* ordered) {
  std::size_t i = indent_of(line);
  if (i > 3 || i >= line.size()) return 0;
  std::size_t after;
  if (line[i] == '-' || line[i] == '*' || line[i] == '+') {
    *ordered = false;
    after = i + 1;
  } else {
    std::size_t d = i;
    while (d < line.size() && d - i < 9 && std::isdigit(static_cast<unsigned char>(line[d]))) ++d;
    if (d == i || d >= line.size() || (line[d] != '.' && line[d] != ')')) return 0;
    *ordered = true;
    after = d + 1;
  }
  if (after >= line.size()) return after;  // an empty item
  if (line[after] != ' ' && line[after] != '\t') return 0;
  std::size_t spaces = 0;
  while (after + spaces < line.size() && line[after + spaces] == ' ' && spaces < 4) ++spaces;
  if (after + spaces >= line.size() || spaces == 4) return after + 1;
  return after + spaces;
}

// `line` without up to `n` leading spaces.
std::string_view dedent(std::string_view line, std::size_t n) {
  return line.substr(std::min(n, indent_of(line)));
}

class Renderer {
 public:
  explicit Renderer(const MarkdownOptions& options) : options_(options) {}

  void blocks(const std::vector<std::string_view>& lines, int depth, bool tight) {
    std::size_t i = 0;
    while (i < lines.size()) {
      std::string_view line = lines[i];
      if (blank(line)) {
        ++i;
        continue;
      }
      char fence = 0;
      if (std::size_t length = fence_length(line, &fence); length > 0) {
        // To the closing fence, or to the end of the text when there is none (as CommonMark does).
        const std::size_t strip = indent_of(line);
        out_ += "<pre><code>";
        for (++i; i < lines.size() && !closes_fence(lines[i], fence, length); ++i) {
          out_ += html_escape(dedent(lines[i], strip));
          out_ += '\n';
        }
        if (i < lines.size()) ++i;
        out_ += "</code></pre>\n";
        continue;
      }
      std::string_view text;
      if (int level = heading_level(line, &text); level > 0) {
        const std::string id = unique_anchor(heading_anchor(text));
        const char digit = static_cast<char>('0' + level);
        out_ += std::string("<h") + digit + " id=\"" + html_escape(id) + "\">";
        inline_text(text, 0);
        out_ += std::string("</h") + digit + ">\n";
        ++i;
        continue;
      }
      bool ordered = false;
      if (depth < kMaxDepth && list_marker(line, &ordered) > 0) {
        i = list(lines, i, depth);
        continue;
      }
      // A paragraph: to a blank line or the start of another block.
      std::string para;
      for (; i < lines.size(); ++i) {
        std::string_view l = lines[i];
        std::string_view ignored;
        char c = 0;
        bool o = false;
        if (blank(l) || fence_length(l, &c) > 0 || heading_level(l, &ignored) > 0 ||
            (!para.empty() && list_marker(l, &o) > 0))
          break;
        if (!para.empty()) para += '\n';
        para += trim(l);
      }
      if (!tight) out_ += "<p>";
      inline_text(para, 0);
      out_ += tight ? "\n" : "</p>\n";
    }
  }

  std::string take() { return std::move(out_); }

 private:
  // The list starting at lines[i]; returns the index after it.
  std::size_t list(const std::vector<std::string_view>& lines, std::size_t i, int depth) {
    bool ordered = false;
    list_marker(lines[i], &ordered);
    const std::size_t base = indent_of(lines[i]);
    out_ += ordered ? "<ol>\n" : "<ul>\n";
    bool loose = false;
    std::vector<std::vector<std::string_view>> items;
    while (i < lines.size()) {
      bool o = false;
      const std::size_t column = list_marker(lines[i], &o);
      if (column == 0 || o != ordered || indent_of(lines[i]) < base) break;
      std::vector<std::string_view> item;
      item.push_back(lines[i].substr(std::min(column, lines[i].size())));
      ++i;
      bool in_fence = false;
      char fence = 0;
      std::size_t fence_len = 0;
      for (; i < lines.size(); ++i) {
        std::string_view l = lines[i];
        if (in_fence) {
          item.push_back(dedent(l, column));
          if (closes_fence(dedent(l, column), fence, fence_len)) in_fence = false;
          continue;
        }
        if (blank(l)) {
          // The item goes on past a blank line only when what follows is indented into it.
          std::size_t j = i;
          while (j < lines.size() && blank(lines[j])) ++j;
          if (j < lines.size() && indent_of(lines[j]) >= column) {
            item.emplace_back();
            loose = loose || list_marker(dedent(lines[j], column), &o) == 0;
            continue;
          }
          if (j < lines.size() && list_marker(lines[j], &o) > 0 && o == ordered &&
              indent_of(lines[j]) == base)
            loose = true;
          break;
        }
        if (indent_of(l) >= column) {
          std::string_view d = dedent(l, column);
          if ((fence_len = fence_length(d, &fence)) > 0) in_fence = true;
          item.push_back(d);
          continue;
        }
        // A less indented line: a new item, another block, or a paragraph's lazy continuation.
        std::string_view ignored;
        char c = 0;
        if (list_marker(l, &o) > 0 || fence_length(l, &c) > 0 || heading_level(l, &ignored) > 0) break;
        item.push_back(trim(l));
      }
      while (!item.empty() && blank(item.back())) item.pop_back();
      items.push_back(std::move(item));
      // Blank lines between items.
      std::size_t j = i;
      while (j < lines.size() && blank(lines[j])) ++j;
      bool next_ordered = false;
      if (j < lines.size() && j > i && list_marker(lines[j], &next_ordered) > 0 && next_ordered == ordered &&
          indent_of(lines[j]) >= base)
        i = j;
    }
    for (const auto& item : items) {
      out_ += "<li>";
      blocks(item, depth + 1, !loose);
      out_ += "</li>\n";
    }
    out_ += ordered ? "</ol>\n" : "</ul>\n";
    return i;
  }

  std::string unique_anchor(std::string anchor) {
    const int n = seen_[anchor]++;
    if (n > 0) anchor += "-" + std::to_string(n);
    return anchor;
  }

  // Inline code, bold and links in `text`; `depth` 0 outside bold and links, where each may open.
  void inline_text(std::string_view text, int depth) {
    NextFinder tick(text, "`");
    NextFinder double_tick(text, "``");
    NextFinder star(text, "**");
    NextFinder close_bracket(text, "]");
    NextFinder close_paren(text, ")");
    std::size_t plain = 0;  // start of the text not yet written
    auto flush = [&](std::size_t to) {
      if (to > plain) out_ += html_escape(text.substr(plain, to - plain));
    };
    std::size_t i = 0;
    while (i < text.size()) {
      const char c = text[i];
      if (c == '\\' && i + 1 < text.size() && std::ispunct(static_cast<unsigned char>(text[i + 1]))) {
        flush(i);
        out_ += html_escape(text.substr(i + 1, 1));
        i += 2;
        plain = i;
        continue;
      }
      if (c == '`') {
        std::size_t run = 1;
        while (i + run < text.size() && text[i + run] == '`') ++run;
        if (run <= 2) {
          const std::size_t close = run == 1 ? tick.next(i + 1) : double_tick.next(i + 2);
          if (close != std::string_view::npos) {
            flush(i);
            std::string_view code = text.substr(i + run, close - i - run);
            if (code.size() >= 2 && code.front() == ' ' && code.back() == ' ')
              code = code.substr(1, code.size() - 2);
            out_ += "<code>" + html_escape(code) + "</code>";
            i = close + run;
            plain = i;
            continue;
          }
        }
        i += run;  // no closing run: the backticks are text
        continue;
      }
      if (depth == 0 && c == '*' && i + 1 < text.size() && text[i + 1] == '*') {
        const std::size_t close = star.next(i + 2);
        if (close != std::string_view::npos && close > i + 2) {
          flush(i);
          out_ += "<strong>";
          inline_text(text.substr(i + 2, close - i - 2), depth + 1);
          out_ += "</strong>";
          i = close + 2;
          plain = i;
          continue;
        }
        i += 2;
        continue;
      }
      if (depth == 0 && c == '[') {
        const std::size_t close = close_bracket.next(i + 1);
        if (close != std::string_view::npos && close + 1 < text.size() && text[close + 1] == '(') {
          const std::size_t end = close_paren.next(close + 2);
          if (end != std::string_view::npos) {
            flush(i);
            const std::string_view label = text.substr(i + 1, close - i - 1);
            const std::string_view href = trim(text.substr(close + 2, end - close - 2));
            const std::string target = markdown_link_target(href, options_);
            if (!target.empty()) {
              out_ += "<a href=\"" + html_escape(target) + "\">";
              inline_text(label, depth + 1);
              out_ += "</a>";
            } else {
              inline_text(label, depth + 1);
              out_ += " (<code>" + html_escape(href) + "</code>)";
            }
            i = end + 1;
            plain = i;
            continue;
          }
        }
      }
      ++i;
    }
    flush(text.size());
  }

  const MarkdownOptions& options_;
  std::string out_;
  std::map<std::string, int> seen_;
};

bool page_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; }

}  // namespace
}  // namespace markdown_impl

std::string heading_anchor(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      out += static_cast<char>(std::tolower(u));
    } else if (c == ' ' || c == '-') {
      out += '-';
    } else if (c == '_') {
      out += '_';
    }
  }
  return out;
}

std::string markdown_link_target(std::string_view href, const MarkdownOptions& options) {
  if (href.empty()) return "";
  for (char c : href) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f || c == '\\') return "";
  }
  if (is_web_link(href)) return std::string(href);
  if (href.front() == '#') return std::string(href);
  // An absolute path on this server, never "//host" (another host, whatever the scheme).
  if (href.front() == '/') return href.size() > 1 && href[1] == '/' ? "" : std::string(href);
  // A sibling page: Name, Name.md, either with #anchor.
  const std::size_t hash = href.find('#');
  std::string_view page = href.substr(0, hash);
  const std::string_view anchor = hash == std::string_view::npos ? std::string_view() : href.substr(hash);
  if (page.size() > 3 && page.substr(page.size() - 3) == ".md") page.remove_suffix(3);
  if (page.empty()) return "";
  for (char c : page) {
    if (!markdown_impl::page_name_char(c)) return "";
  }
  return options.page_base + std::string(page) + std::string(anchor);
}

std::string render_markdown(std::string_view markdown, const MarkdownOptions& options) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start <= markdown.size()) {
    std::size_t end = markdown.find('\n', start);
    if (end == std::string_view::npos) end = markdown.size();
    std::string_view line = markdown.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (end == markdown.size()) break;
    start = end + 1;
  }
  markdown_impl::Renderer renderer(options);
  renderer.blocks(lines, 0, false);
  return renderer.take();
}

}  // namespace tocsin::http
