// A parsed TOML document with typed, range-checked getters whose errors name
// the document, the line and the key ("peer.toml:12: key 'listen': ...").
//
// This is the only interface to toml++ in lanswarm: config files and
// .fileinfo files both read through it, so the library is compiled once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace lanswarm {

class TomlDoc {
 public:
  // `origin` names the document in every error (usually its path).
  static Result<TomlDoc> Parse(std::string_view text, std::string origin);
  // Reads `path` whole and parses it. Files longer than max_bytes are refused
  // before they are read, so a huge file cannot exhaust memory.
  static Result<TomlDoc> Load(const std::string& path, std::size_t max_bytes);

  TomlDoc(TomlDoc&&) noexcept;
  TomlDoc& operator=(TomlDoc&&) noexcept;
  ~TomlDoc();

  const std::string& origin() const;

  // Keys are dotted paths ("coordinator.report_interval"). The Get* calls
  // answer nullopt when the key is absent and an error when it is present
  // with the wrong type or out of [min, max]. Require* make absence an error.
  Result<std::optional<std::int64_t>> GetInt(std::string_view key, std::int64_t min,
                                             std::int64_t max);
  Result<std::optional<double>> GetDouble(std::string_view key, double min, double max);
  Result<std::optional<bool>> GetBool(std::string_view key);
  Result<std::optional<std::string>> GetString(std::string_view key);
  Result<std::int64_t> RequireInt(std::string_view key, std::int64_t min, std::int64_t max);
  Result<std::string> RequireString(std::string_view key);

  // For configs: when `key` is present (and valid), stores it in *out;
  // when absent, leaves the default in *out alone.
  Status SetIfPresent(std::string_view key, std::string* out) {
    auto v = GetString(key);
    if (!v.ok()) return v.status();
    if (v->has_value()) *out = std::move(**v);
    return Status::Ok();
  }
  Status SetIfPresent(std::string_view key, bool* out) {
    auto v = GetBool(key);
    if (!v.ok()) return v.status();
    if (v->has_value()) *out = **v;
    return Status::Ok();
  }
  template <typename Int>
  Status SetIfPresent(std::string_view key, std::int64_t min, std::int64_t max, Int* out) {
    auto v = GetInt(key, min, max);
    if (!v.ok()) return v.status();
    if (v->has_value()) *out = static_cast<Int>(**v);
    return Status::Ok();
  }
  template <typename Rep, typename Period>
  Status SetIfPresent(std::string_view key, std::int64_t min, std::int64_t max,
                      std::chrono::duration<Rep, Period>* out) {
    auto v = GetInt(key, min, max);
    if (!v.ok()) return v.status();
    if (v->has_value()) *out = std::chrono::duration<Rep, Period>(**v);
    return Status::Ok();
  }

  // Number of elements of the array at `key`; error when absent or not an array.
  Result<std::size_t> ArrayLength(std::string_view key);
  // Calls fn(index, element, line) for each element of the string array at
  // `key`, stopping at the first error fn returns. Error when any element is
  // not a string.
  using StringVisitor = std::function<Status(std::size_t, std::string_view, int)>;
  Status ForEachString(std::string_view key, const StringVisitor& fn);

  // An error naming the first key that no getter asked about, so that a typo
  // in a config file is reported instead of silently ignored.
  Status CheckNoUnknownKeys() const;

  // "<origin>:<line>: key '<key>': <what>", the format of every error here.
  Status KeyError(std::string_view key, int line, std::string_view what) const;

 private:
  struct Impl;
  explicit TomlDoc(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `s` as a TOML basic string literal, quotes and escapes included.
std::string TomlQuote(std::string_view s);

}  // namespace lanswarm
