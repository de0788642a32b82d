# SPDX-License-Identifier: MIT
"""A TCP proxy on 127.0.0.1 that can cut the path it carries: a network
partition between one replica and PostgreSQL, for the fault tests.

    p = TcpProxy(("127.0.0.1", pg_port))   # listens on 127.0.0.1:p.port
    p.blackhole()   # bytes stop flowing both ways; connections stay open
                    # (what a partition looks like: no RST, no FIN)
    p.heal()        # what was held back flows again
    p.reset()       # every carried connection is closed (RST-like)
    p.close()

Threads only (stdlib); bounded: at most MAX_CONNS connections at once.
"""
import socket
import threading

MAX_CONNS = 64


class TcpProxy:
    def __init__(self, target):
        self.target = target
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.flowing = threading.Event()
        self.flowing.set()
        self.closed = False
        self.lock = threading.Lock()
        self.socks = []
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            with self.lock:
                if len(self.socks) >= 2 * MAX_CONNS:
                    c.close()
                    continue
            try:
                u = socket.create_connection(self.target, timeout=10)
                u.settimeout(None)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.socks += [c, u]
                self.accepted += 1
            threading.Thread(target=self._pump, args=(c, u), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                # a partition holds bytes back; they flow again on heal()
                while not self.flowing.wait(0.2):
                    if self.closed:
                        return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            with self.lock:
                for s in (src, dst):
                    if s in self.socks:
                        self.socks.remove(s)
                        s.close()

    def blackhole(self):
        """Stops every byte, both ways, on every connection (old and new)."""
        self.flowing.clear()

    def heal(self):
        self.flowing.set()

    def reset(self):
        """Closes every carried connection."""
        with self.lock:
            socks, self.socks = self.socks, []
        for s in socks:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                s.close()
            except OSError:
                pass

    def close(self):
        self.closed = True
        self.flowing.set()
        try:
            self.ls.close()
        except OSError:
            pass
        self.reset()
