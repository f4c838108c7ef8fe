#!/usr/bin/env python3
"""Write the hostile archives the extract tests must refuse.

Each archive holds one harmless file first (ok.txt) and then one entry that
would write outside the extraction folder, or something that is not a plain
file or folder.  The output is deterministic (fixed times, owners and
order), so rerunning this script reproduces the committed files byte for
byte:  python3 tests/data/archives/make-evil.py [OUTDIR]
"""
import io
import os
import struct
import sys
import tarfile
import zipfile

MTIME = 1000000000
OK = ("ok.txt", b"harmless\n")
EVIL = b"evil bytes\n"


def tar_entry(name, kind="file", data=EVIL, link=""):
    ti = tarfile.TarInfo(name)
    ti.mtime = MTIME
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    ti.mode = 0o644
    if kind == "file":
        ti.size = len(data)
        return ti, io.BytesIO(data)
    ti.type = {
        "symlink": tarfile.SYMTYPE,
        "hardlink": tarfile.LNKTYPE,
        "chardev": tarfile.CHRTYPE,
        "fifo": tarfile.FIFOTYPE,
        "dir": tarfile.DIRTYPE,
    }[kind]
    ti.linkname = link
    if kind == "chardev":
        ti.devmajor, ti.devminor = 1, 3
    if kind == "dir":
        ti.mode = 0o755
    return ti, None


def write_tar(path, entries):
    with open(path, "wb") as f:
        with tarfile.open(fileobj=f, mode="w", format=tarfile.GNU_FORMAT) as t:
            t.addfile(*tar_entry(OK[0], data=OK[1]))
            for e in entries:
                t.addfile(*tar_entry(*e))


def write_zip(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data, mode in [(OK[0], OK[1], 0o100644)] + entries:
            zi = zipfile.ZipInfo(name, date_time=(2001, 9, 9, 1, 46, 40))
            zi.create_system = 3  # unix: external_attr carries the mode
            zi.external_attr = mode << 16
            z.writestr(zi, data)


def write_cab(path, files):
    """An uncompressed (type NONE) single-folder cabinet; names are stored
    exactly as given, so a Windows-style '..\\' can be written."""
    files = [(OK[0], OK[1])] + files
    payload = b"".join(d for _, d in files)
    cffiles = b""
    off = 0
    for name, data in files:
        # date 2001-09-09, time 01:46:40, attribute 0x20 (archive)
        date = ((2001 - 1980) << 9) | (9 << 5) | 9
        time = (1 << 11) | (46 << 5) | (40 // 2)
        cffiles += struct.pack("<IIHHHH", len(data), off, 0, date, time, 0x20)
        cffiles += name.encode() + b"\0"
        off += len(data)
    hdr_len, folder_len = 36, 8
    coff_files = hdr_len + folder_len
    coff_data = coff_files + len(cffiles)
    cfdata = struct.pack("<IHH", 0, len(payload), len(payload)) + payload
    total = coff_data + len(cfdata)
    header = struct.pack("<4sIIIIIBBHHHHH", b"MSCF", 0, total, 0, coff_files, 0, 3, 1,
                         1, len(files), 0, 0x1234, 0)
    folder = struct.pack("<IHH", coff_data, 1, 0)
    with open(path, "wb") as f:
        f.write(header + folder + cffiles + cfdata)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(out, exist_ok=True)
    p = lambda n: os.path.join(out, n)

    write_tar(p("dotdot.tar"), [("../evil",)])
    write_tar(p("absolute.tar"), [("/abs/evil",)])
    write_tar(p("nested-dotdot.tar"), [("a/../../evil",)])
    write_tar(p("symlink.tar"), [("etc", "symlink", b"", "/etc")])
    write_tar(p("hardlink.tar"), [("passwd", "hardlink", b"", "/etc/passwd")])
    # A symlink to a sibling of the extraction folder, then a file written
    # through it: both would land outside if the link were created.
    write_tar(p("symlink-then-file.tar"),
              [("sub", "symlink", b"", "../outside"), ("sub/evil",)])
    write_tar(p("device.tar"), [("null", "chardev")])
    write_tar(p("fifo.tar"), [("pipe", "fifo")])
    write_tar(p("backslash.tar"), [("..\\evil",)])
    write_zip(p("zip-slip.zip"), [("../evil", EVIL, 0o100644)])
    write_zip(p("zip-symlink.zip"), [("etc", b"/etc", 0o120777)])
    write_cab(p("cab-dotdot.cab"), [("..\\evil", EVIL)])


if __name__ == "__main__":
    main()
