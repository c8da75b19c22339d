"""Debian's nginx with the shipped site, run by a test as a non-daemon
process under a temporary prefix, with a throwaway certificate."""

import getpass
import os
import signal
import socket
import ssl
import subprocess
import time

from tests.deploy.shipped import SITE, render
from tests.support.live import free_port

NGINX = "/usr/sbin/nginx"

# What Debian's /etc/nginx/nginx.conf gives a site, pointed into the
# prefix; `user` matters only when the test runs as root (nginx's workers
# would otherwise be nobody, who cannot read the test's files).
MAIN_CONF = """\
daemon off;
user {user};
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/trading-monitor.conf;
}}
"""


def self_signed_certificate(folder):
    """(certificate, key) for 127.0.0.1, valid for a day."""
    certificate, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return certificate, key


class Nginx:
    """nginx on two free ports (HTTP, HTTPS) in front of daphne processes
    on `upstream_ports`, serving `static_root`."""

    def __init__(self, prefix, upstream_ports, static_root):
        self.prefix = prefix
        self.upstream_ports = upstream_ports
        self.http_port = free_port()
        self.https_port = free_port()
        self.certificate, key = self_signed_certificate(prefix)
        (prefix / "trading-monitor.conf").write_text(
            render(
                SITE.read_text(),
                {
                    "SERVER_NAME": "127.0.0.1",
                    "PUBLIC_ORIGIN": self.url,
                    "HTTP_PORT": self.http_port,
                    "HTTPS_PORT": self.https_port,
                    "TLS_CERTIFICATE": self.certificate,
                    "TLS_CERTIFICATE_KEY": key,
                    "STATIC_ROOT": static_root,
                    "DAPHNE_SERVERS": " ".join(
                        f"server 127.0.0.1:{port};" for port in upstream_ports
                    ),
                },
            )
        )
        self.conf = prefix / "nginx.conf"
        self.conf.write_text(MAIN_CONF.format(prefix=prefix, user=getpass.getuser()))
        self.process = None

    @property
    def url(self):
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def ws_url(self):
        return f"wss://127.0.0.1:{self.https_port}/ws"

    def ssl_context(self):
        """Trusts the throwaway certificate, and checks it as a client would."""
        return ssl.create_default_context(cafile=str(self.certificate))

    def start(self, timeout=10):
        # -e: the error log before the configuration names one (Debian's
        # default, /var/log/nginx, may not be writable).
        self.process = subprocess.Popen(
            [
                NGINX,
                "-p",
                str(self.prefix),
                "-c",
                str(self.conf),
                "-e",
                str(self.prefix / "error.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.errors()}")
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not listen within {timeout} s: {self.errors()}")

    def errors(self):
        log = self.prefix / "error.log"
        return log.read_text() if log.exists() else ""

    def stop(self):
        """SIGQUIT: nginx's graceful shutdown."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def installed():
    return os.access(NGINX, os.X_OK)
