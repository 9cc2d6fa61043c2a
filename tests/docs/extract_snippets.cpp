// SPDX-License-Identifier: MIT
// extract_snippets: turns every ```cpp block of one Markdown file into C++
// that the test build compiles (rustdoc's doc tests, compile-only), so a
// snippet in README.md or docs/ that stops compiling fails `make test`.
//
//   extract_snippets <file.md> <name shown in errors> <context header or -> <out.cpp>
//   extract_snippets --check <file.md>...   every block is compiled or skipped
//
// A block is a function body by default (most snippets are statements). A
// Markdown comment on the line before the block says otherwise:
//   <!-- snippet: file -->            namespace scope (declarations, main())
//   <!-- snippet: skip <reason> -->   not compiled; the reason is required
// #include lines are hoisted to the top of the generated file; `#line` keeps
// compiler errors pointing at the Markdown line. Names a fragment uses but
// does not define (`reload_config()`, `jobs`) are declared in the context
// header, one per Markdown file (tests/docs/context/). Each fragment gets its
// own namespace, a file block is that namespace's body (so blocks do not see
// each other), and a file block with `int main(` stays global: one per page.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

enum class mode { fragment, file, skip };

struct block {
  mode kind = mode::fragment;
  int first_line = 0;  // 1-based line of the block's first code line
  std::vector<std::string> lines;
};

struct parse_error {
  int line;
  std::string what;
};

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Parses the ```cpp blocks of a Markdown file; throws parse_error.
std::vector<block> parse(std::istream& in) {
  std::vector<block> out;
  std::string line, pending;  // pending: the snippet marker seen just before
  int pending_line = 0, n = 0;
  bool in_block = false, in_other_fence = false;
  while (std::getline(in, line)) {
    ++n;
    const std::string t = trim(line);
    if (in_block) {
      if (starts_with(t, "```")) {
        in_block = false;
        continue;
      }
      out.back().lines.push_back(line);
      continue;
    }
    if (in_other_fence) {
      if (starts_with(t, "```")) in_other_fence = false;
      continue;
    }
    if (starts_with(t, "<!-- snippet:")) {
      pending = trim(t.substr(13));
      if (pending.size() < 3 || pending.substr(pending.size() - 3) != "-->")
        throw parse_error{n, "a snippet marker ends with -->"};
      pending = trim(pending.substr(0, pending.size() - 3));
      pending_line = n;
      continue;
    }
    if (t == "```cpp" || t == "```c++") {
      block b;
      b.first_line = n + 1;
      if (!pending.empty()) {
        if (pending == "file") {
          b.kind = mode::file;
        } else if (starts_with(pending, "skip")) {
          if (trim(pending.substr(4)).empty())
            throw parse_error{pending_line, "`snippet: skip` needs a reason"};
          b.kind = mode::skip;
        } else {
          throw parse_error{pending_line, "unknown snippet marker '" + pending +
                                              "' (file, skip <reason>)"};
        }
      }
      pending.clear();
      out.push_back(std::move(b));
      in_block = true;
      continue;
    }
    if (starts_with(t, "```")) in_other_fence = true;
    if (!t.empty() && !pending.empty())
      throw parse_error{pending_line, "a snippet marker must come right before a ```cpp block"};
  }
  if (in_block) throw parse_error{out.back().first_line - 1, "unterminated ```cpp block"};
  if (!pending.empty()) throw parse_error{pending_line, "a snippet marker with no block"};
  return out;
}

// Escapes a path for a #line directive.
std::string quoted(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + '"';
}

std::string generate(const std::vector<block>& blocks, const std::string& shown,
                     const std::string& context) {
  std::ostringstream head, body;
  head << "// Generated from " << shown << " by tests/docs/extract_snippets.cpp.\n";
  int index = 0;
  for (const block& b : blocks) {
    ++index;
    if (b.kind == mode::skip) continue;
    // A fragment becomes a function of its own namespace, a file block that
    // namespace's body; a block with main() stays global (main is only main
    // there).
    bool has_main = false;
    for (const std::string& l : b.lines) has_main = has_main || starts_with(trim(l), "int main(");
    const bool wrapped = !(b.kind == mode::file && has_main);
    if (wrapped) body << "namespace doc_snippet_" << index << " {\n";
    if (b.kind == mode::fragment) body << "[[maybe_unused]] void snippet_body() {\n";
    body << "#line " << b.first_line << ' ' << quoted(shown) << '\n';
    for (const std::string& l : b.lines) {
      if (starts_with(trim(l), "#include")) {
        head << trim(l) << '\n';
        body << '\n';  // keeps the #line numbering
      } else {
        body << l << '\n';
      }
    }
    if (b.kind == mode::fragment) body << "}\n";
    if (wrapped) body << "}  // namespace doc_snippet_" << index << "\n";
  }
  if (body.tellp() == 0) return head.str();  // nothing to compile: no headers either
  head << "#include \"docs/prelude.hpp\"\n";
  if (context != "-") head << "#include " << quoted(context) << '\n';
  return head.str() + body.str();
}

int check(int argc, char** argv) {
  int compiled = 0, skipped = 0;
  for (int i = 2; i < argc; ++i) {
    std::ifstream in(argv[i]);
    if (!in) {
      std::cerr << argv[i] << ": cannot open\n";
      return 1;
    }
    try {
      for (const block& b : parse(in)) (b.kind == mode::skip ? skipped : compiled)++;
    } catch (const parse_error& e) {
      std::cerr << argv[i] << ':' << e.line << ": " << e.what << '\n';
      return 1;
    }
  }
  std::printf("%d snippets compiled, %d skipped (each with its reason)\n", compiled, skipped);
  return compiled > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::string(argv[1]) == "--check") return check(argc, argv);
  if (argc != 5) {
    std::cerr << "usage: extract_snippets <file.md> <shown name> <context.hpp|-> <out.cpp>\n"
                 "       extract_snippets --check <file.md>...\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << argv[1] << ": cannot open\n";
    return 1;
  }
  std::vector<block> blocks;
  try {
    blocks = parse(in);
  } catch (const parse_error& e) {
    std::cerr << argv[2] << ':' << e.line << ": " << e.what << '\n';
    return 1;
  }
  const std::string text = generate(blocks, argv[2], argv[3]);
  std::ifstream old(argv[4]);
  std::stringstream was;
  was << old.rdbuf();
  if (old && was.str() == text) return 0;  // unchanged: no rebuild
  std::ofstream out(argv[4]);
  out << text;
  return out ? 0 : 1;
}
