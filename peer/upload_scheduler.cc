#include "peer/upload_scheduler.h"

namespace lanswarm::peer {

void UploadScheduler::Enqueue(ConnKey conn, ConnState& s) {
  // In line only for a first slot: second ones go to those that hold one
  // when nobody waits (Grants).
  if (s.in_line || !s.interested || s.granted.size() + s.sending > 0) return;
  s.in_line = true;
  (s.favoured ? favoured_line_ : line_).push_back(conn);
}

void UploadScheduler::ReturnGrants(ConnKey conn, ConnState& s) {
  busy_ -= static_cast<std::uint32_t>(s.granted.size());
  s.granted.clear();
  if (s.sending == 0) active_.erase(conn);
}

void UploadScheduler::SetInterested(ConnKey conn, bool interested, bool pass) {
  ConnState& s = conns_[conn];
  s.interested = interested;
  if (pass || !interested) ReturnGrants(conn, s);
  Enqueue(conn, s);
}

bool UploadScheduler::OnRequest(ConnKey conn) {
  auto it = conns_.find(conn);
  if (it == conns_.end() || it->second.granted.empty()) return false;
  it->second.granted.pop_front();  // the oldest grant is the one used
  ++it->second.sending;
  return true;
}

void UploadScheduler::OnRefused(ConnKey conn, Clock::TimePoint now) {
  auto it = conns_.find(conn);
  if (it == conns_.end() || it->second.sending == 0) return;
  --it->second.sending;
  it->second.granted.push_back(now);
  granted_.push_back(conn);
}

void UploadScheduler::OnSent(ConnKey conn) {
  auto it = conns_.find(conn);
  if (it == conns_.end() || it->second.sending == 0) return;
  --it->second.sending;
  --busy_;
  if (it->second.sending == 0 && it->second.granted.empty()) active_.erase(conn);
  // Its turn is over: to the back of the line while it still wants more.
  Enqueue(conn, it->second);
}

void UploadScheduler::Forget(ConnKey conn) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  busy_ -= static_cast<std::uint32_t>(it->second.granted.size()) + it->second.sending;
  conns_.erase(it);
  active_.erase(conn);  // its keys in the lines and in granted_ are skipped when reached
}

std::vector<UploadScheduler::ConnKey> UploadScheduler::Grants(Clock::TimePoint now) {
  // At most `slots` grants exist, so this is short however many connections.
  std::erase_if(granted_, [&](ConnKey key) {
    auto it = conns_.find(key);
    if (it == conns_.end() || it->second.granted.empty()) return true;
    ConnState& s = it->second;
    bool lapsed = false;
    while (!s.granted.empty() && now - s.granted.front() >= options_.grant_timeout) {
      s.granted.pop_front();
      --busy_;
      lapsed = true;
    }
    if (lapsed && s.granted.empty() && s.sending == 0) active_.erase(key);
    if (lapsed) Enqueue(key, s);
    return s.granted.empty();
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
    if (!s.interested || s.granted.size() + s.sending > 0) continue;
    granted_.push_back(key);
    s.granted.push_back(now);
    ++busy_;
    active_.insert(key);
    out.push_back(key);
  }
  // Nobody waits and slots are free: a second slot for those that hold one
  // (a lone getter keeps the link busy across its grants' round trips).
  if (busy_ < options_.slots && line_.empty() && favoured_line_.empty()) {
    for (ConnKey key : std::vector<ConnKey>(active_.begin(), active_.end())) {
      if (busy_ >= options_.slots) break;
      auto it = conns_.find(key);
      if (it == conns_.end()) continue;
      ConnState& s = it->second;
      const std::size_t held = s.granted.size() + s.sending;
      if (!s.interested || held == 0 || held >= kPerConnection) continue;
      if (s.granted.empty()) granted_.push_back(key);
      s.granted.push_back(now);
      ++busy_;
      out.push_back(key);
    }
  }
  return out;
}

}  // namespace lanswarm::peer
