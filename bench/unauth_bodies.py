#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Security finding 1 as a measurement: 1,000 unauthenticated connections
each announce a 4 MB body (POST /v1/cells, no Authorization) and try to send
it in 64 KiB pieces; prints the server's RSS before and at its peak.
Before the fix the server buffered every body (194 MB -> 4,009 MB); now it
answers 401 from the headers and closes.

    python3 bench/unauth_bodies.py [BUILD_DIR]
"""
import os, shutil, socket, subprocess, sys, tempfile, time

build = sys.argv[1] if len(sys.argv) > 1 else "build"
tmp = tempfile.mkdtemp(prefix="cgunauth.")
port_file = os.path.join(tmp, "port")
srv = subprocess.Popen([os.path.join(build, "server", "cellgated"), "serve", "--data",
                        os.path.join(tmp, "d"), "--listen", "127.0.0.1:0", "--port-file",
                        port_file, "--max-conns-per-ip", "5000"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    end = time.time() + 30
    while not os.path.exists(port_file) and time.time() < end:
        time.sleep(0.05)
    time.sleep(0.3)
    port = int(open(port_file).read())

    def rss_kb():
        for line in open("/proc/%d/status" % srv.pid):
            if line.startswith("VmRSS"):
                return int(line.split()[1])
        return 0

    before = peak = rss_kb()
    socks = []
    for _ in range(1000):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"POST /v1/cells HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n")
        socks.append(s)
    chunk = b"x" * 65536
    for _ in range(62):
        alive = 0
        for s in socks:
            try:
                s.setblocking(False)
                s.send(chunk)
                alive += 1
            except OSError:
                pass
        peak = max(peak, rss_kb())
        if alive == 0:
            break
    print("unauth_bodies connections=1000 body_bytes=4000000 rss_before_kb=%d rss_peak_kb=%d"
          % (before, peak))
    for s in socks:
        s.close()
finally:
    srv.terminate()
    srv.wait(30)
    shutil.rmtree(tmp, ignore_errors=True)
