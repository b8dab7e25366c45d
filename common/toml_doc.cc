#include "common/toml_doc.h"

#include "common/file_util.h"

#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace lanswarm {

struct TomlDoc::Impl {
  std::string origin;
  toml::table root;
  std::set<std::string, std::less<>> used;  // dotted keys a getter asked about
};

TomlDoc::TomlDoc(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TomlDoc::TomlDoc(TomlDoc&&) noexcept = default;
TomlDoc& TomlDoc::operator=(TomlDoc&&) noexcept = default;
TomlDoc::~TomlDoc() = default;

const std::string& TomlDoc::origin() const { return impl_->origin; }

Result<TomlDoc> TomlDoc::Parse(std::string_view text, std::string origin) {
  auto impl = std::make_unique<Impl>();
  impl->origin = std::move(origin);
  try {
    impl->root = toml::parse(text, impl->origin);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(fmt::format("{}:{}:{}: not valid TOML: {}", impl->origin,
                                               e.source().begin.line, e.source().begin.column,
                                               e.description()));
  }
  return TomlDoc(std::move(impl));
}

Result<TomlDoc> TomlDoc::Load(const std::string& path, std::size_t max_bytes) {
  auto text = ReadFileBounded(path, max_bytes);
  if (!text.ok()) return text.status();
  return Parse(*text, path);
}

namespace {

int LineOf(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

const char* TypeName(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

}  // namespace

Status TomlDoc::KeyError(std::string_view key, int line, std::string_view what) const {
  if (line > 0) {
    return Status::InvalidArgument(fmt::format("{}:{}: key '{}': {}", impl_->origin, line, key, what));
  }
  return Status::InvalidArgument(fmt::format("{}: key '{}': {}", impl_->origin, key, what));
}

// Looks a dotted key up and marks it used. nullptr when absent.
static const toml::node* Find(const toml::table& root, std::set<std::string, std::less<>>& used,
                              std::string_view key) {
  used.emplace(key);
  return root.at_path(key).node();
}

Result<std::optional<std::int64_t>> TomlDoc::GetInt(std::string_view key, std::int64_t min,
                                                    std::int64_t max) {
  const toml::node* n = Find(impl_->root, impl_->used, key);
  if (n == nullptr) return std::optional<std::int64_t>();
  const auto* v = n->as_integer();
  if (v == nullptr) {
    return KeyError(key, LineOf(*n), fmt::format("expected an integer, found {}", TypeName(*n)));
  }
  std::int64_t x = v->get();
  if (x < min || x > max) {
    return KeyError(key, LineOf(*n), fmt::format("{} is out of range [{}, {}]", x, min, max));
  }
  return std::optional<std::int64_t>(x);
}

Result<std::optional<double>> TomlDoc::GetDouble(std::string_view key, double min, double max) {
  const toml::node* n = Find(impl_->root, impl_->used, key);
  if (n == nullptr) return std::optional<double>();
  double x;
  if (const auto* f = n->as_floating_point()) {
    x = f->get();
  } else if (const auto* i = n->as_integer()) {
    x = static_cast<double>(i->get());
  } else {
    return KeyError(key, LineOf(*n), fmt::format("expected a number, found {}", TypeName(*n)));
  }
  if (!(x >= min && x <= max)) {  // also rejects NaN
    return KeyError(key, LineOf(*n), fmt::format("{} is out of range [{}, {}]", x, min, max));
  }
  return std::optional<double>(x);
}

Result<std::optional<bool>> TomlDoc::GetBool(std::string_view key) {
  const toml::node* n = Find(impl_->root, impl_->used, key);
  if (n == nullptr) return std::optional<bool>();
  const auto* v = n->as_boolean();
  if (v == nullptr) {
    return KeyError(key, LineOf(*n), fmt::format("expected true or false, found {}", TypeName(*n)));
  }
  return std::optional<bool>(v->get());
}

Result<std::optional<std::string>> TomlDoc::GetString(std::string_view key) {
  const toml::node* n = Find(impl_->root, impl_->used, key);
  if (n == nullptr) return std::optional<std::string>();
  const auto* v = n->as_string();
  if (v == nullptr) {
    return KeyError(key, LineOf(*n), fmt::format("expected a string, found {}", TypeName(*n)));
  }
  return std::optional<std::string>(v->get());
}

Result<std::int64_t> TomlDoc::RequireInt(std::string_view key, std::int64_t min, std::int64_t max) {
  auto r = GetInt(key, min, max);
  if (!r.ok()) return r.status();
  if (!r->has_value()) return KeyError(key, 0, "missing");
  return **r;
}

Result<std::string> TomlDoc::RequireString(std::string_view key) {
  auto r = GetString(key);
  if (!r.ok()) return r.status();
  if (!r->has_value()) return KeyError(key, 0, "missing");
  return std::move(**r);
}

Result<std::size_t> TomlDoc::ArrayLength(std::string_view key) {
  const toml::node* n = Find(impl_->root, impl_->used, key);
  if (n == nullptr) return KeyError(key, 0, "missing");
  const auto* arr = n->as_array();
  if (arr == nullptr) {
    return KeyError(key, LineOf(*n), fmt::format("expected an array, found {}", TypeName(*n)));
  }
  return arr->size();
}

Status TomlDoc::ForEachString(std::string_view key, const StringVisitor& fn) {
  const toml::node* n = Find(impl_->root, impl_->used, key);
  if (n == nullptr) return KeyError(key, 0, "missing");
  const auto* arr = n->as_array();
  if (arr == nullptr) {
    return KeyError(key, LineOf(*n), fmt::format("expected an array, found {}", TypeName(*n)));
  }
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::node& el = *arr->get(i);
    const auto* s = el.as_string();
    if (s == nullptr) {
      return KeyError(key, LineOf(el),
                      fmt::format("element {}: expected a string, found {}", i, TypeName(el)));
    }
    LANSWARM_RETURN_IF_ERROR(fn(i, s->get(), LineOf(el)));
  }
  return Status::Ok();
}

// Depth-first over tables; the first leaf whose dotted path was never looked up.
static Status FirstUnknown(const TomlDoc& doc, const toml::table& t, const std::string& prefix,
                           const std::set<std::string, std::less<>>& used) {
  for (const auto& [k, node] : t) {
    std::string path = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (used.count(path)) continue;
    if (const auto* sub = node.as_table()) {
      LANSWARM_RETURN_IF_ERROR(FirstUnknown(doc, *sub, path, used));
      continue;
    }
    return doc.KeyError(path, LineOf(node), "unknown key");
  }
  return Status::Ok();
}

Status TomlDoc::CheckNoUnknownKeys() const { return FirstUnknown(*this, impl_->root, "", impl_->used); }

std::string TomlQuote(std::string_view s) {
  toml::value<std::string> v{std::string(s)};
  std::ostringstream os;
  os << toml::toml_formatter{v, toml::format_flags::none};
  return os.str();
}

}  // namespace lanswarm
