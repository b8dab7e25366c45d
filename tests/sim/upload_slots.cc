#include "tests/sim/upload_slots.h"

#include <algorithm>

namespace lanswarm::sim {

bool UploadSlots::Admit(ConnKey conn) {
  if (!unlimited() && waiting_ >= policy_.max_waiting) return false;
  ++waiting_of_[conn];
  ++waiting_;
  return true;
}

void UploadSlots::Drop(ConnKey conn) {
  auto it = waiting_of_.find(conn);
  if (it == waiting_of_.end() || it->second == 0) return;
  if (--it->second == 0) waiting_of_.erase(it);
  --waiting_;
}

bool UploadSlots::TryStart(ConnKey conn) {
  if (!unlimited() && sending_ >= policy_.slots) {
    if (std::find(line_.begin(), line_.end(), conn) == line_.end()) line_.push_back(conn);
    return false;
  }
  Drop(conn);
  ++sending_of_[conn];
  ++sending_;
  return true;
}

std::vector<UploadSlots::ConnKey> UploadSlots::Done(ConnKey conn) {
  auto it = sending_of_.find(conn);
  if (it != sending_of_.end()) {
    if (--it->second == 0) sending_of_.erase(it);
    --sending_;
  }
  return TakeLine();
}

std::vector<UploadSlots::ConnKey> UploadSlots::Forget(ConnKey conn) {
  if (auto it = waiting_of_.find(conn); it != waiting_of_.end()) {
    waiting_ -= it->second;
    waiting_of_.erase(it);
  }
  if (auto it = sending_of_.find(conn); it != sending_of_.end()) {
    sending_ -= it->second;
    sending_of_.erase(it);
  }
  std::erase(line_, conn);
  return TakeLine();
}

std::vector<UploadSlots::ConnKey> UploadSlots::TakeLine() {
  std::vector<ConnKey> line(line_.begin(), line_.end());
  line_.clear();
  return line;
}

}  // namespace lanswarm::sim
