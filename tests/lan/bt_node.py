#!/usr/bin/python3
"""A BitTorrent node for the swarm benchmark, with Debian's python3-libtorrent.

  bt_node.py make FILE TORRENT TRACKER_URL PIECE_BYTES   prints the info-hash (hex)
  bt_node.py seed TORRENT DIR LISTEN_IP                  seeds DIR/<name> until SIGTERM
  bt_node.py get TORRENT DIR LISTEN_IP DONE_FILE         downloads into DIR, writes the
                                                         time it was done (Unix ns) to DONE_FILE,
                                                         then seeds until SIGTERM

Settings are the ones a LAN wants: no DHT, LSD, UPnP or NAT-PMP; every peer
unchoked; a deep request queue that still does not duplicate requests
(request_queue_time 1 s); torrents added running, not paused. Peers talk
uTP (over UDP) and TCP, libtorrent's default, unless LANSWARM_BT_UTP=0 in
the environment turns uTP off and leaves TCP alone.
"""
import os
import signal
import sys
import time

import libtorrent as lt

stop = False


def on_term(_sig, _frame):
    global stop
    stop = True


def session(listen_ip):
    utp = os.environ.get("LANSWARM_BT_UTP", "1") != "0"
    s = lt.session({
        "enable_outgoing_utp": utp,
        "enable_incoming_utp": utp,
        "listen_interfaces": f"{listen_ip}:6881",
        "outgoing_interfaces": listen_ip,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "announce_to_all_trackers": True,
        "unchoke_slots_limit": -1,
        "connections_limit": 500,
        "request_queue_time": 1,
        "max_out_request_queue": 1500,
        "max_allowed_in_request_queue": 2000,
        "send_buffer_watermark": 4 * 1024 * 1024,
        "send_buffer_watermark_factor": 150,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": 0,
    })
    return s


def add(s, torrent, directory, seeding):
    p = lt.add_torrent_params()
    p.ti = lt.torrent_info(torrent)
    p.save_path = directory
    p.flags &= ~(lt.torrent_flags.paused | lt.torrent_flags.auto_managed)
    if seeding:
        p.flags |= lt.torrent_flags.seed_mode
    return s.add_torrent(p)


def wait_for_term():
    while not stop:
        time.sleep(0.1)


def main(argv):
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "make" and len(argv) == 6:
        path, out, tracker, piece = argv[2], argv[3], argv[4], int(argv[5])
        fs = lt.file_storage()
        lt.add_files(fs, path)
        t = lt.create_torrent(fs, piece)
        t.add_tracker(tracker)
        lt.set_piece_hashes(t, os.path.dirname(os.path.abspath(path)))
        with open(out, "wb") as f:
            f.write(lt.bencode(t.generate()))
        print(lt.torrent_info(out).info_hashes().v1)
        return 0
    if cmd == "seed" and len(argv) == 5:
        s = session(argv[4])
        add(s, argv[2], argv[3], True)
        wait_for_term()
        return 0
    if cmd == "get" and len(argv) == 6:
        s = session(argv[4])
        h = add(s, argv[2], argv[3], False)
        while not stop and not h.status().is_seeding:
            time.sleep(0.02)
        if stop:
            return 1
        with open(argv[5], "w") as f:
            f.write(f"{time.time_ns()}\n")
        wait_for_term()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
