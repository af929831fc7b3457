#!/usr/bin/env python3
"""Release assets of hfleaks, made from the wheels (.github/workflows/release.yml).

    release-assets.py package WHEEL --target TRIPLE --out DIR
        DIR/hfleaks-TRIPLE.tar.gz (DIR/hfleaks-TRIPLE.zip for Windows): the
        binary the wheel carries (WHEEL's *.data/scripts/hfleaks[.exe]), so
        the release binaries are exactly the ones pip installs.
    release-assets.py sums DIR
        DIR/SHA256SUMS for every other file in DIR, in sha256sum's format
        ("<hex>  <name>", sorted by name), which ci/install-hfleaks.sh and
        `sha256sum -c` check.

The archives hold one file, `hfleaks` (`hfleaks.exe`), mode 755, with
fixed timestamps and owners so the same binary gives the same archive.
Python's standard library only.
"""

import argparse
import gzip
import hashlib
import io
import os
import re
import sys
import tarfile
import zipfile

EPOCH = 315532800  # 1980-01-01, the earliest time a zip entry can hold
TARGET = re.compile(r"^[a-z0-9_]+(-[a-z0-9_]+){2,3}$")


def fail(message):
    print(f"release-assets: error: {message}", file=sys.stderr)
    sys.exit(1)


def binary_of(wheel, exe):
    """The bytes of the hfleaks binary in the wheel."""
    try:
        with zipfile.ZipFile(wheel) as z:
            names = [
                n for n in z.namelist() if re.fullmatch(r"[^/]+\.data/scripts/" + re.escape(exe), n)
            ]
            if len(names) != 1:
                fail(f"{wheel}: expected one *.data/scripts/{exe}, found {len(names)}")
            return z.read(names[0])
    except (OSError, zipfile.BadZipFile) as e:
        fail(f"{wheel}: not a readable wheel ({e})")


def package(wheel, target, out):
    if not TARGET.match(target):
        fail(f"not a target triple: {target!r}")
    windows = "windows" in target
    exe = "hfleaks.exe" if windows else "hfleaks"
    data = binary_of(wheel, exe)
    os.makedirs(out, exist_ok=True)
    if windows:
        path = os.path.join(out, f"hfleaks-{target}.zip")
        info = zipfile.ZipInfo(exe, date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o100755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with zipfile.ZipFile(path + ".tmp", "w") as z:
            z.writestr(info, data)
    else:
        path = os.path.join(out, f"hfleaks-{target}.tar.gz")
        info = tarfile.TarInfo(exe)
        info.size = len(data)
        info.mode = 0o755
        info.mtime = EPOCH
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        with open(path + ".tmp", "wb") as f:
            with gzip.GzipFile(filename="", mode="wb", fileobj=f, compresslevel=6, mtime=EPOCH) as gz:
                with tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
                    tar.addfile(info, io.BytesIO(data))
    os.replace(path + ".tmp", path)
    print(path)


def sums(directory):
    names = sorted(
        n
        for n in os.listdir(directory)
        if n != "SHA256SUMS" and os.path.isfile(os.path.join(directory, n))
    )
    if not names:
        fail(f"no files in {directory}")
    lines = []
    for name in names:
        h = hashlib.sha256()
        with open(os.path.join(directory, name), "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        lines.append(f"{h.hexdigest()}  {name}\n")
    path = os.path.join(directory, "SHA256SUMS")
    with open(path, "w", newline="\n") as f:
        f.writelines(lines)
    sys.stdout.writelines(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("package", help="the binary of a wheel as a release archive")
    p.add_argument("wheel")
    p.add_argument("--target", required=True, help="Rust target triple of the wheel")
    p.add_argument("--out", required=True, help="directory for the archive")
    s = sub.add_parser("sums", help="write DIR/SHA256SUMS")
    s.add_argument("dir")
    args = parser.parse_args()
    if args.command == "package":
        package(args.wheel, args.target, args.out)
    else:
        sums(args.dir)


if __name__ == "__main__":
    main()
