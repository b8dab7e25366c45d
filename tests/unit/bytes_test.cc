#include <catch2/catch.hpp>

#include "common/bytes.h"

namespace lanswarm {

static_assert(LoadLE<std::uint32_t>(std::array<std::uint8_t, 4>{1, 2, 3, 4}.data()) == 0x04030201);

TEST_CASE("bytes: integers are stored least significant byte first", "[bytes]") {
  Bytes b;
  PutU8(&b, 0xAB);
  PutU16(&b, 0x0102);
  PutU32(&b, 0x03040506);
  PutU64(&b, 0x0708090A0B0C0D0EULL);
  const Bytes want = {0xAB, 0x02, 0x01, 0x06, 0x05, 0x04, 0x03,
                      0x0E, 0x0D, 0x0C, 0x0B, 0x0A, 0x09, 0x08, 0x07};
  CHECK(b == want);
}

TEST_CASE("bytes: reader round-trips every width, extremes included", "[bytes]") {
  Bytes b;
  PutU8(&b, 0xFF);
  PutU16(&b, 0xFFFF);
  PutU32(&b, 0);
  PutU64(&b, UINT64_MAX);
  PutBytes(&b, AsBytes("xyz"));
  ByteReader r(b);
  std::uint8_t a;
  std::uint16_t c;
  std::uint32_t d;
  std::uint64_t e;
  ByteView v;
  REQUIRE(r.ReadU8(&a));
  REQUIRE(r.ReadU16(&c));
  REQUIRE(r.ReadU32(&d));
  REQUIRE(r.ReadU64(&e));
  REQUIRE(r.ReadView(3, &v));
  CHECK(a == 0xFF);
  CHECK(c == 0xFFFF);
  CHECK(d == 0);
  CHECK(e == UINT64_MAX);
  CHECK(std::string(v.begin(), v.end()) == "xyz");
  CHECK(r.empty());
}

TEST_CASE("bytes: a short read fails and consumes nothing", "[bytes]") {
  const Bytes b = {1, 2, 3};
  ByteReader r(b);
  std::uint32_t x = 7;
  CHECK_FALSE(r.ReadU32(&x));
  CHECK(x == 7);
  CHECK(r.position() == 0);
  ByteView v;
  CHECK_FALSE(r.ReadView(4, &v));
  CHECK_FALSE(r.Skip(4));
  CHECK(r.Skip(3));
  CHECK(r.empty());
}

}  // namespace lanswarm
