#include "peer/ban_list.h"

#include <algorithm>

#include <fmt/format.h>

namespace lanswarm::peer {

std::string BanCause(const Ban& ban) {
  if (ban.reason == BanReason::kStalls) {
    return ban.stalls == 1 ? "1 request stalled" : fmt::format("{} requests stalled", ban.stalls);
  }
  return ban.bad_chunks == 1 ? "1 chunk failed its checksum"
                             : fmt::format("{} chunks failed their checksum", ban.bad_chunks);
}

BanList::BanList(BanPolicy policy) : policy_(policy) {
  policy_.after_bad_chunks = std::max<std::uint32_t>(policy_.after_bad_chunks, 1);
  policy_.after_stalls = std::max<std::uint32_t>(policy_.after_stalls, 1);
  policy_.cooldown = std::max<Clock::Duration>(policy_.cooldown, Clock::Duration(1));
}

bool BanList::Over(const Entry& e, Clock::TimePoint now) const {
  return e.banned ? now >= e.ban.until : now - e.last_strike >= policy_.cooldown;
}

std::optional<Ban> BanList::OnBadChunk(const FileId& file, const proto::PeerId& peer, std::string_view file_name,
                                       std::string_view address, Clock::TimePoint now) {
  return OnStrike(BanReason::kBadChunks, file, peer, file_name, address, now);
}

std::optional<Ban> BanList::OnStall(const FileId& file, const proto::PeerId& peer, std::string_view file_name,
                                    std::string_view address, Clock::TimePoint now) {
  return OnStrike(BanReason::kStalls, file, peer, file_name, address, now);
}

std::optional<Ban> BanList::OnStrike(BanReason kind, const FileId& file, const proto::PeerId& peer,
                                     std::string_view file_name, std::string_view address, Clock::TimePoint now) {
  auto [it, fresh] = entries_.try_emplace(Key{file, peer});
  Entry& e = it->second;
  if (!fresh && Over(e, now)) e = Entry{};
  if (e.banned) return std::nullopt;
  e.ban.file = file;
  e.ban.peer = peer;
  e.ban.file_name = file_name;
  e.ban.address = address;
  e.last_strike = now;
  const bool stall = kind == BanReason::kStalls;
  std::uint32_t& count = stall ? e.ban.stalls : e.ban.bad_chunks;
  if (++count < (stall ? policy_.after_stalls : policy_.after_bad_chunks)) return std::nullopt;
  e.banned = true;
  e.ban.reason = kind;
  e.ban.until = now + policy_.cooldown;
  return e.ban;
}

void BanList::OnGoodChunk(const FileId& file, const proto::PeerId& peer) {
  auto it = entries_.find(Key{file, peer});
  if (it == entries_.end() || it->second.banned) return;
  it->second.ban.stalls = 0;
  if (it->second.ban.bad_chunks == 0) entries_.erase(it);
}

bool BanList::Banned(const FileId& file, const proto::PeerId& peer, Clock::TimePoint now) const {
  auto it = entries_.find(Key{file, peer});
  return it != entries_.end() && it->second.banned && now < it->second.ban.until;
}

std::vector<Ban> BanList::Active(Clock::TimePoint now) const {
  std::vector<Ban> out;
  for (const auto& [key, e] : entries_) {
    if (e.banned && now < e.ban.until) out.push_back(e.ban);
  }
  std::stable_sort(out.begin(), out.end(), [](const Ban& a, const Ban& b) { return a.until < b.until; });
  return out;
}

std::vector<Ban> BanList::Expire(Clock::TimePoint now) {
  std::vector<Ban> ended;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (Over(it->second, now)) {
      if (it->second.banned) ended.push_back(it->second.ban);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return ended;
}

}  // namespace lanswarm::peer
