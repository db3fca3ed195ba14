#include "client/marketplace.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <optional>
#include <set>

#include "agent/modes.h"
#include "base/atomic_file.h"
#include "base/json.h"
#include "base/paths.h"
#include "base/strings.h"
#include "client/mcp_config.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr size_t kMaxCatalogBytes = 8 << 20;
constexpr size_t kMaxItems = 10'000;

Error bad_item(const std::string& id, size_t index, const std::string& what) {
  return Error(ErrorKind::kProtocol,
               "the marketplace catalog's item " +
                   (id.empty() ? "#" + std::to_string(index + 1) : "'" + id + "'") + ": " + what);
}

// A scalar field as a string ("" when absent); kProtocol when present but not a scalar.
Result<std::string> scalar(const YAML::Node& node, const char* key, const std::string& id,
                           size_t index) {
  const YAML::Node value = node[key];
  if (!value.IsDefined() || value.IsNull()) return std::string();
  if (!value.IsScalar()) return bad_item(id, index, std::string("'") + key + "' must be text");
  return value.Scalar();
}

Result<std::vector<std::string>> scalars(const YAML::Node& node, const char* key,
                                         const std::string& id, size_t index) {
  std::vector<std::string> out;
  const YAML::Node value = node[key];
  if (!value.IsDefined() || value.IsNull()) return out;
  if (!value.IsSequence()) return bad_item(id, index, std::string("'") + key + "' must be a list");
  for (const YAML::Node& item : value) {
    if (!item.IsScalar()) return bad_item(id, index, std::string("'") + key + "' must list text");
    out.push_back(item.Scalar());
  }
  return out;
}

Result<std::vector<MarketplaceParameter>> parameters(const YAML::Node& node, const std::string& id,
                                                     size_t index) {
  std::vector<MarketplaceParameter> out;
  const YAML::Node list = node["parameters"];
  if (!list.IsDefined() || list.IsNull()) return out;
  if (!list.IsSequence()) return bad_item(id, index, "'parameters' must be a list");
  for (const YAML::Node& entry : list) {
    if (!entry.IsMap()) return bad_item(id, index, "each parameter must be a map");
    MarketplaceParameter parameter;
    parameter.name = TRY(scalar(entry, "name", id, index));
    parameter.key = TRY(scalar(entry, "key", id, index));
    parameter.placeholder = TRY(scalar(entry, "placeholder", id, index));
    if (parameter.key.empty()) return bad_item(id, index, "a parameter has no 'key'");
    const YAML::Node optional = entry["optional"];
    bool value = false;
    parameter.optional = optional.IsDefined() && optional.IsScalar() &&
                         YAML::convert<bool>::decode(optional, value) && value;
    out.push_back(std::move(parameter));
  }
  return out;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

fs::path cache_path(const fs::path& home, std::string_view type, const char* suffix) {
  return home / "marketplace" / (std::string(type) + suffix);
}

// The mode an item installs, as a YAML map joey's own loader accepts.
Result<YAML::Node> mode_node(const MarketplaceItem& item) {
  YAML::Node node;
  try {
    node = YAML::Load(item.content);
  } catch (const YAML::Exception& error) {
    return make_error(ErrorKind::kProtocol,
                      "the mode '" + item.id + "' is not valid YAML: " + error.what());
  }
  if (!node.IsMap() || !node["slug"].IsDefined() || !node["slug"].IsScalar()) {
    return make_error(ErrorKind::kProtocol, "the mode '" + item.id + "' has no slug");
  }
  YAML::Emitter check;
  YAML::Node document;
  document["customModes"].push_back(node);
  check << document;
  Result<std::vector<agent::Mode>> parsed =
      agent::parse_modes_text(check.c_str(), "marketplace item " + item.id);
  if (!parsed.ok()) return parsed.error();
  return node;
}

// A modes file as read: its text (empty for a file that does not exist yet) and its
// document. The edit works on this very text, read once.
struct ModesFile {
  std::string text;
  YAML::Node document;
};

Result<ModesFile> load_modes_file(const fs::path& file) {
  std::error_code error;
  if (!fs::exists(file, error)) {
    YAML::Node document;
    document["customModes"] = YAML::Node(YAML::NodeType::Sequence);
    return ModesFile{{}, document};
  }
  std::string text = TRY(read_file_to_string(file));
  try {
    YAML::Node document = YAML::Load(text);
    if (document.IsNull()) document = YAML::Node(YAML::NodeType::Map);
    if (!document.IsMap()) {
      return make_error(ErrorKind::kInvalidArgument, file.string() + " is not a modes file");
    }
    if (!document["customModes"].IsDefined() || document["customModes"].IsNull()) {
      document["customModes"] = YAML::Node(YAML::NodeType::Sequence);
    }
    if (!document["customModes"].IsSequence()) {
      return make_error(ErrorKind::kInvalidArgument,
                        file.string() + ": 'customModes' is not a list");
    }
    return ModesFile{std::move(text), document};
  } catch (const YAML::Exception& error) {
    return make_error(ErrorKind::kInvalidArgument,
                      file.string() + " is not valid YAML: " + error.what());
  }
}

// customModes without the mode `slug`; `found` is its (first) index when it was there.
YAML::Node without_mode(const YAML::Node& modes, const std::string& slug,
                        std::optional<size_t>& found) {
  YAML::Node kept(YAML::NodeType::Sequence);
  found.reset();
  size_t index = 0;
  for (const YAML::Node& mode : modes) {
    if (mode.IsMap() && mode["slug"].IsDefined() && mode["slug"].IsScalar() &&
        mode["slug"].Scalar() == slug) {
      if (!found) found = index;
      ++index;
      continue;
    }
    kept.push_back(mode);
    ++index;
  }
  return kept;
}

// A modes file's customModes list as lines of its text: the key's line, the items' first
// lines, and one past the list's last line (blank lines and comments at the left margin
// after it belong to what follows).
struct ModesListLines {
  std::optional<size_t> key;  // none: the file has no customModes key
  std::vector<size_t> items;
  size_t end = 0;
  size_t indent = 2;  // of the items' "-"
};

// For a line that ends in a block scalar's header (`key: |+`, `- >-`, `key: |2+  # note`):
// whether the block keeps its final line breaks (`+`); nullopt for any other line.
std::optional<bool> block_header_keeps(std::string_view line) {
  line = trim(line.substr(0, line.find(" #")));
  const size_t space = line.find_last_of(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const std::string_view before = trim(line.substr(0, space));
  const std::string_view header = line.substr(space + 1);
  if (before.empty() || (before.back() != ':' && before != "-")) return std::nullopt;
  if (header.empty() || header.size() > 3 || (header[0] != '|' && header[0] != '>')) {
    return std::nullopt;
  }
  const std::string_view indicators = header.substr(1);
  const bool valid = std::all_of(indicators.begin(), indicators.end(), [](char c) {
    return c == '+' || c == '-' || (c >= '1' && c <= '9');
  });
  if (!valid) return std::nullopt;
  return indicators.find('+') != std::string_view::npos;
}

// Whether the lines [first, end) end inside a block scalar that keeps its final line
// breaks: the blank lines after them are then that text's, not the file's. The block's
// header is the nearest header above the last line and less indented than every line
// after it (a block's own lines may be indented further than its first). A text line
// that looks like a header can mislead this; the read-back check after the edit catches
// what that would change.
bool ends_in_kept_block(const std::vector<std::string>& lines, size_t first, size_t end) {
  size_t inner = std::string::npos;  // the least indentation of the lines after
  for (size_t i = end; i-- > first;) {
    if (trim(lines[i]).empty()) continue;
    const size_t indent = lines[i].find_first_not_of(' ');
    if (inner != std::string::npos && indent < inner) {
      if (const std::optional<bool> keeps = block_header_keeps(lines[i])) return *keeps;
    }
    inner = std::min(inner, indent);
  }
  return false;
}

// Nullopt for a layout this does not edit (a flow list, a key with a value on its line).
std::optional<ModesListLines> find_modes_list(const std::vector<std::string>& lines) {
  ModesListLines list;
  for (size_t i = 0; i < lines.size() && !list.key; ++i) {
    if (!lines[i].starts_with("customModes:")) continue;
    const std::string_view rest = trim(std::string_view(lines[i]).substr(12));
    if (!rest.empty() && rest.front() != '#') return std::nullopt;
    list.key = i;
  }
  if (!list.key) return list;
  list.end = *list.key + 1;
  std::optional<size_t> indent;
  for (size_t i = *list.key + 1; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const std::string_view text = trim(line);
    if (text.empty() || line.front() == '#') continue;
    if (line.starts_with("---") || line.starts_with("...")) break;
    if (line.front() != ' ' && line.front() != '-') break;  // the next key
    list.end = i + 1;
    const size_t at = line.find_first_not_of(' ');
    if (text.front() != '-' || (indent && at != *indent)) continue;
    if (!indent) indent = at;
    list.items.push_back(i);
  }
  if (indent) list.indent = *indent;
  if (list.items.empty() && list.end != *list.key + 1) return std::nullopt;
  // A last item whose last text is a `|+` block owns the blank lines after it: removing the
  // item takes them along, and an item added after it goes after them.
  if (!list.items.empty() && ends_in_kept_block(lines, list.items.back(), list.end)) {
    while (list.end < lines.size() && trim(lines[list.end]).empty()) ++list.end;
  }
  return list;
}

// `text` as lines, each ending in a newline (the last one is given one if it has none).
std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  for (size_t start = 0; start < text.size();) {
    const size_t newline = text.find('\n', start);
    const size_t end = newline == std::string_view::npos ? text.size() : newline + 1;
    lines.emplace_back(text.substr(start, end - start));
    if (lines.back().back() != '\n') lines.back().push_back('\n');
    start = end;
  }
  return lines;
}

// Whether `text` (several lines) may be written as a literal block (`|`) and read back as
// itself: no control characters but tabs, and a first line that does not start with a
// space or end at once (a block's indentation is taken from its first line). What else a
// block could change is caught by reading the edited file back (write_modes_file).
bool fits_literal_block(std::string_view text) {
  if (text.find('\n') == std::string_view::npos) return false;
  if (text.front() == ' ' || text.front() == '\n') return false;
  return std::none_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && c != '\n' && c != '\t') || byte == 0x7f;
  });
}

// `text` as a literal block's header and lines, its lines `indent` spaces in: `|-` keeps
// no final newline, `|` one, `|+` all of them.
std::string literal_block(std::string_view text, size_t indent) {
  size_t trailing = 0;
  while (trailing < text.size() && text[text.size() - 1 - trailing] == '\n') ++trailing;
  std::string block = trailing == 0 ? "|-\n" : trailing == 1 ? "|\n" : "|+\n";
  std::string_view body = text.substr(0, text.size() - trailing);
  for (size_t start = 0;;) {
    const size_t newline = body.find('\n', start);
    const std::string_view line = body.substr(start, newline - start);
    if (!line.empty()) block.append(indent, ' ').append(line);
    block += '\n';
    if (newline == std::string_view::npos) break;
    start = newline + 1;
  }
  block.append(trailing > 1 ? trailing - 1 : 0, '\n');
  return block;
}

// Lines of a folded block (`>-`) are cut at most this many columns in, where they can be.
constexpr size_t kFoldColumns = 92;
// One line of text longer than this is folded.
constexpr size_t kFoldOver = 100;

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// Whether `text` (one long line) may be written as a folded block and read back as
// itself: no control characters, no blank at either end, and somewhere to cut it.
bool fits_folded_block(std::string_view text) {
  if (text.size() <= kFoldOver || is_blank(text.front()) || is_blank(text.back())) return false;
  return std::none_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && c != '\t') || byte == 0x7f;
  });
}

// `text` as a folded block's header and lines, `indent` spaces in: cut only at a single
// space between two other characters, which folding turns back into that space (a line
// that began or ended with a blank would keep its line break).
std::string folded_block(std::string_view text, size_t indent) {
  std::string block = ">-\n";
  size_t line_start = 0;
  size_t last_cut = std::string_view::npos;  // a space the current line could end before
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] == ' ' && !is_blank(text[i - 1]) && !is_blank(text[i + 1])) {
      if (indent + i - line_start > kFoldColumns && last_cut != std::string_view::npos) {
        block.append(indent, ' ').append(text.substr(line_start, last_cut - line_start)) += '\n';
        line_start = last_cut + 1;
      }
      last_cut = i;
    }
  }
  if (indent + text.size() - line_start > kFoldColumns && last_cut != std::string_view::npos &&
      last_cut > line_start) {
    block.append(indent, ' ').append(text.substr(line_start, last_cut - line_start)) += '\n';
    line_start = last_cut + 1;
  }
  block.append(indent, ' ').append(text.substr(line_start)) += '\n';
  return block;
}

// `mode` as one item of a block list whose "-" is `indent` spaces in. With `text_blocks`, its
// texts of several lines (custom instructions) are literal blocks and its long one-line
// texts (a role definition) folded blocks, as a person writes them, instead of one
// double-quoted line of "\n" escapes or one line hundreds of columns long.
std::string mode_item_text(const YAML::Node& mode, size_t indent, bool text_blocks) {
  YAML::Node emitted = YAML::Clone(mode);
  std::vector<std::pair<std::string, std::string>> blocks;  // placeholder, text
  if (text_blocks && emitted.IsMap()) {
    for (auto entry : emitted) {
      if (!entry.second.IsScalar()) continue;
      const std::string& value = entry.second.Scalar();
      if (!fits_literal_block(value) && !fits_folded_block(value)) continue;
      std::string placeholder = "joey-text-block-" + std::to_string(blocks.size());
      blocks.emplace_back(placeholder, value);
      entry.second = placeholder;
    }
  }
  YAML::Emitter out;
  out << YAML::BeginSeq << emitted << YAML::EndSeq;
  std::string text;
  for (std::string line : lines_of(out.c_str())) {
    for (const auto& [placeholder, value] : blocks) {
      const std::string tail = ": " + placeholder + "\n";
      if (!line.ends_with(tail)) continue;
      // The key starts after the item's "- " on its first line, after the spaces on others.
      const size_t key = line.find_first_not_of(line.starts_with("- ") ? "- " : " ");
      line.resize(line.size() - tail.size() + 2);
      // `indent` is added to the first line only.
      line += value.find('\n') == std::string::npos ? folded_block(value, indent + key + 2)
                                                    : literal_block(value, indent + key + 2);
      break;
    }
    text.append(indent, ' ').append(line);
  }
  return text;
}

// The file's text with the item at `removed` taken out and `appended` added at the end of
// customModes, everything else as it was; nullopt when the layout is not one this edits.
std::optional<std::string> edit_modes_text(const std::string& text, std::optional<size_t> removed,
                                           const YAML::Node* appended, bool text_blocks) {
  std::vector<std::string> lines = lines_of(text);
  std::optional<ModesListLines> list = find_modes_list(lines);
  if (!list) return std::nullopt;
  size_t end = list->end;
  if (removed) {
    if (*removed >= list->items.size()) return std::nullopt;
    const size_t first = list->items[*removed];
    const size_t last = *removed + 1 < list->items.size() ? list->items[*removed + 1] : list->end;
    lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(first),
                lines.begin() + static_cast<std::ptrdiff_t>(last));
    end -= last - first;
  }
  if (appended) {
    if (!list->key) {
      lines.push_back("customModes:\n");
      end = lines.size();
    }
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(end),
                 mode_item_text(*appended, list->indent, text_blocks));
  }
  std::string edited;
  for (const std::string& line : lines) edited += line;
  return edited;
}

// Whether two YAML trees hold the same values in the same order (styles aside: a list
// may be written in flow or block style; an empty list may be written as nothing, which
// load_modes_file reads as no modes).
bool same_yaml(const YAML::Node& a, const YAML::Node& b) {
  const auto empty_list = [](const YAML::Node& node) {
    return node.IsNull() || (node.IsSequence() && node.size() == 0);
  };
  if (empty_list(a) && empty_list(b)) return true;
  if (a.Type() != b.Type()) return false;
  if (a.IsScalar()) return a.Scalar() == b.Scalar();
  if (!a.IsSequence() && !a.IsMap()) return true;  // null, undefined
  if (a.size() != b.size()) return false;
  for (auto left = a.begin(), right = b.begin(); left != a.end(); ++left, ++right) {
    const bool same =
        a.IsMap() ? same_yaml(left->first, right->first) && same_yaml(left->second, right->second)
                  : same_yaml(*left, *right);
    if (!same) return false;
  }
  return true;
}

// Whether `text` reads back as `document`.
bool reads_back_as(const std::string& text, const YAML::Node& document) {
  try {
    return same_yaml(YAML::Load(text), document);
  } catch (const YAML::Exception&) {
    return false;
  }
}

// Writes `modes.document` (the file read as `modes.text`, then edited) after removing the
// item at `removed` and/or appending `appended`: as an edit of the file's own text, so that
// the user's comments, blank lines, quoting and other keys stay, when the edited text
// reads back as the document; else the document whole (comments are then lost: yaml-cpp
// keeps none), when that reads back as the document; else nothing is written (text
// yaml-cpp reads but cannot write back faithfully, such as bytes that are not UTF-8) and
// the file stays as it was.
Status write_modes_file(const fs::path& file, const ModesFile& modes, std::optional<size_t> removed,
                        const YAML::Node* appended) {
  const YAML::Node& document = modes.document;
  std::error_code error;
  fs::create_directories(file.parent_path(), error);
  // The new mode's long texts as YAML blocks, else as yaml-cpp writes them.
  for (const bool text_blocks : {true, false}) {
    std::optional<std::string> edited = edit_modes_text(modes.text, removed, appended, text_blocks);
    if (edited && reads_back_as(*edited, document)) return write_file_atomically(file, *edited);
    if (!appended) break;
  }
  YAML::Emitter out;
  out << document;
  const std::string whole = std::string(out.c_str()) + "\n";
  if (!reads_back_as(whole, document)) {
    return make_error(ErrorKind::kInvalidArgument,
                      file.string() + " holds text joey cannot write back as it reads it " +
                          "(bytes that are not UTF-8?); it is left as it was: fix it by hand");
  }
  return write_file_atomically(file, whole);
}

Result<std::vector<MarketplaceItem>> catalog_items(const YAML::Node& list, std::string_view type);

}  // namespace

Result<std::vector<MarketplaceItem>> parse_marketplace_catalog(std::string_view yaml,
                                                               std::string_view type) {
  if (yaml.size() > kMaxCatalogBytes) {
    return make_error(ErrorKind::kProtocol, "the marketplace catalog is larger than 8 MiB");
  }
  YAML::Node document;
  try {
    document = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& error) {
    return make_error(ErrorKind::kProtocol,
                      std::string("the marketplace catalog is not valid YAML: ") + error.what());
  }
  if (!document.IsMap() || !document["items"].IsSequence()) {
    return make_error(ErrorKind::kProtocol, "the marketplace catalog has no 'items' list");
  }
  try {
    return catalog_items(document["items"], type);
  } catch (const YAML::Exception& error) {
    // yaml-cpp throws on some shapes its accessors do not expect; all are bad input.
    return make_error(ErrorKind::kProtocol,
                      std::string("the marketplace catalog is malformed: ") + error.what());
  }
}

namespace {

Result<std::vector<MarketplaceItem>> catalog_items(const YAML::Node& list, std::string_view type) {
  std::vector<MarketplaceItem> items;
  std::set<std::string> ids;
  size_t index = 0;
  for (const YAML::Node& node : list) {
    if (index >= kMaxItems) {
      return make_error(ErrorKind::kProtocol, "the marketplace catalog has too many items");
    }
    if (!node.IsMap()) return bad_item("", index, "must be a map");
    MarketplaceItem item;
    item.id = TRY(scalar(node, "id", "", index));
    if (item.id.empty()) return bad_item("", index, "has no 'id'");
    if (!ids.insert(item.id).second) return bad_item(item.id, index, "appears twice");
    item.type = TRY(scalar(node, "type", item.id, index));
    if (item.type.empty()) item.type = type == "modes" ? "mode" : "mcp";
    if (item.type + "s" != type) {
      ++index;
      continue;  // a catalog may mix types; this one is asked for `type` only
    }
    item.name = TRY(scalar(node, "name", item.id, index));
    item.description = TRY(scalar(node, "description", item.id, index));
    item.author = TRY(scalar(node, "author", item.id, index));
    item.author_url = TRY(scalar(node, "authorUrl", item.id, index));
    item.url = TRY(scalar(node, "url", item.id, index));
    item.tags = TRY(scalars(node, "tags", item.id, index));
    item.prerequisites = TRY(scalars(node, "prerequisites", item.id, index));
    item.parameters = TRY(parameters(node, item.id, index));
    const YAML::Node content = node["content"];
    if (content.IsDefined() && content.IsScalar()) {
      item.content = content.Scalar();
    } else if (content.IsDefined() && content.IsSequence() && item.type == "mcp") {
      for (const YAML::Node& entry : content) {
        if (!entry.IsMap() || !entry["content"].IsDefined() || !entry["content"].IsScalar()) {
          return bad_item(item.id, index, "each install method needs 'name' and 'content'");
        }
        MarketplaceMethod method;
        method.name = TRY(scalar(entry, "name", item.id, index));
        method.content = entry["content"].Scalar();
        method.parameters = TRY(parameters(entry, item.id, index));
        item.methods.push_back(std::move(method));
      }
    }
    if (item.content.empty() && item.methods.empty()) {
      return bad_item(item.id, index, "has no 'content'");
    }
    items.push_back(std::move(item));
    ++index;
  }
  return items;
}

}  // namespace

std::vector<const MarketplaceItem*> search_marketplace(const std::vector<MarketplaceItem>& items,
                                                       std::string_view query) {
  std::vector<std::string> words;
  std::string current;
  for (char c : lower(query)) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!current.empty()) words.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) words.push_back(current);
  std::vector<std::pair<int, const MarketplaceItem*>> scored;
  for (const MarketplaceItem& item : items) {
    const std::string head = lower(item.id + " " + item.name);
    std::string tags;
    for (const std::string& tag : item.tags) tags += " " + lower(tag);
    const std::string body = lower(item.description) + tags;
    int score = 0;
    bool all = true;
    for (const std::string& word : words) {
      if (head.find(word) != std::string::npos) {
        score += 2;
      } else if (body.find(word) != std::string::npos) {
        score += 1;
      } else {
        all = false;
        break;
      }
    }
    if (all) scored.emplace_back(score, &item);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<const MarketplaceItem*> found;
  for (const auto& [score, item] : scored) found.push_back(item);
  return found;
}

Result<std::string> fetch_marketplace_catalog(const fs::path& joey_home,
                                              const std::string& base_url, std::string_view type,
                                              llm::HttpTransport& transport) {
  const fs::path body_file = cache_path(joey_home, type, ".yaml");
  const fs::path etag_file = cache_path(joey_home, type, ".etag");
  Result<std::string> cached = read_file_to_string(body_file);
  std::string etag = cached.ok() ? read_file_to_string(etag_file).value_or("") : "";

  llm::HttpRequest request;
  request.method = "GET";
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  request.url = base + "/api/marketplace/" + std::string(type);
  request.purpose = "marketplace";
  // P5: nothing that says who asks — no Authorization, no cookie, no id.
  request.headers = {{"Accept", "application/yaml"}};
  if (!etag.empty()) request.headers.emplace_back("If-None-Match", etag);
  std::string body;
  llm::HttpCallbacks callbacks;
  callbacks.on_body = [&body](std::string_view chunk) -> Status {
    if (body.size() + chunk.size() > kMaxCatalogBytes) {
      return make_error(ErrorKind::kProtocol, "the marketplace catalog is larger than 8 MiB");
    }
    body.append(chunk);
    return ok_status();
  };
  llm::HttpTimeouts timeouts;
  timeouts.first_byte = std::chrono::seconds(20);
  Result<llm::HttpResponseHead> head = transport.perform(request, timeouts, callbacks);
  if (head.ok() && head->status == 304 && cached.ok()) return std::move(cached).value();
  if (head.ok() && head->status == 200) {
    TRY(parse_marketplace_catalog(body, type));  // never cache what cannot be read
    TRY(ensure_private_dir(body_file.parent_path()));
    if (write_file_atomically(body_file, body).ok()) {
      (void)write_file_atomically(etag_file, head->header("etag"));
    }
    return body;
  }
  if (cached.ok()) return std::move(cached).value();  // offline: the last catalog seen
  const std::string why = head.ok() ? "HTTP " + std::to_string(head->status) : head.error().message;
  return make_error(ErrorKind::kNetwork,
                    "could not fetch the marketplace from " + request.url + " (" + why + ")");
}

void apply_marketplace_filter(std::vector<MarketplaceItem>& items,
                              const MarketplaceFilter& filter) {
  std::set<std::string> hidden(filter.hidden_mcps.begin(), filter.hidden_mcps.end());
  std::erase_if(items, [&](const MarketplaceItem& item) {
    return item.type == "mcp" && (filter.hide_mcps || hidden.contains(item.id));
  });
}

Result<std::string> fill_marketplace_template(const std::string& text,
                                              const std::vector<MarketplaceParameter>& parameters,
                                              const std::map<std::string, std::string>& values,
                                              bool json_template) {
  std::string out = text;
  for (const MarketplaceParameter& parameter : parameters) {
    auto found = values.find(parameter.key);
    std::string value;
    if (found != values.end()) {
      value = found->second;
    } else if (!parameter.optional) {
      return make_error(ErrorKind::kInvalidArgument,
                        "missing the parameter '" + parameter.key + "' (" + parameter.name +
                            "): pass --param " + parameter.key + "=VALUE");
    }
    if (json_template) {
      const std::string quoted = json(value).dump();
      value = quoted.substr(1, quoted.size() - 2);  // the string's inside, escaped
    }
    const std::string placeholder = "{{" + parameter.key + "}}";
    for (size_t at = out.find(placeholder); at != std::string::npos;
         at = out.find(placeholder, at + value.size())) {
      out.replace(at, placeholder.size(), value);
    }
  }
  return out;
}

Result<fs::path> install_marketplace_item(const MarketplaceItem& item, size_t method,
                                          const std::map<std::string, std::string>& values,
                                          const fs::path& target_file, bool force) {
  if (item.type == "mode") {
    YAML::Node mode = TRY(mode_node(item));
    ModesFile file = TRY(load_modes_file(target_file));
    const std::string slug = mode["slug"].Scalar();
    std::optional<size_t> found;
    YAML::Node modes = without_mode(file.document["customModes"], slug, found);
    if (found && !force) {
      return make_error(ErrorKind::kAlreadyExists, target_file.string() + " already has a mode '" +
                                                       slug + "' (pass --force to replace it)");
    }
    modes.push_back(mode);
    file.document["customModes"] = modes;
    TRY(write_modes_file(target_file, file, found, &mode));
    return target_file;
  }
  std::string text = item.content;
  std::vector<MarketplaceParameter> needed = item.parameters;
  if (text.empty()) {
    if (method >= item.methods.size()) {
      return make_error(ErrorKind::kInvalidArgument, "'" + item.id + "' has " +
                                                         std::to_string(item.methods.size()) +
                                                         " install methods; --method takes 1 to " +
                                                         std::to_string(item.methods.size()));
    }
    text = item.methods[method].content;
    needed.insert(needed.end(), item.methods[method].parameters.begin(),
                  item.methods[method].parameters.end());
  }
  const std::string filled = TRY(fill_marketplace_template(text, needed, values, true));
  json definition = parse_json(filled);
  if (definition.is_discarded() || !definition.is_object()) {
    return make_error(ErrorKind::kProtocol,
                      "the marketplace item '" + item.id + "' is not a valid MCP configuration");
  }
  TRY(add_mcp_server(target_file, item.id, definition, force));
  return target_file;
}

Status remove_marketplace_item(const MarketplaceItem& item, const fs::path& target_file) {
  if (item.type != "mode") return remove_mcp_server(target_file, item.id);
  YAML::Node mode = TRY(mode_node(item));
  ModesFile file = TRY(load_modes_file(target_file));
  std::optional<size_t> found;
  file.document["customModes"] =
      without_mode(file.document["customModes"], mode["slug"].Scalar(), found);
  if (!found) {
    return make_error(ErrorKind::kNotFound,
                      target_file.string() + " has no mode '" + mode["slug"].Scalar() + "'");
  }
  return write_modes_file(target_file, file, found, nullptr);
}

}  // namespace joey::client
