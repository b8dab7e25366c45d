// Reads a stream of [u64 length][length bytes] blobs from a Connection: the
// bulk-data pattern of CHUNK messages, reduced to its core for loop tests
// and benchmarks. Blob bytes beyond what OnData already delivered are
// received straight into the blob's buffer with ReceiveInto.
#pragma once

#include <functional>
#include <memory>

#include "common/aligned_buffer.h"
#include "common/bytes.h"
#include "common/net/connection.h"

namespace lanswarm::testing {

class BlobReader {
 public:
  using OnBlob = std::function<void(net::Connection&, std::shared_ptr<AlignedBuffer>)>;
  explicit BlobReader(OnBlob on_blob) : on_blob_(std::move(on_blob)) {}

  // Feed every OnData of the connection here.
  void OnData(net::Connection& c, ByteView data) {
    pending_.insert(pending_.end(), data.begin(), data.end());
    Process(c);
  }

  // Frames a blob for sending.
  static Bytes Header(std::uint64_t len) {
    Bytes h;
    PutU64(&h, len);
    return h;
  }

 private:
  void Process(net::Connection& c) {
    while (!receiving_ && !c.closing() && pending_.size() >= 8) {
      const std::uint64_t len = LoadLE<std::uint64_t>(pending_.data());
      pending_.erase(pending_.begin(), pending_.begin() + 8);
      blob_ = std::make_shared<AlignedBuffer>(len);
      const std::size_t take = std::min<std::size_t>(pending_.size(), len);
      std::copy(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(take), blob_->data());
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(take));
      if (take == len) {
        on_blob_(c, std::move(blob_));
        continue;
      }
      receiving_ = true;
      c.ReceiveInto(blob_->data() + take, len - take, [this, &c](const Status& s) {
        receiving_ = false;
        if (!s.ok()) return;
        on_blob_(c, std::move(blob_));
        Process(c);
      });
    }
  }

  OnBlob on_blob_;
  Bytes pending_;
  std::shared_ptr<AlignedBuffer> blob_;
  bool receiving_ = false;
};

}  // namespace lanswarm::testing
