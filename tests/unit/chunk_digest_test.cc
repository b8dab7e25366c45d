// The digests a .fileinfo may name: known answers against published test
// vectors, streaming against one-shot, the packed list, the cryptographic
// file id, names, and an XXH3 collision the cryptographic digests see.
#include <cctype>

#include <catch2/catch.hpp>
#include <sodium.h>
#include <xxhash.h>

#include "common/hex.h"
#include "fileinfo/chunk_hasher.h"
#include "tests/support/temp_dir.h"
#include "tests/support/xxh3_collision.h"

namespace lanswarm {

namespace {

constexpr DigestAlgorithm kAll[] = {DigestAlgorithm::kXxh3, DigestAlgorithm::kSha256, DigestAlgorithm::kBlake2b};

std::string HexOf(DigestAlgorithm a, std::string_view input) { return HashChunk(a, input.data(), input.size()).ToHex(); }

}  // namespace

// SHA-256: FIPS 180-2, appendix B (and NIST's examples) for "abc" and the
// 448-bit message; the empty string's digest as published with SHA-2.
TEST_CASE("HashChunk: SHA-256 matches the FIPS 180-2 test vectors", "[digest]") {
  CHECK(HexOf(DigestAlgorithm::kSha256, "") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(HexOf(DigestAlgorithm::kSha256, "abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(HexOf(DigestAlgorithm::kSha256, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

// BLAKE2b with a 32-byte output and no key (BLAKE2b-256), whose parameter
// block differs from BLAKE2b-512's, so its digest is not a prefix of that
// one: the published BLAKE2b-256 values for "" and "abc".
TEST_CASE("HashChunk: BLAKE2b-256 matches the published test vectors", "[digest]") {
  CHECK(HexOf(DigestAlgorithm::kBlake2b, "") == "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  CHECK(HexOf(DigestAlgorithm::kBlake2b, "abc") == "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

TEST_CASE("HashChunk: XXH3 is XXH3-64 with seed 0, most significant byte first", "[digest]") {
  const std::string data = testing::RandomBytes(5000, 1);
  const ChunkDigest d = HashChunk(DigestAlgorithm::kXxh3, data.data(), data.size());
  CHECK(d.size() == 8);
  CHECK(d.ToHex() == HexU64(XXH3_64bits(data.data(), data.size())));
  CHECK(d == ChunkDigest::FromXxh3(XXH3_64bits(data.data(), data.size())));
}

TEST_CASE("ChunkHasher: any split into pieces gives the one-shot digest, and Finish starts the next chunk",
          "[digest]") {
  const std::string data = testing::RandomBytes(3 * 65536 + 123, 2);
  for (DigestAlgorithm a : kAll) {
    INFO(DigestName(a));
    const ChunkDigest want = HashChunk(a, data.data(), data.size());
    ChunkHasher h(a);
    for (std::size_t piece : {std::size_t{1}, std::size_t{63}, std::size_t{4096}, std::size_t{65536}, data.size()}) {
      INFO("pieces of " << piece);
      for (std::size_t at = 0; at < data.size(); at += piece) h.Update(data.data() + at, std::min(piece, data.size() - at));
      CHECK(h.Finish() == want);  // and the hasher is fresh again for the next round
    }
    h.Update("junk", 4);
    h.Reset();
    h.Update(data.data(), data.size());
    CHECK(h.Finish() == want);
    CHECK(h.Finish() == HashChunk(a, nullptr, 0));  // nothing fed since
  }
}

TEST_CASE("ChunkDigest: hex round trip with the algorithm's exact length", "[digest]") {
  for (DigestAlgorithm a : kAll) {
    INFO(DigestName(a));
    const ChunkDigest d = HashChunk(a, "x", 1);
    CHECK(d.ToHex().size() == 2 * DigestSize(a));
    CHECK(ChunkDigest::FromHex(a, d.ToHex()) == d);
    std::string upper = d.ToHex();
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(ChunkDigest::FromHex(a, upper) == d);
    CHECK_FALSE(ChunkDigest::FromHex(a, d.ToHex().substr(1)));
    CHECK_FALSE(ChunkDigest::FromHex(a, d.ToHex() + "0"));
    CHECK_FALSE(ChunkDigest::FromHex(a, d.ToHex().substr(1) + "g"));
  }
  CHECK(DigestSize(DigestAlgorithm::kXxh3) == 8);
  CHECK_FALSE(ChunkDigest::FromHex(DigestAlgorithm::kSha256, std::string(16, 'a')));
  CHECK_FALSE(ChunkDigest::FromHex(DigestAlgorithm::kXxh3, std::string(64, 'a')));
  // Same bytes under another algorithm are another digest.
  const std::string h64(64, 'a');
  CHECK_FALSE(ChunkDigest::FromHex(DigestAlgorithm::kSha256, h64) == ChunkDigest::FromHex(DigestAlgorithm::kBlake2b, h64));
}

TEST_CASE("ChunkDigestList: packed at the algorithm's size, each entry as set", "[digest]") {
  for (DigestAlgorithm a : kAll) {
    INFO(DigestName(a));
    ChunkDigestList list(a, 3);
    CHECK(list.size() == 3);
    CHECK(list.packed().size() == 3 * DigestSize(a));  // no 32-byte slot for an 8-byte XXH3
    const ChunkDigest one = HashChunk(a, "1", 1), two = HashChunk(a, "2", 1);
    list.Set(1, one);
    list.Append(two);
    CHECK(list.size() == 4);
    CHECK(list[1] == one);
    CHECK(list[3] == two);
    CHECK(list.Matches(1, one));
    CHECK_FALSE(list.Matches(1, two));
    CHECK_FALSE(list.Matches(0, one));
    list.Resize(2);
    CHECK(list.size() == 2);
    CHECK(list[1] == one);
  }
  // A digest of another algorithm never matches, even where the bytes agree.
  ChunkDigestList sha(DigestAlgorithm::kSha256, 1);
  CHECK_FALSE(sha.Matches(0, *ChunkDigest::FromHex(DigestAlgorithm::kBlake2b, std::string(64, '0'))));
  CHECK(sha.Matches(0, *ChunkDigest::FromHex(DigestAlgorithm::kSha256, std::string(64, '0'))));
}

TEST_CASE("CryptoFileId: the first 16 bytes of the file's algorithm over the chunk digests in order", "[digest]") {
  const std::string a = testing::RandomBytes(1000, 3), b = testing::RandomBytes(10, 4);
  ChunkDigestList sha(DigestAlgorithm::kSha256);
  sha.Append(HashChunk(DigestAlgorithm::kSha256, a.data(), a.size()));
  sha.Append(HashChunk(DigestAlgorithm::kSha256, b.data(), b.size()));
  std::uint8_t want[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(want, sha.packed().data(), sha.packed().size());
  CHECK(CryptoFileId(sha).ToHex() == HexBytes(ByteView(want, 16)));

  ChunkDigestList blake(DigestAlgorithm::kBlake2b);
  blake.Append(HashChunk(DigestAlgorithm::kBlake2b, a.data(), a.size()));
  std::uint8_t want2[32];
  crypto_generichash(want2, 32, blake.packed().data(), blake.packed().size(), nullptr, 0);
  CHECK(CryptoFileId(blake).ToHex() == HexBytes(ByteView(want2, 16)));

  // Order matters; a zero-byte file (no chunks) has the digest of nothing.
  ChunkDigestList swapped(DigestAlgorithm::kSha256);
  swapped.Append(sha[1]);
  swapped.Append(sha[0]);
  CHECK_FALSE(CryptoFileId(swapped) == CryptoFileId(sha));
  CHECK(CryptoFileId(ChunkDigestList(DigestAlgorithm::kSha256)).ToHex() == "e3b0c44298fc1c149afbf4c8996fb924");
}

TEST_CASE("ParseDigestName: the three names, and one line listing them for anything else", "[digest]") {
  for (DigestAlgorithm a : kAll) CHECK(*ParseDigestName(DigestName(a)) == a);
  for (const char* bad : {"md5", "SHA256", "sha-256", "", "blake2b-512", "xxh3\n"}) {
    INFO(bad);
    auto r = ParseDigestName(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("expected xxh3, sha256 or blake2b") != std::string::npos);
    CHECK(r.status().message().find('\n') == std::string::npos);
  }
}

TEST_CASE("XXH3 collision: a crafted twin passes XXH3, chunk and whole file, and fails SHA-256 and BLAKE2b",
          "[digest][security]") {
  constexpr std::size_t kChunk = 256 * 1024;
  std::string chunk = testing::RandomBytes(kChunk, 5);
  const std::string twin = testing::MakeXxh3Twin(&chunk);
  REQUIRE(twin != chunk);
  CHECK(HashChunk(DigestAlgorithm::kXxh3, twin.data(), kChunk) == HashChunk(DigestAlgorithm::kXxh3, chunk.data(), kChunk));
  CHECK_FALSE(HashChunk(DigestAlgorithm::kSha256, twin.data(), kChunk) ==
              HashChunk(DigestAlgorithm::kSha256, chunk.data(), kChunk));
  CHECK_FALSE(HashChunk(DigestAlgorithm::kBlake2b, twin.data(), kChunk) ==
              HashChunk(DigestAlgorithm::kBlake2b, chunk.data(), kChunk));
  // As chunk 1 of a three-chunk file, the file's XXH3-128 (its id) is the
  // same too: with --digest xxh3 nothing would tell the two files apart.
  const std::string head = testing::RandomBytes(kChunk, 6), tail = testing::RandomBytes(1000, 7);
  const std::string real = head + chunk + tail, fake = head + twin + tail;
  const XXH128_hash_t r = XXH3_128bits(real.data(), real.size()), f = XXH3_128bits(fake.data(), fake.size());
  CHECK(r.high64 == f.high64);
  CHECK(r.low64 == f.low64);
}

}  // namespace lanswarm
