"""The Lambda base image `sam local invoke` runs functions on: the real one when it can be pulled,
otherwise a stand-in built here from what this machine has, and said so loudly.

    python local/lambda_base_image.py ensure      # real image, cached stand-in, or build the stand-in
    python local/lambda_base_image.py ensure --stand-in   # do not try to pull
    python local/lambda_base_image.py status

SAM CLI (python3.13, x86_64) runs ZIP functions on `public.ecr.aws/lambda/python:3.13-x86_64`: it
builds `...:3.13-rapid-x86_64` (or `samcli/lambda-python:...` with the layers) on top of it with a
Dockerfile whose RUN step needs /bin/sh, mv and chmod, and starts the container with its bundled
`/var/rapid/aws-lambda-rie`, which runs `/var/runtime/bootstrap`.

The stand-in is a root filesystem written straight into a tar and `docker import`-ed under that tag:
- busybox (Debian's busybox-static) for /bin/sh and the coreutils;
- the CPython 3.13 this script runs on (python3.13 from pyenv here), at its own install prefix (its
  build looks for its standard library there), linked from /var/lang/bin like the real image, with
  the shared libraries it and its extension modules load (found with ldd);
- awslambdaric (the runtime interface client) and boto3 from PyPI in /var/runtime;
- /var/runtime/bootstrap, which runs the runtime interface client with $_HANDLER.

It differs from the real image: the operating system (this machine's Debian libraries, not Amazon
Linux 2023), the C library (this machine's glibc, e.g. 2.36, not 2.34), the Python patch level (the
one found here, e.g. 3.13.0, not the image's latest 3.13.x) and the boto3 version (pinned below).

The rootfs tar is cached per machine (IGPUB_CACHE_DIR, default ~/.cache/igpub), named by a content
hash of its inputs; the image carries that hash as the label `igpub.stand-in.hash`, so it is built
once and imported again only into a fresh Docker data root. After a (re)build the `-rapid` images
SAM derived from the previous base are removed, or SAM would keep using them.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
from pathlib import Path

IMAGE = "public.ecr.aws/lambda/python:3.13-x86_64"
RAPID_IMAGES = ("public.ecr.aws/lambda/python:3.13-rapid-x86_64",)
SAM_LAYER_REPO = "samcli/lambda-python"  # SAM's images with the layers baked in
LABEL = "igpub.stand-in.hash"
AWSLAMBDARIC = "awslambdaric==4.2.2"
BOTO3 = "boto3==1.43.106"  # the version the project and the emulator use
PULL_TIMEOUT_S = 60

# stdlib parts a Lambda function never needs (tests, GUI, installers)
SKIP_STDLIB = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "site-packages", "__phello__"}

BOOTSTRAP = """#!/bin/sh
# igpub stand-in of the Lambda Python runtime: the runtime interface client runs the handler.
export AWS_EXECUTION_ENV=AWS_Lambda_python3.13
export PYTHONPATH="/var/task:/opt/python/lib/python3.13/site-packages:/opt/python:/var/runtime"
exec /var/lang/bin/python3.13 -m awslambdaric "$_HANDLER"
"""

ENV = {
    "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin",
    "LANG": "C.UTF-8",
    "TZ": ":/etc/localtime",
    "LAMBDA_TASK_ROOT": "/var/task",
    "LAMBDA_RUNTIME_DIR": "/var/runtime",
    "LD_LIBRARY_PATH": "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
    "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
}

ETC = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nsbx_user1051:x:993:990::/home/sbx_user1051:/sbin/nologin\n",
    "etc/group": "root:x:0:\nsbx_user1051:x:990:\n",
    "etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files dns\n",
    "etc/igpub-stand-in": "igpub stand-in of public.ecr.aws/lambda/python:3.13-x86_64 (local/lambda_base_image.py)\n",
}


def say(message: str) -> None:
    print(f"[lambda-image] {message}", file=sys.stderr, flush=True)


def docker(*args: str, check: bool = True, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], check=check, capture_output=True, text=True, timeout=timeout)


def image_label(tag: str) -> str | None:
    """None when the image is absent; "" when present without our label (the real image)."""
    out = docker("image", "inspect", tag, "--format", "{{json .Config.Labels}}", check=False)
    if out.returncode != 0:
        return None
    labels = json.loads(out.stdout.strip() or "null") or {}
    return str(labels.get(LABEL, ""))


def busybox() -> Path:
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        if Path(candidate).exists():
            return Path(candidate)
    found = shutil.which("busybox")
    if not found:
        raise SystemExit("busybox not found: apt-get install -y busybox-static")
    return Path(found)


def content_hash() -> str:
    """What the stand-in is made of: this script, the Python, busybox, the pinned packages."""
    h = hashlib.sha256()
    h.update(Path(__file__).read_bytes())
    h.update(f"{sys.version}|{sys.base_prefix}|{AWSLAMBDARIC}|{BOTO3}".encode())
    h.update(busybox().read_bytes())
    return h.hexdigest()[:16]


def cache_dir() -> Path:
    base = os.environ.get("IGPUB_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "igpub"
    )
    return Path(base)


class RootFs:
    """A root filesystem written straight into a tar: host files under their own paths."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self.tar = tar
        self.added: set[str] = set()

    def _info(self, name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.mode = mode
        info.mtime = int(time.time())
        return info

    def mkdir(self, path: str, mode: int = 0o755) -> None:
        name = path.strip("/")
        if not name or name in self.added:
            return
        self.mkdir(os.path.dirname(name))
        self.tar.addfile(self._info(name, tarfile.DIRTYPE, mode))
        self.added.add(name)

    def write(self, path: str, text: str, mode: int = 0o644) -> None:
        name = path.strip("/")
        self.mkdir(os.path.dirname(name))
        data = text.encode()
        info = self._info(name, tarfile.REGTYPE, mode)
        info.size = len(data)
        self.tar.addfile(info, io.BytesIO(data))
        self.added.add(name)

    def symlink(self, path: str, target: str) -> None:
        name = path.strip("/")
        if name in self.added:
            return
        self.mkdir(os.path.dirname(name))
        info = self._info(name, tarfile.SYMTYPE, 0o777)
        info.linkname = target
        self.tar.addfile(info)
        self.added.add(name)

    def _parents(self, path: str) -> str:
        """Reproduce the symlinks among `path`'s parent folders (e.g. /lib -> usr/lib); return the
        host folder the file really sits in."""
        parts = Path(path).parts[1:-1]
        current = "/"
        for part in parts:
            nxt = os.path.join(current, part)
            if os.path.islink(nxt):
                target = os.readlink(nxt)
                self.symlink(nxt, target)
                current = os.path.realpath(nxt)
                self.mkdir(current)
            else:
                current = nxt
                self.mkdir(current)
        return current

    def copy(self, path: str) -> None:
        """A host file (following symlinks, each kept as a link) at the same path."""
        path = os.path.abspath(path)
        folder = self._parents(path)
        real_path = os.path.join(folder, os.path.basename(path))
        name = real_path.strip("/")
        if name in self.added:
            return
        if os.path.islink(real_path):
            target = os.readlink(real_path)
            self.symlink(real_path, target)
            self.copy(os.path.normpath(os.path.join(folder, target)))
            return
        self.tar.add(real_path, arcname=name, recursive=False)
        self.added.add(name)

    def tree(self, top: str, skip: set[str] | None = None) -> None:
        for folder, dirs, files in os.walk(top):
            if folder == top and skip:
                dirs[:] = [d for d in dirs if d not in skip]
            self.mkdir(folder)
            for f in files:
                if f.endswith((".a", ".pyc")) and "__pycache__" not in folder:
                    continue
                self.copy(os.path.join(folder, f))
            for d in dirs:
                if os.path.islink(os.path.join(folder, d)):
                    self.copy(os.path.join(folder, d))


def shared_libraries(binaries: list[str]) -> set[str]:
    libs: set[str] = set()
    for binary in binaries:
        out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            parts = line.split()
            if "=>" in parts and len(parts) >= 3 and parts[2].startswith("/"):
                libs.add(parts[2])
            elif parts and parts[0].startswith("/"):
                libs.add(parts[0])  # the dynamic loader
    return libs


# libraries of the real image (glibc's family, the GCC runtime, zlib) that wheels' compiled
# extensions load without Python itself needing them (pydantic-core: libgcc_s, librt, ...)
EXTRA_LIBRARIES = (
    "libgcc_s.so.1", "libstdc++.so.6", "librt.so.1", "libpthread.so.0", "libdl.so.2", "libutil.so.1",
    "libresolv.so.2", "libcrypt.so.1", "libanl.so.1", "libnss_files.so.2", "libnss_dns.so.2", "libz.so.1",
    "libmvec.so.1",  # glibc's vector math library: pillow-heif's extension loads it (MediaFunction)
)


def system_libraries(names: tuple[str, ...]) -> set[str]:
    found: set[str] = set()
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        name, _, path = line.strip().partition(" => ")
        if name.split(" ")[0] in names and "x86-64" in name and path:
            found.add(path)
    return found


def build_tar(out: Path) -> None:
    prefix = sys.base_prefix
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    if version != "3.13":
        raise SystemExit(f"run this script with Python 3.13 (the function runtime), not {version}")
    stdlib = sysconfig.get_paths()["stdlib"]
    python = os.path.join(prefix, "bin", f"python{version}")
    if not os.path.exists(python):
        python = os.path.realpath(sys.executable)
    dynload = os.path.join(stdlib, "lib-dynload")
    extensions = [
        os.path.join(dynload, f) for f in os.listdir(dynload) if f.endswith(".so") and "tkinter" not in f
    ]
    bb = busybox()
    applets = subprocess.run([str(bb), "--list"], capture_output=True, text=True, check=True).stdout.split()

    with tempfile.TemporaryDirectory(prefix="igpub-lambda-image-") as tmp:
        say(f"pip install {AWSLAMBDARIC} {BOTO3} into /var/runtime")
        runtime = os.path.join(tmp, "runtime")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-warn-script-location",
             "--root-user-action=ignore",
             "--target", runtime, "--platform", "manylinux2014_x86_64", "--implementation", "cp",
             "--python-version", "3.13", "--only-binary=:all:", AWSLAMBDARIC, BOTO3],
            check=True,
        )
        subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", runtime], check=True,
                       stdout=subprocess.DEVNULL)
        partial = out.with_suffix(".partial")
        with tarfile.open(partial, "w") as tar:
            fs = RootFs(tar)
            folders = ("bin", "usr/bin", "usr/local/bin", "opt", "var/task", "var/lang/bin", "root", "etc/ssl/certs")
            for folder in folders:
                fs.mkdir(folder)
            fs.mkdir("tmp", 0o1777)
            fs.tar.add(str(bb), arcname="bin/busybox", recursive=False)
            fs.added.add("bin/busybox")
            for applet in applets:
                if applet != "busybox":
                    fs.symlink(f"bin/{applet}", "busybox")
            fs.symlink("usr/bin/env", "/bin/env")
            say(f"CPython {sys.version.split()[0]} from {prefix} (kept at that path) and its shared libraries")
            fs.copy(python)
            for libpython in Path(prefix, "lib").glob("libpython3*.so*"):
                fs.copy(str(libpython))
            fs.tree(stdlib, SKIP_STDLIB)
            for name in (f"python{version}", "python3", "python"):
                fs.symlink(f"var/lang/bin/{name}", python)
            extra = system_libraries(EXTRA_LIBRARIES)
            for lib in sorted(shared_libraries([python, *extensions, *extra]) | extra):
                fs.copy(lib)
            if os.path.exists("/etc/ssl/certs/ca-certificates.crt"):
                fs.tar.add("/etc/ssl/certs/ca-certificates.crt", arcname="etc/ssl/certs/ca-certificates.crt")
            for path, text in ETC.items():
                fs.write(path, text)
            fs.mkdir("var/runtime")
            for entry in sorted(os.listdir(runtime)):
                fs.tar.add(os.path.join(runtime, entry), arcname=f"var/runtime/{entry}")
            fs.write("var/runtime/bootstrap", BOOTSTRAP, 0o755)
        partial.replace(out)


def remove_derived_images() -> None:
    """SAM keeps using its -rapid image (and its layer images) built on a previous base."""
    for tag in RAPID_IMAGES:
        docker("image", "rm", "-f", tag, check=False)
    listed = docker("image", "ls", SAM_LAYER_REPO, "--format", "{{.Repository}}:{{.Tag}}", check=False).stdout.split()
    for tag in listed:
        docker("image", "rm", "-f", tag, check=False)


def import_stand_in(digest: str) -> None:
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    tar = cache / f"lambda-python3.13-x86_64-{digest}.tar"
    if tar.exists():
        say(f"stand-in root filesystem cached: {tar}")
    else:
        started = time.monotonic()
        for old in cache.glob("lambda-python3.13-x86_64-*.tar"):
            old.unlink()
        say(f"building the stand-in root filesystem: {tar}")
        build_tar(tar)
        say(f"built in {time.monotonic() - started:.1f} s ({tar.stat().st_size / 1e6:.0f} MB)")
    changes = [f"ENV {k}={v}" for k, v in ENV.items()]
    changes += ["WORKDIR /var/task", f"LABEL {LABEL}={digest}"]
    args = ["image", "import"]
    for change in changes:
        args += ["--change", change]
    started = time.monotonic()
    docker(*args, str(tar), IMAGE)
    remove_derived_images()
    say(f"imported as {IMAGE} in {time.monotonic() - started:.1f} s (label {LABEL}={digest})")


def ensure(stand_in_only: bool) -> str:
    digest = content_hash()
    label = image_label(IMAGE)
    if label == "":
        say(f"{IMAGE}: the real image is present; using it")
        return "real"
    if label == digest:
        say(f"{IMAGE}: the stand-in is present and current ({LABEL}={digest})")
        return "stand-in"
    if label is None and not stand_in_only:
        say(f"{IMAGE}: not present; trying to pull it")
        try:
            pulled = docker("pull", IMAGE, check=False, timeout=PULL_TIMEOUT_S)
            if pulled.returncode == 0:
                remove_derived_images()
                say(f"pulled the real {IMAGE}")
                return "real"
            reason = (pulled.stderr.strip().splitlines() or ["no reason given"])[-1]
        except subprocess.TimeoutExpired:
            reason = f"no answer within {PULL_TIMEOUT_S} s"
        say(f"COULD NOT PULL {IMAGE} ({reason})")
    elif label is not None:
        say(f"{IMAGE}: the stand-in is out of date ({label} != {digest}); rebuilding")
    say("USING A LOCALLY BUILT STAND-IN of the Lambda base image (not Amazon Linux; see the README)")
    import_stand_in(digest)
    return "stand-in"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["ensure", "status", "hash"])
    parser.add_argument("--stand-in", action="store_true", help="do not try to pull the real image")
    args = parser.parse_args()
    if args.command == "hash":
        print(content_hash())
    elif args.command == "status":
        label = image_label(IMAGE)
        print("absent" if label is None else "real" if label == "" else f"stand-in {label}")
    else:
        print(ensure(args.stand_in or os.environ.get("IGPUB_LAMBDA_STAND_IN") == "1"))


if __name__ == "__main__":
    main()
