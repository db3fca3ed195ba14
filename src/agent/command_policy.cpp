#include "agent/command_policy.h"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "base/strings.h"

namespace joey::agent {
namespace {

// Written by hand: no packaged library splits a POSIX shell command line into its
// simple commands while keeping the source text of each for messages.

constexpr size_t kNone = std::string_view::npos;
constexpr size_t kShownCommandBytes = 200;

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

std::string_view trim(std::string_view text) {
  while (!text.empty() && (is_blank(text.front()) || text.front() == '\n')) text.remove_prefix(1);
  while (!text.empty() && (is_blank(text.back()) || text.back() == '\n')) text.remove_suffix(1);
  return text;
}

// `NAME=` at the start of `text`, within its first `literal_length` bytes.
bool starts_with_assignment(std::string_view text, size_t literal_length) {
  size_t equals = text.find('=');
  if (equals == kNone || equals == 0 || equals >= literal_length) return false;
  if (!is_name_start(text[0])) return false;
  return std::all_of(text.begin(), text.begin() + static_cast<long>(equals), is_name_char);
}

// One shell word while it is being read.
struct Word {
  std::string text;               // quotes and escapes removed, expansions as written
  size_t literal_length = kNone;  // bytes of text before anything quoted, escaped or expanded
  bool has_content = false;       // "" is a word, nothing is not
  bool quoted = false;
  bool dynamic = false;  // contains an expansion
  bool redirection = false;

  void mark_quoted() {
    quoted = true;
    if (literal_length == kNone) literal_length = text.size();
    has_content = true;
  }
  void mark_dynamic() {
    mark_quoted();
    dynamic = true;
  }
};

bool is_plain(const Word& word, std::string_view text) {
  return !word.quoted && !word.dynamic && !word.redirection && word.text == text;
}

// Reserved words dropped from the start of a part: they structure commands but are
// not commands (`if grep -q x f; then rm f; fi` runs `grep` and `rm`).
bool is_reserved_word(const Word& word) {
  static constexpr std::array<std::string_view, 14> kReserved = {
      "!",  "{",     "}",     "if", "then", "else", "elif",
      "fi", "while", "until", "do", "done", "esac", "time"};
  return std::any_of(kReserved.begin(), kReserved.end(),
                     [&](std::string_view reserved) { return is_plain(word, reserved); });
}

// Headers that run nothing themselves: `for x in a b`, `case $x in`, `function f`.
bool is_header_word(const Word& word) {
  return is_plain(word, "for") || is_plain(word, "select") || is_plain(word, "case") ||
         is_plain(word, "function");
}

struct PendingHeredoc {
  std::string delimiter;
  bool expand = true;  // unquoted delimiter: $( ) and backticks in the body run
  bool strip_tabs = false;
};

// A recursive-descent reader over one piece of source text. Nested sources (backtick
// contents, here-document bodies) get their own Splitter sharing the parts list.
class Splitter {
 public:
  Splitter(std::string_view input, int depth, std::vector<CommandPart>* parts)
      : in_(input), depth_(depth), parts_(parts) {}

  // Reads commands up to the end of the input, or up to the `)` that closes the list
  // when `terminator` is ')'.
  void parse_list(char terminator) {
    while (!failed()) {
      parse_command();
      if (failed()) return;
      if (pos_ >= in_.size()) {
        if (terminator != 0) fail("a `(` or `$(` is never closed");
        return;
      }
      char c = in_[pos_++];
      if (c == ')') {
        if (terminator != ')') fail("a `)` closes nothing");
        return;
      }
      if (c == '\n') {
        read_heredocs();
      } else if (c == ';') {
        if (peek(0) == ';') ++pos_;  // `;;` and `;;&` end case items
        if (peek(0) == '&') ++pos_;
      } else if (c == '&') {
        if (peek(0) == '&') ++pos_;
      } else if (c == '|') {
        if (peek(0) == '|' || peek(0) == '&') ++pos_;
      }
    }
  }

  // Reads an unquoted here-document body: only expansions matter.
  void scan_heredoc_body() {
    Word scratch;
    while (!failed() && pos_ < in_.size()) scan_text_char(scratch, /*quotes=*/false);
  }

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  char peek(size_t offset) const { return pos_ + offset < in_.size() ? in_[pos_ + offset] : '\0'; }

  void fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }

  bool enter() {
    if (depth_ >= kMaxCommandNesting) {
      fail("it nests deeper than " + std::to_string(kMaxCommandNesting) + " levels");
      return false;
    }
    ++depth_;
    return true;
  }
  void leave() { --depth_; }

  void skip_blanks() {
    while (pos_ < in_.size()) {
      if (is_blank(in_[pos_])) {
        ++pos_;
      } else if (in_[pos_] == '\\' && peek(1) == '\n') {
        pos_ += 2;
      } else {
        break;
      }
    }
  }

  // State of the simple command being read.
  struct Command {
    std::vector<Word> words;
    Word word;
    std::string pending_redirection;  // operator (with its fd) waiting for its target
    bool pending_heredoc = false;
    bool heredoc_strip_tabs = false;
    bool compound = false;  // a subshell or a reserved word: redirections alone run nothing
  };

  void finish_word(Command& command) {
    Word& word = command.word;
    if (!word.has_content) return;
    if (!command.pending_redirection.empty()) {
      Word redirection;
      redirection.redirection = true;
      redirection.has_content = true;
      redirection.text = command.pending_redirection + word.text;
      if (command.pending_heredoc) {
        heredocs_.push_back({word.text, !word.quoted, command.heredoc_strip_tabs});
      }
      command.words.push_back(std::move(redirection));
      command.pending_redirection.clear();
      command.pending_heredoc = false;
    } else {
      command.words.push_back(std::move(word));
    }
    command.word = Word();
  }

  void read_redirection(Command& command) {
    std::string fd;
    Word& word = command.word;
    if (word.has_content) {
      bool digits = !word.quoted && !word.text.empty() &&
                    std::all_of(word.text.begin(), word.text.end(),
                                [](char c) { return c >= '0' && c <= '9'; });
      if (digits) {
        fd = word.text;
        word = Word();
      } else {
        finish_word(command);
      }
    }
    if (!command.pending_redirection.empty()) {
      fail("a redirection has no target");
      return;
    }
    static constexpr std::array<std::string_view, 12> kOperators = {
        "&>>", "&>", "<<<", "<<-", "<<", "<>", "<&", "<", ">>", ">&", ">|", ">"};
    for (std::string_view op : kOperators) {
      if (in_.substr(pos_, op.size()) == op) {
        pos_ += op.size();
        command.pending_redirection = fd + std::string(op);
        command.pending_heredoc = op == "<<" || op == "<<-";
        command.heredoc_strip_tabs = op == "<<-";
        return;
      }
    }
    fail("an unknown redirection");  // unreachable: callers stand on '<', '>' or "&>"
  }

  void parse_command() {
    skip_blanks();
    size_t start = pos_;
    size_t slot = parts_->size();
    if (slot >= kMaxCommandParts) {
      fail("it has more than " + std::to_string(kMaxCommandParts) + " parts");
      return;
    }
    parts_->emplace_back();  // the outer command goes before the parts nested in it
    Command command;
    while (!failed() && pos_ < in_.size()) {
      char c = in_[pos_];
      if (is_blank(c)) {
        finish_word(command);
        ++pos_;
      } else if (c == '\n' || c == ';' || c == '|' || c == ')') {
        break;
      } else if (c == '&') {
        if (peek(1) != '>') break;
        read_redirection(command);
      } else if (c == '#' && !command.word.has_content) {
        while (pos_ < in_.size() && in_[pos_] != '\n') ++pos_;
      } else if (c == '(') {
        if (!std::all_of(command.words.begin(), command.words.end(), is_reserved_word) ||
            command.word.has_content || !command.pending_redirection.empty()) {
          fail("it has a `(` inside a command (a function definition or an array)");
          break;
        }
        ++pos_;
        command.compound = true;
        if (!enter()) break;
        parse_list(')');
        leave();
      } else if ((c == '<' || c == '>') && peek(1) == '(') {
        size_t substitution_start = pos_;
        pos_ += 2;
        if (!enter()) break;
        parse_list(')');
        leave();
        command.word.text += in_.substr(substitution_start, pos_ - substitution_start);
        command.word.mark_dynamic();
      } else if (c == '<' || c == '>') {
        read_redirection(command);
      } else {
        scan_word_char(command.word);
      }
    }
    finish_word(command);
    if (!failed() && !command.pending_redirection.empty()) fail("a redirection has no target");
    if (failed()) return;
    std::optional<CommandPart> part = make_part(command, in_.substr(start, pos_ - start));
    if (part) {
      (*parts_)[slot] = std::move(*part);
    } else {
      parts_->erase(parts_->begin() + static_cast<long>(slot));
    }
  }

  static std::optional<CommandPart> make_part(Command& command, std::string_view source) {
    std::vector<std::string> command_words;
    std::vector<std::string> assignments;
    std::vector<std::string> redirections;
    bool dynamic_command = false;
    bool in_prefix = true;
    for (Word& word : command.words) {
      if (word.redirection) {
        redirections.push_back(std::move(word.text));
      } else if (in_prefix && assignments.empty() && is_header_word(word)) {
        return std::nullopt;
      } else if (in_prefix && assignments.empty() && is_reserved_word(word)) {
        command.compound = true;
      } else if (in_prefix && starts_with_assignment(word.text, word.literal_length)) {
        assignments.push_back(std::move(word.text));
      } else {
        if (in_prefix) dynamic_command = word.dynamic;
        in_prefix = false;
        command_words.push_back(std::move(word.text));
      }
    }
    CommandPart part;
    part.text = std::string(trim(source));
    if (!command_words.empty()) {
      part.words = std::move(command_words);
      part.dynamic_command = dynamic_command;
    } else if (!assignments.empty()) {
      part.words = std::move(assignments);
    } else if (redirections.empty() || command.compound) {
      return std::nullopt;
    }
    for (std::string& redirection : redirections) part.words.push_back(std::move(redirection));
    return part;
  }

  // One character (or quoted run, or expansion) of an unquoted word.
  void scan_word_char(Word& word) {
    char c = in_[pos_];
    if (c == '\\') {
      if (peek(1) == '\n') {
        pos_ += 2;  // line continuation
      } else if (pos_ + 1 < in_.size()) {
        word.mark_quoted();
        word.text += in_[pos_ + 1];
        pos_ += 2;
      } else {
        word.text += c;
        word.has_content = true;
        ++pos_;
      }
    } else if (c == '\'') {
      size_t close = in_.find('\'', pos_ + 1);
      if (close == kNone) {
        fail("a single quote is never closed");
        return;
      }
      word.mark_quoted();
      word.text += in_.substr(pos_ + 1, close - pos_ - 1);
      pos_ = close + 1;
    } else if (c == '"') {
      scan_double_quoted(word);
    } else if (c == '`') {
      scan_backtick(word);
    } else if (c == '$') {
      scan_dollar(word, /*in_double_quotes=*/false);
    } else {
      word.text += c;
      word.has_content = true;
      ++pos_;
    }
  }

  void scan_double_quoted(Word& word) {
    word.mark_quoted();
    ++pos_;
    while (!failed()) {
      if (pos_ >= in_.size()) {
        fail("a double quote is never closed");
        return;
      }
      char c = in_[pos_];
      if (c == '"') {
        ++pos_;
        return;
      }
      if (c == '\\' && pos_ + 1 < in_.size()) {
        char next = in_[pos_ + 1];
        if (next == '\n') {
          pos_ += 2;
          continue;
        }
        if (next == '$' || next == '`' || next == '"' || next == '\\') {
          word.text += next;
          pos_ += 2;
          continue;
        }
      }
      if (c == '$') {
        scan_dollar(word, /*in_double_quotes=*/true);
      } else if (c == '`') {
        scan_backtick(word);
      } else {
        word.text += c;
        ++pos_;
      }
    }
  }

  // `$…` at pos_: a command substitution, arithmetic, a parameter, ANSI-C or locale
  // quoting, or a lone dollar sign.
  void scan_dollar(Word& word, bool in_double_quotes) {
    size_t start = pos_;
    char next = peek(1);
    if (next == '(' && peek(2) == '(') {
      pos_ += 3;
      scan_until_close(')');
    } else if (next == '(') {
      pos_ += 2;
      if (!enter()) return;
      parse_list(')');
      leave();
    } else if (next == '{') {
      pos_ += 2;
      scan_until_close('}');
    } else if (next == '\'' && !in_double_quotes) {
      pos_ += 2;
      while (true) {
        if (pos_ >= in_.size()) {
          fail("a `$'` quote is never closed");
          return;
        }
        if (in_[pos_] == '\\') {
          pos_ = std::min(pos_ + 2, in_.size());
        } else if (in_[pos_++] == '\'') {
          break;
        }
      }
    } else if (next == '"' && !in_double_quotes) {
      ++pos_;
      scan_double_quoted(word);
      return;
    } else if (is_name_start(next)) {
      pos_ += 2;
      while (pos_ < in_.size() && is_name_char(in_[pos_])) ++pos_;
    } else if (next != '\0' && std::string_view("0123456789@*#?$!-").find(next) != kNone) {
      pos_ += 2;
    } else {
      word.text += '$';
      word.has_content = true;
      ++pos_;
      return;
    }
    word.text += in_.substr(start, pos_ - start);
    word.mark_dynamic();
  }

  // The rest of `$(( … ))` (close = ')') or `${ … }` (close = '}'): not commands, but
  // they may hold command substitutions.
  void scan_until_close(char close) {
    if (!enter()) return;
    char open = close == ')' ? '(' : '{';
    int open_count = 0;
    Word scratch;
    while (!failed()) {
      if (pos_ >= in_.size()) {
        fail(close == ')' ? "a `$((` is never closed" : "a `${` is never closed");
        break;
      }
      char c = in_[pos_];
      if (c == open) {
        ++open_count;
        ++pos_;
      } else if (c == close) {
        ++pos_;
        if (open_count > 0) {
          --open_count;
        } else if (close == '}') {
          break;
        } else if (peek(0) == ')') {
          ++pos_;
          break;
        } else {
          fail("a `$((` is closed by a single `)`");
        }
      } else {
        scan_text_char(scratch, /*quotes=*/true);
      }
    }
    leave();
  }

  // Skips one character of text where only quotes and expansions matter.
  void scan_text_char(Word& scratch, bool quotes) {
    char c = in_[pos_];
    if (c == '\\') {
      pos_ = std::min(pos_ + 2, in_.size());
    } else if (c == '$') {
      scan_dollar(scratch, /*in_double_quotes=*/!quotes);
    } else if (c == '`') {
      scan_backtick(scratch);
    } else if (quotes && c == '\'') {
      size_t close = in_.find('\'', pos_ + 1);
      if (close == kNone) {
        fail("a single quote is never closed");
        return;
      }
      pos_ = close + 1;
    } else if (quotes && c == '"') {
      scan_double_quoted(scratch);
    } else {
      ++pos_;
    }
  }

  // `…` at pos_: the contents, with the backslashes that protect `$`, '`' and '\'
  // removed, are split by a nested Splitter.
  void scan_backtick(Word& word) {
    size_t start = pos_++;
    std::string contents;
    while (true) {
      if (pos_ >= in_.size()) {
        fail("a backtick is never closed");
        return;
      }
      char c = in_[pos_];
      if (c == '`') {
        ++pos_;
        break;
      }
      if (c == '\\' && pos_ + 1 < in_.size()) {
        char next = in_[pos_ + 1];
        if (next != '$' && next != '`' && next != '\\') contents += c;
        contents += next;
        pos_ += 2;
        continue;
      }
      contents += c;
      ++pos_;
    }
    if (!enter()) return;
    Splitter inner(contents, depth_, parts_);
    inner.parse_list(0);
    leave();
    if (inner.failed()) fail(inner.error());
    word.text += in_.substr(start, pos_ - start);
    word.mark_dynamic();
  }

  // After a newline: the bodies of the here-documents started on the line just read.
  void read_heredocs() {
    std::vector<PendingHeredoc> pending = std::move(heredocs_);
    heredocs_.clear();
    for (const PendingHeredoc& doc : pending) {
      size_t body_start = pos_;
      size_t body_end = in_.size();  // an unclosed body runs to the end, as in bash
      while (pos_ < in_.size()) {
        size_t newline = in_.find('\n', pos_);
        size_t line_end = newline == kNone ? in_.size() : newline;
        std::string_view line = in_.substr(pos_, line_end - pos_);
        if (doc.strip_tabs) {
          while (!line.empty() && line.front() == '\t') line.remove_prefix(1);
        }
        size_t line_start = pos_;
        pos_ = newline == kNone ? in_.size() : newline + 1;
        if (line == doc.delimiter) {
          body_end = line_start;
          break;
        }
      }
      if (!doc.expand) continue;
      if (!enter()) return;
      Splitter body(in_.substr(body_start, body_end - body_start), depth_, parts_);
      body.scan_heredoc_body();
      leave();
      if (body.failed()) {
        fail(body.error());
        return;
      }
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
  int depth_;
  std::vector<CommandPart>* parts_;
  std::vector<PendingHeredoc> heredocs_;
  std::string error_;
};

struct Rule {
  std::string configured;
  std::vector<std::string> words;
  bool wildcard = false;
};

std::vector<std::string> split_blanks(std::string_view text) {
  std::vector<std::string> words;
  size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && (is_blank(text[pos]) || text[pos] == '\n')) ++pos;
    size_t start = pos;
    while (pos < text.size() && !is_blank(text[pos]) && text[pos] != '\n') ++pos;
    if (pos > start) words.emplace_back(text.substr(start, pos - start));
  }
  return words;
}

std::vector<Rule> compile_rules(const std::vector<std::string>& configured) {
  std::vector<Rule> rules;
  for (const std::string& text : configured) {
    std::string_view trimmed = trim(text);
    Rule rule;
    rule.configured = std::string(trimmed);
    if (trimmed == "*") {
      rule.wildcard = true;
    } else {
      auto parts = split_command(trimmed);
      if (parts.ok() && parts->size() == 1 && !(*parts)[0].dynamic_command) {
        rule.words = std::move((*parts)[0].words);
      } else {
        rule.words = split_blanks(trimmed);
      }
      if (rule.words.empty()) continue;
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

bool has_word_prefix(const std::vector<std::string>& words, const std::vector<std::string>& rule) {
  return rule.size() <= words.size() && std::equal(rule.begin(), rule.end(), words.begin());
}

std::string_view base_name(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == kNone ? path : path.substr(slash + 1);
}

bool is_wrapper(std::string_view name) {
  return name == "sudo" || name == "doas" || name == "env" || name == "command" ||
         name == "builtin" || name == "exec" || name == "nohup" || name == "time";
}

// The ways a deny rule may see a part: as written, with a path command reduced to its
// base name, and with wrappers (`sudo -E rm …`, `env A=1 rm …`) taken off.
std::vector<std::vector<std::string>> deny_views(const std::vector<std::string>& words) {
  std::vector<std::vector<std::string>> views;
  std::vector<std::string> current = words;
  for (int round = 0; round < 8 && !current.empty(); ++round) {
    views.push_back(current);
    std::string_view name = base_name(current[0]);
    if (name.size() != current[0].size() && !name.empty()) {
      std::vector<std::string> by_name = current;
      by_name[0] = std::string(name);
      views.push_back(std::move(by_name));
    }
    if (!is_wrapper(name)) break;
    size_t next = 1;
    while (next < current.size() &&
           (current[next].starts_with("-") || starts_with_assignment(current[next], kNone))) {
      ++next;
    }
    current.erase(current.begin(), current.begin() + static_cast<long>(next));
  }
  return views;
}

// The longest rule matching any of `views` (nullptr when none); wildcards match with
// length 0, and only wildcards match a part whose command name is computed.
const Rule* best_rule(const std::vector<Rule>& rules,
                      const std::vector<std::vector<std::string>>& views, bool dynamic,
                      size_t* length) {
  const Rule* best = nullptr;
  for (const Rule& rule : rules) {
    bool matches = rule.wildcard;
    if (!matches && !dynamic) {
      matches = std::any_of(views.begin(), views.end(),
                            [&](const auto& view) { return has_word_prefix(view, rule.words); });
    }
    if (!matches) continue;
    size_t rule_length = rule.wildcard ? 0 : rule.words.size();
    if (best == nullptr || rule_length > *length) {
      best = &rule;
      *length = rule_length;
    }
  }
  return best;
}

std::string quote_for_message(std::string_view text) {
  if (text.size() <= kShownCommandBytes) return "`" + std::string(text) + "`";
  return "`" + std::string(utf8_prefix(text, kShownCommandBytes)) + "…`";
}

CommandVerdict denied_verdict(std::string_view part, const Rule& rule) {
  CommandVerdict verdict;
  verdict.decision = CommandDecision::kDenied;
  verdict.part = std::string(part);
  verdict.rule = rule.configured;
  verdict.reason = rule.wildcard ? "every command is denied (rule `*`)"
                                 : quote_for_message(part) + " matches the denied prefix `" +
                                       rule.configured + "`";
  return verdict;
}

CommandVerdict unsplittable_verdict(const std::vector<Rule>& denied, std::string_view command,
                                    const std::string& problem) {
  std::string_view trimmed = trim(command);
  size_t length = 0;
  // Even unsplit, a command that plainly starts with a denied prefix is denied.
  if (const Rule* rule = best_rule(denied, deny_views(split_blanks(trimmed)), false, &length)) {
    return denied_verdict(trimmed, *rule);
  }
  CommandVerdict verdict;
  verdict.decision = CommandDecision::kAsk;
  verdict.part = trimmed.size() <= kMaxPolicyCommandBytes
                     ? std::string(trimmed)
                     : std::string(utf8_prefix(trimmed, kShownCommandBytes)) + "…";
  verdict.reason = "joey cannot split this command into simple commands (" + problem +
                   "), so only a person can approve it";
  return verdict;
}

}  // namespace

const char* command_decision_name(CommandDecision decision) {
  switch (decision) {
    case CommandDecision::kAllowed:
      return "allowed";
    case CommandDecision::kDenied:
      return "denied";
    case CommandDecision::kAsk:
      return "ask";
  }
  return "ask";
}

Result<std::vector<CommandPart>> split_command(std::string_view command) {
  if (command.size() > kMaxPolicyCommandBytes) {
    return make_error(
        ErrorKind::kInvalidArgument,
        "it is longer than " + std::to_string(kMaxPolicyCommandBytes / 1024) + " KiB");
  }
  if (command.find('\0') != kNone) {
    return make_error(ErrorKind::kInvalidArgument, "it contains a NUL byte");
  }
  std::vector<CommandPart> parts;
  Splitter splitter(command, 0, &parts);
  splitter.parse_list(0);
  if (splitter.failed()) return make_error(ErrorKind::kInvalidArgument, splitter.error());
  return parts;
}

CommandVerdict evaluate_command(const CommandPolicy& policy, std::string_view command) {
  std::vector<Rule> allowed = compile_rules(policy.allowed);
  std::vector<Rule> denied = compile_rules(policy.denied);
  auto parts = split_command(command);
  if (!parts.ok()) return unsplittable_verdict(denied, command, parts.error().message);
  if (parts->empty()) {
    CommandVerdict verdict;
    verdict.part = std::string(trim(command));
    verdict.reason = "the command runs nothing a rule could match";
    return verdict;
  }

  std::optional<CommandVerdict> first_ask;
  std::optional<CommandVerdict> first_allowed;
  for (const CommandPart& part : *parts) {
    size_t deny_length = 0;
    size_t allow_length = 0;
    const Rule* deny =
        best_rule(denied, deny_views(part.words), part.dynamic_command, &deny_length);
    const Rule* allow = best_rule(allowed, {part.words}, part.dynamic_command, &allow_length);
    if (part.dynamic_command) allow = nullptr;  // not even "*" knows what will run
    if (deny != nullptr && (allow == nullptr || deny_length >= allow_length)) {
      return denied_verdict(part.text, *deny);
    }
    if (allow == nullptr) {
      if (!first_ask) {
        first_ask = CommandVerdict{};
        first_ask->part = part.text;
        first_ask->reason = part.dynamic_command
                                ? "the command name in " + quote_for_message(part.text) +
                                      " is computed when it runs, so no allow rule can approve it"
                                : quote_for_message(part.text) + " matches no allowed prefix";
      }
    } else if (!first_allowed) {
      first_allowed = CommandVerdict{
          CommandDecision::kAllowed, part.text, allow->configured,
          quote_for_message(part.text) + " matches the allowed prefix `" + allow->configured + "`"};
    }
  }
  if (first_ask) return *first_ask;
  if (parts->size() > 1) first_allowed->reason = "every part matches an allowed prefix";
  return *first_allowed;
}

}  // namespace joey::agent
