// bin/fileinfo: make, show and check .fileinfo files.
//
// Exit codes: 0 success (verify: the file is whole); 1 verify found damage,
// or the result could not be written; 2 bad usage or unreadable/invalid input.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/cli_parse.h"
#include "common/exit_codes.h"
#include "common/progress_line.h"
#include "common/status_line.h"
#include "common/units.h"
#include "fileinfo/fileinfo.h"
#include "fileinfo/scan.h"

namespace lanswarm {
namespace {

// Files smaller than this hash too fast for a progress line to help.
constexpr std::uint64_t kProgressMinBytes = 256u << 20;

int Fail(int code, const Status& s) {
  std::fprintf(stderr, "fileinfo: %s\n", s.message().c_str());
  return code;
}

struct CreateArgs {
  std::string file, out, chunk_size, digest = std::string(DigestName(kDefaultDigest));
  bool force = false, quiet = false;
  unsigned threads = 0;
};

int RunCreate(const CreateArgs& a) {
  std::uint64_t chunk_size = 0;
  if (!a.chunk_size.empty()) {
    auto cs = ParseSize(a.chunk_size);
    if (!cs.ok()) return Fail(kExitUsage, cs.status().Prefixed("--chunk-size"));
    if (!IsValidChunkSize(*cs)) {
      return Fail(kExitUsage, Status::InvalidArgument(fmt::format(
                                  "--chunk-size {}: must be a power of two from 256K to 16M", a.chunk_size)));
    }
    chunk_size = *cs;
  }
  auto digest = ParseDigestName(a.digest);
  if (!digest.ok()) return Fail(kExitUsage, digest.status().Prefixed("--digest"));
  const std::string out = a.out.empty() ? a.file + ".fileinfo" : a.out;
  if (out != "-" && !a.force && ::access(out.c_str(), F_OK) == 0) {
    return Fail(kExitUsage, Status::AlreadyExists(out + ": already exists (use --force to replace it)"));
  }

  HashOptions opts;
  opts.threads = a.threads;
  struct stat st;
  const bool big = ::stat(a.file.c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) >= kProgressMinBytes;
  ProgressLine progress(stderr, !a.quiet && big && StatusLine::IsTerminal(stderr), "hashing");
  opts.progress = [&](std::uint64_t done, std::uint64_t total) { progress.Update(done, total); };

  auto info = CreateFileInfo(a.file, chunk_size, *digest, opts);
  progress.Finish();
  if (!info.ok()) return Fail(kExitUsage, info.status());

  if (out == "-") {
    std::fputs(SerializeFileInfo(*info).c_str(), stdout);
    return std::fflush(stdout) == 0 ? kExitOk : Fail(kExitFailed, Status::IOError("stdout: write failed"));
  }
  if (Status s = SaveFileInfo(*info, out, a.force); !s.ok()) return Fail(kExitFailed, s);
  if (!a.quiet) {
    // The default's line is the one it always was; another digest is named.
    const std::string named = *digest == kDefaultDigest ? "" : fmt::format(", {}", DigestName(*digest));
    std::printf("%s: %s, %u chunks of %s%s, id %s\n", out.c_str(), FormatBytes(info->size).c_str(),
                info->chunk_count(), FormatBytes(info->chunk_size).c_str(), named.c_str(), info->id.ToHex().c_str());
  }
  return kExitOk;
}

int RunShow(const std::string& path, bool json, bool chunks) {
  auto info = LoadFileInfo(path);
  if (!info.ok()) return Fail(kExitUsage, info.status());
  const ChunkLayout layout = info->layout();
  if (json) {
    nlohmann::json j = {
        {"version", kFileInfoVersion},      {"name", info->name},
        {"size", info->size},               {"chunk_size", info->chunk_size},
        {"chunk_count", info->chunk_count()}, {"last_chunk_size", layout.last_length()},
        {"file_id", info->id.ToHex()},        {"digest", DigestName(info->digest())},
    };
    nlohmann::json list = nlohmann::json::array();
    for (std::uint32_t c = 0; c < info->chunk_count(); ++c) list.push_back(info->chunks[c].ToHex());
    j["chunks"] = std::move(list);
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("name        %s\n", info->name.c_str());
  std::printf("size        %s (%llu bytes)\n", FormatBytes(info->size).c_str(),
              static_cast<unsigned long long>(info->size));
  std::printf("chunk size  %s (%u bytes)\n", FormatBytes(info->chunk_size).c_str(), info->chunk_size);
  std::printf("chunks      %u (last %s)\n", info->chunk_count(), FormatBytes(layout.last_length()).c_str());
  std::printf("digest      %s (%s per chunk)\n", std::string(DigestName(info->digest())).c_str(),
              std::string(DigestTitle(info->digest())).c_str());
  std::printf("file id     %s\n", info->id.ToHex().c_str());
  if (chunks) {
    // The column names the algorithm in lower case, "xxh3-64" as before.
    std::string title(DigestTitle(info->digest()));
    std::transform(title.begin(), title.end(), title.begin(), [](unsigned char ch) { return std::tolower(ch); });
    for (std::uint32_t c = 0; c < info->chunk_count(); ++c) {
      std::printf("chunk %u  offset %llu  length %u  %s %s\n", c, static_cast<unsigned long long>(layout.offset(c)),
                  layout.length(c), title.c_str(), info->chunks[c].ToHex().c_str());
    }
  }
  return kExitOk;
}

int RunVerify(const std::string& fileinfo_path, const std::string& file, bool json, bool quiet,
              unsigned threads) {
  auto info = LoadFileInfo(fileinfo_path);
  if (!info.ok()) return Fail(kExitUsage, info.status());
  HashOptions opts;
  opts.threads = threads;
  ProgressLine progress(stderr, !quiet && !json && info->size >= kProgressMinBytes && StatusLine::IsTerminal(stderr),
                        "verifying");
  opts.progress = [&](std::uint64_t done, std::uint64_t total) { progress.Update(done, total); };
  auto report = VerifyFile(file, *info, opts);
  progress.Finish();
  if (!report.ok()) return Fail(kExitUsage, report.status());

  const ChunkLayout layout = info->layout();
  if (json) {
    nlohmann::json bad = nlohmann::json::array();
    for (std::uint32_t c : report->bad_chunks) bad.push_back(c);
    nlohmann::json j = {{"whole", report->whole()},
                        {"expected_size", report->expected_size},
                        {"actual_size", report->actual_size},
                        {"chunk_count", report->chunk_count},
                        {"bad_chunks", std::move(bad)},
                        {"file_id_matches", report->id_matches}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    if (report->actual_size != report->expected_size) {
      std::printf("size: %llu bytes, expected %llu\n", static_cast<unsigned long long>(report->actual_size),
                  static_cast<unsigned long long>(report->expected_size));
    }
    if (!quiet) {
      for (std::uint32_t c : report->bad_chunks) {
        std::printf("bad chunk %u (bytes %llu-%llu)\n", c, static_cast<unsigned long long>(layout.offset(c)),
                    static_cast<unsigned long long>(layout.offset(c) + layout.length(c) - 1));
      }
    }
    if (report->whole()) {
      std::printf("%s: whole, %u chunks ok, id %s\n", file.c_str(), report->chunk_count, info->id.ToHex().c_str());
    } else if (report->bad_chunks.empty()) {
      std::printf("%s: damaged: every chunk matches but the file id does not\n", file.c_str());
    } else {
      std::printf("%s: damaged: %zu of %u chunks bad\n", file.c_str(), report->bad_chunks.size(),
                  report->chunk_count);
    }
  }
  return report->whole() ? kExitOk : kExitFailed;
}

int Main(int argc, char** argv) {
  CLI::App app{"Make, show and check .fileinfo files (lanswarm).\n"
               "Exit codes: 0 success; 1 verify found damage or the output could not be written;\n"
               "2 bad usage or unreadable/invalid input.",
               "fileinfo"};
  app.require_subcommand(1);

  CreateArgs ca;
  auto* create = app.add_subcommand("create", "Hash a file and write its .fileinfo");
  create->add_option("file", ca.file, "The file to describe")->required();
  create->add_option("-o,--output", ca.out, "Where to write the .fileinfo ('-' for stdout; default <file>.fileinfo)");
  create->add_option("--chunk-size", ca.chunk_size,
                     "Chunk size, a power of two from 256K to 16M (default: automatic, about 1,000-4,000 chunks)");
  create->add_option("--digest", ca.digest,
                     "Chunk checksum: xxh3 (default; fast, catches accidents), sha256 or blake2b (cryptographic: "
                     "also a cluster member serving chosen bytes; slower, see doc/security.md)");
  create->add_flag("-f,--force", ca.force, "Replace an existing output file");
  create->add_flag("-q,--quiet", ca.quiet, "Print nothing on success, no progress line");
  create->add_option("--threads", ca.threads, "Hashing threads (default: one per core)")->check(CLI::Range(1, 256));

  std::string show_path;
  bool show_json = false, show_chunks = false;
  auto* show = app.add_subcommand("show", "Print what a .fileinfo describes");
  show->add_option("fileinfo", show_path, "The .fileinfo to read")->required();
  show->add_flag("--json", show_json, "Print JSON, checksums included");
  show->add_flag("--chunks", show_chunks, "Also list every chunk's offset, length and checksum");

  std::string v_info, v_file;
  bool v_json = false, v_quiet = false;
  unsigned v_threads = 0;
  auto* verify = app.add_subcommand("verify", "Check a file against its .fileinfo; list bad chunks (exit 1 if any)");
  verify->add_option("fileinfo", v_info, "The .fileinfo describing the file")->required();
  verify->add_option("file", v_file, "The file to check")->required();
  verify->add_flag("--json", v_json, "Print the report as JSON");
  verify->add_flag("-q,--quiet", v_quiet, "Print only the summary line");
  verify->add_option("--threads", v_threads, "Hashing threads (default: one per core)")->check(CLI::Range(1, 256));

  if (auto exit_code = ParseCommandLine(app, argc, argv)) return *exit_code;

  if (create->parsed()) return RunCreate(ca);
  if (show->parsed()) return RunShow(show_path, show_json, show_chunks);
  return RunVerify(v_info, v_file, v_json, v_quiet, v_threads);
}

}  // namespace
}  // namespace lanswarm

int main(int argc, char** argv) { return lanswarm::Main(argc, argv); }
