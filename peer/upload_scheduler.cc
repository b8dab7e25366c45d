#include "peer/upload_scheduler.h"

#include <algorithm>

namespace lanswarm::peer {

void UploadScheduler::Free(ConnState& s) {
  if (s.slot == Slot::kNone) return;
  s.slot = Slot::kNone;
  --busy_;
}

void UploadScheduler::Enqueue(ConnKey conn, ConnState& s) {
  if (s.in_line || !s.interested || s.slot != Slot::kNone) return;
  s.in_line = true;
  (s.favoured ? favoured_line_ : line_).push_back(conn);
}

void UploadScheduler::SetInterested(ConnKey conn, bool interested, bool pass) {
  ConnState& s = conns_[conn];
  s.interested = interested;
  if ((pass || !interested) && s.slot == Slot::kGranted) Free(s);
  Enqueue(conn, s);
}

bool UploadScheduler::OnRequest(ConnKey conn) {
  auto it = conns_.find(conn);
  if (it == conns_.end() || it->second.slot != Slot::kGranted) return false;
  it->second.slot = Slot::kSending;
  return true;
}

void UploadScheduler::OnRefused(ConnKey conn, Clock::TimePoint now) {
  auto it = conns_.find(conn);
  if (it == conns_.end() || it->second.slot != Slot::kSending) return;
  it->second.slot = Slot::kGranted;
  it->second.granted_at = now;
  granted_.push_back(conn);
}

void UploadScheduler::OnSent(ConnKey conn) {
  auto it = conns_.find(conn);
  if (it == conns_.end() || it->second.slot != Slot::kSending) return;
  Free(it->second);
  // Its turn is over: to the back of the line while it still wants more.
  Enqueue(conn, it->second);
}

void UploadScheduler::Forget(ConnKey conn) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  Free(it->second);
  conns_.erase(it);  // its key in line_ is skipped when reached
}

std::vector<UploadScheduler::ConnKey> UploadScheduler::Grants(Clock::TimePoint now) {
  // At most `slots` grants exist, so this is short however many connections.
  std::erase_if(granted_, [&](ConnKey key) {
    auto it = conns_.find(key);
    if (it == conns_.end() || it->second.slot != Slot::kGranted) return true;
    if (now - it->second.granted_at < options_.grant_timeout) return false;
    Free(it->second);
    Enqueue(key, it->second);
    return true;
  });
  std::vector<ConnKey> out;
  while (busy_ < options_.slots && !(line_.empty() && favoured_line_.empty())) {
    std::deque<ConnKey>& from = favoured_line_.empty() ? line_ : favoured_line_;
    const ConnKey key = from.front();
    from.pop_front();
    auto it = conns_.find(key);
    if (it == conns_.end() || !it->second.in_line) continue;
    ConnState& s = it->second;
    s.in_line = false;
    if (!s.interested || s.slot != Slot::kNone) continue;
    s.slot = Slot::kGranted;
    s.granted_at = now;
    ++busy_;
    granted_.push_back(key);
    out.push_back(key);
  }
  return out;
}

Clock::TimePoint UploadScheduler::NextExpiry() const {
  Clock::TimePoint at = Clock::TimePoint::max();
  for (ConnKey key : granted_) {
    auto it = conns_.find(key);
    if (it != conns_.end() && it->second.slot == Slot::kGranted) {
      at = std::min(at, it->second.granted_at + options_.grant_timeout);
    }
  }
  return at;
}

}  // namespace lanswarm::peer
