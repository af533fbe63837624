#!/usr/bin/env python3
"""Recomputes the ICVs of secpol's packets with Python's own hmac module, a
code path independent of secpol's.
AH (RFC 4302): ICV over the IP header with mutable fields zeroed, the AH
header with a zero ICV, and the payload; the payload must be the expected one.
ESP with an HMAC (RFC 4303): ICV over ESP header, IV and ciphertext.

usage: icv_verify.py <ah|esp> <pcap> <expect> <hash> <hex key>
Exits 0 when every packet's ICV verifies."""
import hashlib, hmac, struct, sys

ICV = {"sha1": 12, "md5": 12, "sha256": 16, "sha384": 24, "sha512": 32}

def packets(path):
    data = open(path, "rb").read()
    off = 24
    while off < len(data):
        _, _, caplen, _ = struct.unpack_from("<IIII", data, off)
        yield data[off + 16:off + 16 + caplen]
        off += 16 + caplen

def zero_v4(h):
    h = bytearray(h)
    h[1] = 0; h[6:8] = b"\0\0"; h[8] = 0; h[10:12] = b"\0\0"
    i, ihl = 20, (h[0] & 15) * 4
    while i < ihl and h[i] != 0:           # options: zero the mutable ones
        if h[i] == 1:
            i += 1; continue
        n = h[i + 1]
        if h[i] in (7, 68, 131, 137):
            h[i:i + n] = bytes(n)
        i += n
    return bytes(h), ihl, h[9]

def check_esp(pkt, hashname, key):
    hlen = (pkt[0] & 15) * 4 if pkt[0] >> 4 == 4 else 40
    if (pkt[9] if pkt[0] >> 4 == 4 else pkt[6]) != 50:
        return "not ESP"
    n = ICV[hashname]
    esp = pkt[hlen:]
    want = hmac.new(key, esp[:-n], getattr(hashlib, hashname)).digest()[:n]
    return None if hmac.compare_digest(esp[-n:], want) else "ICV mismatch"

def check(pkt, hashname, key, expect):
    if pkt[0] >> 4 == 4:
        hdr, hlen, nh = zero_v4(pkt[:(pkt[0] & 15) * 4])
    else:
        h = bytearray(pkt[:40]); h[0] &= 0xf0; h[1:4] = b"\0\0\0"; h[7] = 0
        hdr, hlen, nh = bytes(h), 40, pkt[6]
    if nh != 51:
        return "not AH"
    ah = pkt[hlen:]
    ahlen = (ah[1] + 2) * 4
    n = ICV[hashname]
    icv = ah[12:12 + n]
    zeroed = ah[:12] + bytes(ahlen - 12) + ah[ahlen:]
    want = hmac.new(key, hdr + zeroed, getattr(hashlib, hashname)).digest()[:n]
    if not hmac.compare_digest(icv, want):
        return "ICV mismatch"
    payload = ah[ahlen:]
    if payload != expect:
        return "payload differs"
    return None

def main():
    proto, pcap, expect, hashname, key = sys.argv[1:6]
    expected = [bytes.fromhex(l.strip()) for l in open(expect)]
    bad = 0
    for i, pkt in enumerate(packets(pcap)):
        k = bytes.fromhex(key[2:])
        err = check(pkt, hashname, k, expected[i]) if proto == "ah" else check_esp(pkt, hashname, k)
        if err:
            print(f"{pcap}: packet {i + 1}: {err}")
            bad += 1
    count = sum(1 for _ in packets(pcap))
    if count != len(expected):
        print(f"{pcap}: {count} packets, expected {len(expected)}")
        bad += 1
    sys.exit(1 if bad else 0)

main()
