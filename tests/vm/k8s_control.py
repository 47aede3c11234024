"""A one-node Kubernetes control plane on this host's loopback for a testbed guest's kubelet.

CLI:  k8s_control.py start --state-dir DIR [--node NAME]   -> prints the cluster JSON (also DIR/cluster.json)
      k8s_control.py stop --state-dir DIR                    (fine when nothing runs)
      k8s_control.py guest-files --state-dir DIR --node NAME -> prints the directory of files for the guest
      k8s_control.py tunnel --state-dir DIR --ssh-host H --ssh-port P --ssh-user U --ssh-key K
                                                              -> kube-apiserver reaches the guest's kubelet
API:  Cluster(state_dir, build_dir=None).start(node) -> dict; .stop()

etcd (Debian's etcd-server) and kube-apiserver (tests/vm/k8s_build.py) listen on 127.0.0.1 only, on free ports;
a QEMU user-net guest reaches the host's loopback at 10.0.2.2, which is in the serving certificate. openssl makes
a CA, the serving certificate, an admin client (system:masters), the node's client (system:node:NAME, so the Node
authorizer and NodeRestriction apply), the apiserver's kubelet client and a service-account key pair. There is
no scheduler and no controller manager: test pods name their node (spec.nodeName), the ServiceAccount admission
plugin is off (no token controller). Everything started is stopped by its pid (checked against its command line).

kube-apiserver reaches kubelets (GET /api/v1/nodes/NAME/proxy/..., logs, exec) by the Node's InternalIP, which a
user-net guest's 10.0.2.15 is not from this host. kube-apiserver's kubelet client honours HTTPS_PROXY
(k8s.io/apimachinery SetOldTransportDefaults; loopback is never proxied): it gets a SOCKS5 proxy port, and `tunnel`
keeps `ssh -N -D` to the guest on it (restarted after a guest reboot), so the connection starts inside the guest.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import ssl
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import k8s_build  # noqa: E402

GUEST_HOST_ADDRESS = "10.0.2.2"  # the controller's loopback as seen from a QEMU user-net guest
SERVICE_RANGE = "10.96.0.0/24"
START_TIMEOUT = 90


class ControlError(RuntimeError):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def openssl(*args, cwd):
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ControlError(f"openssl {' '.join(args)} failed: {proc.stderr.strip()}")


def make_certs(pki, node):
    """CA, serving and client certificates, service-account keys (RSA 2048, valid 2 days)."""
    pki.mkdir(parents=True, exist_ok=True)
    # The extensions a strict verifier wants (Python 3.13 turns on VERIFY_X509_STRICT): a critical CA constraint and
    # key usage on the CA, key identifiers on every certificate, as kubeadm's certificates have them.
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=dataplane-test-ca", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature", cwd=pki)
    sans = f"IP:127.0.0.1,IP:{GUEST_HOST_ADDRESS},IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default"
    certs = {
        "apiserver": ("/CN=kube-apiserver", "serverAuth", sans),
        "admin": ("/O=system:masters/CN=dataplane-admin", "clientAuth", None),
        "kubelet": (f"/O=system:nodes/CN=system:node:{node}", "clientAuth", None),
        "apiserver-kubelet-client": ("/O=system:masters/CN=kube-apiserver-kubelet-client", "clientAuth", None),
    }
    for name, (subject, usage, san) in certs.items():
        ext = (f"basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage={usage}\n"
               "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")
        if san:
            ext += f"subjectAltName={san}\n"
        (pki / f"{name}.ext").write_text(ext, encoding="utf-8")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", subject, cwd=pki)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext", cwd=pki)
    openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
    openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)


def kubeconfig(server, ca, cert, key, user):
    """A kubeconfig with the certificates inlined (JSON is valid YAML)."""
    import base64

    def b64(path):
        return base64.b64encode(Path(path).read_bytes()).decode()

    return json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "dataplane",
        "clusters": [{"name": "dataplane", "cluster": {"server": server, "certificate-authority-data": b64(ca)}}],
        "users": [{"name": user, "user": {"client-certificate-data": b64(cert), "client-key-data": b64(key)}}],
        "contexts": [{"name": "dataplane", "context": {"cluster": "dataplane", "user": user}}],
    }, indent=1) + "\n"


class Cluster:
    def __init__(self, state_dir, build_dir=None):
        self.dir = Path(state_dir).resolve()
        self.build_dir = Path(build_dir) if build_dir else None

    @property
    def info_file(self):
        return self.dir / "cluster.json"

    def info(self):
        return json.loads(self.info_file.read_text()) if self.info_file.is_file() else None

    def _spawn(self, name, argv, env=None):
        log = open(self.dir / f"{name}.log", "ab")
        proc = subprocess.Popen([str(a) for a in argv], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.dir,
                                env=dict(os.environ, **env) if env else None)
        (self.dir / f"{name}.pid").write_text(f"{proc.pid}\n")
        return proc

    def _wait(self, name, proc, check):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ControlError(f"{name} exited {proc.returncode}: see {self.dir / (name + '.log')}\n"
                                   + tail(self.dir / f"{name}.log"))
            if check():
                return
            time.sleep(1)
        raise ControlError(f"{name} not ready after {START_TIMEOUT} s: see {self.dir / (name + '.log')}\n"
                           + tail(self.dir / f"{name}.log"))

    def start(self, node):
        if self.info() and self.running():
            return self.info()
        build_dir = self.build_dir or k8s_build.build(verbose=True)
        for tool in ("etcd", "openssl"):
            if shutil.which(tool) is None:
                raise ControlError(f"{tool} not found: run tests/vm/k8s_build.py build (it installs etcd-server)")
        self.dir.mkdir(parents=True, exist_ok=True)
        pki = self.dir / "pki"
        make_certs(pki, node)
        etcd_port, peer_port, api_port, proxy_port = free_port(), free_port(), free_port(), free_port()
        try:
            etcd = self._spawn("etcd", [
                "etcd", "--name", "dataplane", "--data-dir", self.dir / "etcd",
                "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
                "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
                "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
                "--initial-cluster", f"dataplane=http://127.0.0.1:{peer_port}",
                "--listen-metrics-urls", "", "--log-level", "warn"])
            self._wait("etcd", etcd, lambda: http_ok(f"http://127.0.0.1:{etcd_port}/health"))
            api = self._spawn("kube-apiserver", [
                Path(build_dir) / "bin" / "kube-apiserver",
                "--etcd-servers", f"http://127.0.0.1:{etcd_port}",
                "--bind-address", "127.0.0.1", "--secure-port", api_port,
                "--advertise-address", GUEST_HOST_ADDRESS,
                "--service-cluster-ip-range", SERVICE_RANGE,
                "--tls-cert-file", pki / "apiserver.crt", "--tls-private-key-file", pki / "apiserver.key",
                "--client-ca-file", pki / "ca.crt",
                "--kubelet-client-certificate", pki / "apiserver-kubelet-client.crt",
                "--kubelet-client-key", pki / "apiserver-kubelet-client.key",
                "--authorization-mode", "Node,RBAC",
                "--enable-admission-plugins", "NodeRestriction",
                "--disable-admission-plugins", "ServiceAccount",
                "--service-account-key-file", pki / "sa.pub",
                "--service-account-signing-key-file", pki / "sa.key",
                "--service-account-issuer", "https://kubernetes.default.svc",
                "--kubelet-preferred-address-types", "InternalIP,Hostname",
                "--allow-privileged=true", "--profiling=false"],
                env={"HTTPS_PROXY": f"socks5://127.0.0.1:{proxy_port}", "NO_PROXY": "127.0.0.1,localhost"})
            admin = self.dir / "admin.kubeconfig"
            admin.write_text(kubeconfig(f"https://127.0.0.1:{api_port}", pki / "ca.crt", pki / "admin.crt",
                                        pki / "admin.key", "admin"), encoding="utf-8")
            admin.chmod(0o600)
            self._wait("kube-apiserver", api, lambda: https_ok(f"https://127.0.0.1:{api_port}/readyz", pki))
        except Exception:
            self.stop()
            raise
        info = {
            "version": k8s_build.VERSION, "node": node, "server": f"https://127.0.0.1:{api_port}",
            "guest_server": f"https://{GUEST_HOST_ADDRESS}:{api_port}", "etcd": f"http://127.0.0.1:{etcd_port}",
            "kubeconfig": str(admin), "build_dir": str(build_dir), "pki": str(pki),
            "kubectl": str(Path(build_dir) / "bin" / "kubectl"),
            "kubelet_proxy": f"socks5://127.0.0.1:{proxy_port}",
            "pids": {n: int((self.dir / f"{n}.pid").read_text()) for n in ("etcd", "kube-apiserver")},
        }
        self.info_file.write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
        self.guest_files(node)
        return info

    def guest_files(self, node):
        """Files for the guest in DIR/guest: the kubelet's kubeconfig and the CA (client CA for the kubelet)."""
        info = self.info()
        pki = self.dir / "pki"
        out = self.dir / "guest"
        out.mkdir(exist_ok=True)
        (out / "kubelet.kubeconfig").write_text(
            kubeconfig(info["guest_server"], pki / "ca.crt", pki / "kubelet.crt", pki / "kubelet.key",
                       f"system:node:{node}"), encoding="utf-8")
        shutil.copy2(pki / "ca.crt", out / "ca.crt")
        # The apiserver's kubelet client: lets a test read /configz on the node (kubelet port 10250).
        shutil.copy2(pki / "apiserver-kubelet-client.crt", out / "kubelet-reader.crt")
        shutil.copy2(pki / "apiserver-kubelet-client.key", out / "kubelet-reader.key")
        return out

    def tunnel(self, host, port, user, key):
        """Start the supervised `ssh -N -D` to the guest on kube-apiserver's proxy port (once)."""
        info = self.info()
        if not info or not self.running():
            raise ControlError("the control plane is not running: start it first")
        if self._pid("kubelet-tunnel"):
            return info["kubelet_proxy"]
        self._spawn("kubelet-tunnel", [sys.executable, Path(__file__).resolve(), "tunnel-run", "--state-dir", self.dir,
                                       "--ssh-host", host, "--ssh-port", port, "--ssh-user", user, "--ssh-key", key])
        return info["kubelet_proxy"]

    def run_tunnel(self, host, port, user, key):
        """The tunnel's supervisor: ssh again 3 s after it ends (the guest rebooted). Stopped with stop()."""
        proxy_port = self.info()["kubelet_proxy"].rsplit(":", 1)[1]
        while True:
            subprocess.run(["ssh", "-N", "-D", f"127.0.0.1:{proxy_port}", "-o", "ExitOnForwardFailure=yes",
                            "-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=3", "-o", "BatchMode=yes",
                            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                            "-o", "LogLevel=ERROR", "-i", key, "-p", str(port), f"{user}@{host}"],
                           stdin=subprocess.DEVNULL, check=False)
            time.sleep(3)

    def running(self):
        return any(self._pid(n) for n in ("kube-apiserver", "etcd"))

    def _pid(self, name):
        """The pid from NAME.pid if that process still runs and belongs to this state dir."""
        pidfile = self.dir / f"{name}.pid"
        try:
            pid = int(pidfile.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (OSError, ValueError):
            return None
        if str(self.dir) not in cmdline or stat.rsplit(")", 1)[1].split()[0] == "Z":
            return None
        return pid

    def stop(self):
        for name in ("kubelet-tunnel", "kube-apiserver", "etcd"):
            pid = self._pid(name)
            if pid:
                # Each was started in its own session: the tunnel's group holds its ssh too.
                os.killpg(pid, signal.SIGTERM)
                deadline = time.monotonic() + 20
                while self._pid(name) and time.monotonic() < deadline:
                    time.sleep(0.5)
                if self._pid(name):
                    os.killpg(pid, signal.SIGKILL)
            (self.dir / f"{name}.pid").unlink(missing_ok=True)
        self.info_file.unlink(missing_ok=True)


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            return r.status == 200
    except OSError:
        return False


def https_ok(url, pki):
    ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
    try:
        with urllib.request.urlopen(url, timeout=3, context=ctx) as r:
            return r.status == 200
    except OSError:
        return False


def tail(path, lines=20):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "guest-files", "tunnel", "tunnel-run"])
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--node", default="dpdk-node")
    parser.add_argument("--build-dir")
    for name in ("--ssh-host", "--ssh-port", "--ssh-user", "--ssh-key"):
        parser.add_argument(name)
    args = parser.parse_args(argv)
    cluster = Cluster(args.state_dir, args.build_dir)
    try:
        if args.command == "start":
            print(json.dumps(cluster.start(args.node), indent=1))
        elif args.command == "guest-files":
            print(cluster.guest_files(args.node))
        elif args.command in ("tunnel", "tunnel-run"):
            ssh = (args.ssh_host, args.ssh_port, args.ssh_user, args.ssh_key)
            if None in ssh:
                parser.error("tunnel needs --ssh-host, --ssh-port, --ssh-user and --ssh-key")
            if args.command == "tunnel":
                print(cluster.tunnel(*ssh))
            else:
                cluster.run_tunnel(*ssh)
        else:
            cluster.stop()
    except (ControlError, k8s_build.BuildError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
