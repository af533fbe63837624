#!/usr/bin/env python3
"""Re-sends an ESP packet seen on the wire, as an attacker on the link would.

usage: inject.py PCAP SRC DST MODE MARK [COUNT]
  PCAP  a classic pcap capture (Ethernet) holding ESP packets from SRC to DST
  MODE  replay:  the first such packet, unchanged (the SA has seen it)
        replay-last: the last COUNT such packets, unchanged and in order:
                 inside the replay window, so each is a duplicate, not late
        tamper:  the last such packet with a sequence number far ahead (so
                 the replay window lets it through) and one ciphertext bit
                 flipped: only the ICV can catch it
  MARK  SO_MARK for the raw socket, so the sender's own steering lets it out

IPv4 only. Exits 1 when the capture holds no matching packet.
"""
import ipaddress
import socket
import struct
import sys


def esp_packets(path, src, dst):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off, out = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:          # Ethernet
            if len(frame) < 14 or frame[12:14] != b"\x08\x00":
                continue
            ip = frame[14:]
        elif linktype == 101:      # raw IP
            ip = frame
        else:
            continue
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 50:
            continue
        if ip[12:16] == src and ip[16:20] == dst:
            total = struct.unpack(">H", ip[2:4])[0]
            out.append(bytearray(ip[:total]))
    return out


def main():
    path, src, dst, mode, mark = sys.argv[1:6]
    s = ipaddress.IPv4Address(src).packed
    d = ipaddress.IPv4Address(dst).packed
    pkts = esp_packets(path, s, d)
    if not pkts:
        print("no ESP packet from %s to %s in %s" % (src, dst, path), file=sys.stderr)
        return 1
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.SOL_SOCKET, 36, int(mark, 0))   # SO_MARK
    if mode == "replay-last":
        count = int(sys.argv[6]) if len(sys.argv) > 6 else 1
        if len(pkts) < count:
            print("only %d ESP packets in %s" % (len(pkts), path), file=sys.stderr)
            return 1
        for pkt in pkts[-count:]:
            sock.sendto(bytes(pkt), (dst, 0))
        return 0
    if mode == "replay":
        pkt = pkts[0]
    else:
        pkt = pkts[-1]
        ihl = (pkt[0] & 0x0F) * 4
        seq = struct.unpack(">I", pkt[ihl + 4:ihl + 8])[0]
        pkt[ihl + 4:ihl + 8] = struct.pack(">I", seq + 1000)
        pkt[ihl + 8 + 8 + 2] ^= 0x01   # after SPI, seq and the 8-octet IV
    sock.sendto(bytes(pkt), (dst, 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
