#include "fileinfo/digest_algorithm.h"

#include <fmt/format.h>

namespace lanswarm {

std::string_view DigestName(DigestAlgorithm a) {
  switch (a) {
    case DigestAlgorithm::kXxh3: return "xxh3";
    case DigestAlgorithm::kSha256: return "sha256";
    case DigestAlgorithm::kBlake2b: return "blake2b";
  }
  return "?";
}

std::string_view DigestTitle(DigestAlgorithm a) {
  switch (a) {
    case DigestAlgorithm::kXxh3: return "XXH3-64";
    case DigestAlgorithm::kSha256: return "SHA-256";
    case DigestAlgorithm::kBlake2b: return "BLAKE2b-256";
  }
  return "?";
}

Result<DigestAlgorithm> ParseDigestName(std::string_view name) {
  for (DigestAlgorithm a : {DigestAlgorithm::kXxh3, DigestAlgorithm::kSha256, DigestAlgorithm::kBlake2b}) {
    if (name == DigestName(a)) return a;
  }
  // The name is quoted through fmt's escaping, so a name with a newline
  // or a control character still makes a one-line error.
  return Status::InvalidArgument(fmt::format("unknown digest {:?} (expected xxh3, sha256 or blake2b)", name));
}

}  // namespace lanswarm
