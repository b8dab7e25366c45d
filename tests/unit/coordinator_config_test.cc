// Cross-key checks of the coordinator's configuration.
#include "coordinator/config.h"

#include <catch2/catch.hpp>

#include "common/proto/codec.h"
#include "tests/support/temp_dir.h"

namespace lanswarm::coordinator {

namespace {
bool Has(const Status& s, const std::string& part) { return s.message().find(part) != std::string::npos; }
}  // namespace

TEST_CASE("coordinator config: max_files_per_report must fit max_message_bytes, to the byte", "[config]") {
  Config c;
  c.table.max_files_per_report = 1000;
  c.max_message_bytes = static_cast<std::uint32_t>(proto::ReportPayloadBytes(1000));
  CHECK(ValidateConfig(c).ok());
  // The largest report the limits admit is one the decoder takes at that limit.
  proto::Report report;
  report.files.resize(1000);
  const Bytes frame = proto::EncodeFrame(report);
  proto::Message m;
  CHECK(proto::DecodeFrame(frame, c.max_message_bytes, &m).state == proto::DecodeState::kComplete);

  c.table.max_files_per_report = 1001;
  const Status s = ValidateConfig(c);
  CHECK(Has(s, "limits.max_files_per_report = 1001 needs messages of 17048 bytes"));
  CHECK(Has(s, "limits.max_message_bytes is 17031"));
}

TEST_CASE("coordinator config: allow_advertised_addresses is off unless set to true", "[config]") {
  CHECK_FALSE(Config{}.advertise.allow_other_addresses);
  testing::TempDir dir;
  const std::string path = dir.File("c.toml");
  testing::WriteTestFile(path, "allow_advertised_addresses = true\n");
  auto on = LoadConfig(path);
  REQUIRE(on.ok());
  CHECK(on->advertise.allow_other_addresses);
  testing::WriteTestFile(path, "allow_advertised_addresses = \"yes\"\n");
  auto bad = LoadConfig(path);
  REQUIRE_FALSE(bad.ok());
  CHECK(Has(bad.status(), "key 'allow_advertised_addresses': expected true or false, found a string"));
}

}  // namespace lanswarm::coordinator
