// Measures apply_diff on realistic edits of real files: the repository's own sources and
// docs (whatever exists under JOEY_SOURCE_DIR) plus the committed samples under
// tests/data/apply_diff/. Each edit replaces a unique line range; the SEARCH text is then
// perturbed the way models get it slightly wrong, and the result must be exactly the file
// with the intended edit. Success rates per perturbation go to stdout (ctest -V shows them).
#include "agent/apply_diff.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace joey::agent {
namespace {

namespace fs = std::filesystem;

// Measured: 100% on the repository and samples when this test was written. The floor leaves
// room for new files in the repository with harder (repetitive) text.
constexpr double kOverallSuccessFloor = 0.95;
constexpr int kEditsPerKind = 60;
constexpr uint32_t kSeed = 20240611;

enum class Perturbation {
  kNone,
  kReindent,
  kTrailingWhitespace,
  kStartLineOff,
  kCrlf,
  kTypo,
  kAll
};
constexpr std::array kPerturbations = {
    Perturbation::kNone,         Perturbation::kReindent, Perturbation::kTrailingWhitespace,
    Perturbation::kStartLineOff, Perturbation::kCrlf,     Perturbation::kTypo,
    Perturbation::kAll};

const char* perturbation_name(Perturbation kind) {
  switch (kind) {
    case Perturbation::kNone:
      return "exact";
    case Perturbation::kReindent:
      return "re-indented 2-4 spaces";
    case Perturbation::kTrailingWhitespace:
      return "trailing whitespace";
    case Perturbation::kStartLineOff:
      return "start_line off by <=15";
    case Perturbation::kCrlf:
      return "CRLF file, LF diff";
    case Perturbation::kTypo:
      return "one-character typo";
    case Perturbation::kAll:
      return "re-indent+typo+start_line";
  }
  return "?";
}

struct SourceFile {
  std::string path;
  std::vector<std::string> lines;
  bool ends_with_newline = true;
};

using Lines = std::vector<std::string>;

std::string trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t") - begin + 1);
}

std::optional<SourceFile> load(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  if (text.empty() || text.size() > 300'000 || text.find('\r') != std::string::npos ||
      text.find('\0') != std::string::npos) {
    return std::nullopt;
  }
  SourceFile file;
  file.path = path.string();
  std::stringstream stream(text);
  for (std::string line; std::getline(stream, line);) file.lines.push_back(line);
  file.ends_with_newline = text.back() == '\n';
  if (file.lines.size() < 8) return std::nullopt;
  return file;
}

std::vector<SourceFile> load_corpus() {
  std::vector<fs::path> paths;
  const std::vector<std::string> extensions = {".h", ".cpp", ".md", ".txt", ".py", ".yaml", ".js"};
  for (const char* dir : {"src", "tests", "docs"}) {
    const fs::path root = fs::path(JOEY_SOURCE_DIR) / dir;
    std::error_code error;
    if (!fs::is_directory(root, error)) continue;
    for (auto it = fs::recursive_directory_iterator(root, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      const std::string extension = it->path().extension().string();
      if (it->is_regular_file(error) &&
          std::find(extensions.begin(), extensions.end(), extension) != extensions.end()) {
        paths.push_back(it->path());
      }
    }
  }
  for (const auto& entry : fs::directory_iterator(fs::path(JOEY_TEST_DATA_DIR) / "apply_diff")) {
    paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  std::vector<SourceFile> corpus;
  for (const fs::path& path : paths) {
    if (std::optional<SourceFile> file = load(path)) corpus.push_back(std::move(*file));
  }
  return corpus;
}

// Portable across standard libraries (unlike std::uniform_int_distribution).
class Random {
 public:
  explicit Random(uint32_t seed) : engine_(seed) {}
  size_t below(size_t bound) { return bound == 0 ? 0 : engine_() % bound; }
  int between(int low, int high) { return low + static_cast<int>(below(high - low + 1)); }
  bool chance(int percent) { return below(100) < static_cast<size_t>(percent); }

 private:
  std::mt19937 engine_;
};

bool occurs_once_trimmed(const SourceFile& file, size_t start, size_t count) {
  int occurrences = 0;
  for (size_t i = 0; i + count <= file.lines.size(); ++i) {
    bool equal = true;
    for (size_t j = 0; j < count && equal; ++j) {
      equal = trim(file.lines[i + j]) == trim(file.lines[start + j]);
    }
    occurrences += equal ? 1 : 0;
  }
  return occurrences == 1;
}

bool needs_escape_or_skip(const std::string& line) {
  return !line.empty() &&
         (line[0] == '\\' || line.starts_with("<<<<<<<") || line.starts_with("=======") ||
          line.starts_with(">>>>>>>") || line.starts_with("-------") ||
          line.starts_with(":start_line:") || line.starts_with(":end_line:"));
}

std::string indentation_of(const std::string& line) {
  const size_t end = line.find_first_not_of(" \t");
  return end == std::string::npos ? "" : line.substr(0, end);
}

Lines make_replacement(const Lines& search, Random& random, int edit_number) {
  Lines replace = search;
  const int operations = random.between(1, 2);
  for (int op = 0; op < operations; ++op) {
    const size_t at = random.below(replace.size());
    const std::string indent = replace.empty() ? "" : indentation_of(replace[at]);
    switch (random.below(4)) {
      case 0:
        if (!replace.empty()) replace[at] += " /* changed " + std::to_string(edit_number) + " */";
        break;
      case 1:
        replace.insert(replace.begin() + static_cast<long>(at),
                       indent + "inserted_statement_" + std::to_string(edit_number) + "();");
        break;
      case 2:
        if (replace.size() > 1) replace.erase(replace.begin() + static_cast<long>(at));
        break;
      default:
        replace.assign({indent + "rewritten_block_" + std::to_string(edit_number) + "();"});
        break;
    }
  }
  if (replace == search) replace.push_back("added_line_" + std::to_string(edit_number) + "();");
  return replace;
}

void reindent(Lines& search, Lines& replace, Random& random) {
  const size_t width = static_cast<size_t>(random.between(2, 4));
  const std::string spaces(width, ' ');
  bool can_remove = true;
  for (const Lines* lines : {&search, &replace}) {
    for (const std::string& line : *lines) {
      if (!trim(line).empty() && !line.starts_with(spaces)) can_remove = false;
    }
  }
  const bool remove = can_remove && random.chance(50);
  for (Lines* lines : {&search, &replace}) {
    for (std::string& line : *lines) {
      if (trim(line).empty()) continue;
      line = remove ? line.substr(width) : spaces + line;
    }
  }
}

// Changes one character of the longest line (substitution or deletion); false if no line is
// long enough for a one-character slip to be recognisable.
bool add_typo(Lines& search, Random& random) {
  size_t longest = 0;
  for (size_t j = 1; j < search.size(); ++j) {
    if (trim(search[j]).size() > trim(search[longest]).size()) longest = j;
  }
  std::string& line = search[longest];
  if (trim(line).size() < 30) return false;
  const size_t first = line.find_first_not_of(" \t");
  const size_t position = first + random.below(trim(line).size());
  if (random.chance(50)) {
    line.erase(position, 1);
  } else {
    line[position] = line[position] == 'x' ? 'q' : 'x';
  }
  return true;
}

std::string join(const Lines& lines, bool final_newline, const std::string& eol) {
  std::string text;
  for (size_t i = 0; i < lines.size(); ++i) {
    text += lines[i];
    if (i + 1 < lines.size() || final_newline) text += eol;
  }
  return text;
}

std::string make_diff(const Lines& search, const Lines& replace, std::optional<int> start_line) {
  std::string diff = "<<<<<<< SEARCH\n";
  if (start_line) diff += ":start_line:" + std::to_string(*start_line) + "\n";
  diff += "-------\n";
  for (const std::string& line : search)
    diff += (needs_escape_or_skip(line) ? "\\" : "") + line + "\n";
  diff += "=======\n";
  for (const std::string& line : replace)
    diff += (needs_escape_or_skip(line) ? "\\" : "") + line + "\n";
  return diff + ">>>>>>> REPLACE\n";
}

struct Tally {
  int attempts = 0;
  int successes = 0;
};

TEST(ApplyDiffCorpus, AppliesPerturbedRealEditsExactly) {
  const std::vector<SourceFile> corpus = load_corpus();
  ASSERT_GE(corpus.size(), 3u) << "the samples under tests/data/apply_diff/ are missing";
  Random random(kSeed);
  std::array<Tally, kPerturbations.size()> tallies{};
  int failures_shown = 0;
  int edit_number = 0;
  for (size_t kind_index = 0; kind_index < kPerturbations.size(); ++kind_index) {
    const Perturbation kind = kPerturbations[kind_index];
    int made = 0;
    for (int tries = 0; made < kEditsPerKind && tries < kEditsPerKind * 50; ++tries) {
      const SourceFile& file = corpus[random.below(corpus.size())];
      const size_t count = static_cast<size_t>(random.between(1, 8));
      if (count > file.lines.size()) continue;
      const size_t start = random.below(file.lines.size() - count + 1);
      Lines search(file.lines.begin() + static_cast<long>(start),
                   file.lines.begin() + static_cast<long>(start + count));
      size_t text_size = 0;
      bool skip = false;
      for (const std::string& line : search) {
        text_size += trim(line).size();
        skip = skip || (!line.empty() && line[0] == '\\');
      }
      if (skip || text_size < 10 || !occurs_once_trimmed(file, start, count)) continue;

      const Lines replace_original = make_replacement(search, random, ++edit_number);
      Lines expected_lines = file.lines;
      expected_lines.erase(expected_lines.begin() + static_cast<long>(start),
                           expected_lines.begin() + static_cast<long>(start + count));
      expected_lines.insert(expected_lines.begin() + static_cast<long>(start),
                            replace_original.begin(), replace_original.end());
      Lines replace = replace_original;
      std::optional<int> start_line;
      std::string eol = "\n";
      const bool all = kind == Perturbation::kAll;
      if (kind == Perturbation::kTypo || all) {
        if (!add_typo(search, random)) continue;
      }
      if (kind == Perturbation::kReindent || all) reindent(search, replace, random);
      if (kind == Perturbation::kTrailingWhitespace) {
        for (std::string& line : search) {
          if (random.chance(60)) line += random.chance(50) ? "  " : " \t";
        }
        search.back() += " ";
      }
      if (kind == Perturbation::kStartLineOff || all) {
        int offset = random.between(-15, 15);
        if (offset == 0) offset = 7;
        start_line = std::max(1, static_cast<int>(start) + 1 + offset);
      }
      if (kind == Perturbation::kCrlf) eol = "\r\n";
      ++made;

      const std::string original = join(file.lines, file.ends_with_newline, eol);
      const std::string expected = join(expected_lines, file.ends_with_newline, eol);
      Result<ApplyDiffOutcome> outcome =
          apply_diff(original, make_diff(search, replace, start_line));
      Tally& tally = tallies[kind_index];
      ++tally.attempts;
      if (outcome.ok() && outcome->content == expected) {
        ++tally.successes;
      } else if (failures_shown++ < 8) {
        std::cout << "[corpus] " << perturbation_name(kind) << " failed at " << file.path << ":"
                  << start + 1 << ": "
                  << (outcome.ok() ? "applied, but the result differs"
                                   : outcome.error().message.substr(0, 300))
                  << "\n";
      }
    }
  }
  int attempts = 0;
  int successes = 0;
  std::cout << "[corpus] " << corpus.size() << " files, seed " << kSeed << "\n";
  for (size_t i = 0; i < kPerturbations.size(); ++i) {
    attempts += tallies[i].attempts;
    successes += tallies[i].successes;
    std::cout << "[corpus] " << std::left << std::setw(28) << perturbation_name(kPerturbations[i])
              << tallies[i].successes << "/" << tallies[i].attempts << "\n";
  }
  ASSERT_GT(attempts, 0);
  const double rate = static_cast<double>(successes) / attempts;
  std::cout << "[corpus] overall " << successes << "/" << attempts << " = " << std::fixed
            << std::setprecision(1) << rate * 100 << "%\n";
  EXPECT_GE(rate, kOverallSuccessFloor);
  EXPECT_EQ(tallies[0].successes, tallies[0].attempts) << "exact edits must always apply";
}

}  // namespace
}  // namespace joey::agent
