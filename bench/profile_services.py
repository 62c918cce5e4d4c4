"""Where the time goes in each service: sample every running Lapor service with py-spy and
print the functions that hold the most samples (own time and inclusive time).

Run it while a load is on, e.g. during `python -m bench.pipeline` (its saturation phase):

    .venv/bin/python -m bench.profile_services --seconds 30

It finds the services' processes (`python -m services.<name>`), records each for the same
window in parallel (py-spy `--format raw`: one collapsed stack and its sample count per line)
and summarises. py-spy needs ptrace rights: run as root or with CAP_SYS_PTRACE.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SERVICES = ("intake", "triage", "routing", "notifier")


def service_pids() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        for service in SERVICES:
            if f"services.{service}".encode() in argv:
                found.setdefault(service, []).append(int(proc.name))
    return found


def summarise(raw: Path, top: int) -> list[str]:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [frame.split(" (")[0] + _where(frame) for frame in stack.split(";")]
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    if not total:
        return ["  no samples"]
    lines = [f"  {total} samples; own time:"]
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    lines.append("  inclusive (Lapor code only):")
    ours = [(name, n) for name, n in inclusive.most_common() if "services/" in name]
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in ours[:top]]
    return lines


def _where(frame: str) -> str:
    """`function (path/to/file.py:12)` → ` (file path from the package root)`."""
    if "(" not in frame:
        return ""
    location = frame.split("(", 1)[1].rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/services/", "/schemas/", "lib/python3.11/"):
        if marker in location:
            return f" ({marker.strip('/')}/{location.split(marker, 1)[1]})"
    return f" ({location})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--rate", type=int, default=100, help="samples per second")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        sys.exit("py-spy is not installed (pip install -e '.[bench]')")
    pids = service_pids()
    if not pids:
        sys.exit("no running Lapor service found")
    out = Path(tempfile.mkdtemp(prefix="lapor-profile-"))
    running = {}
    for service, ids in sorted(pids.items()):
        for pid in ids:
            raw = out / f"{service}-{pid}.txt"
            command = [spy, "record", "--format", "raw", "-r", str(args.rate)]
            command += ["-d", str(args.seconds), "-o", str(raw), "-p", str(pid), "--nonblocking"]
            running[(service, pid)] = (
                subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
                raw,
            )
    for (service, pid), (process, raw) in running.items():
        process.wait()
        print(f"{service} (pid {pid}):")
        print("\n".join(summarise(raw, args.top) if raw.exists() else ["  py-spy failed"]))
    print(f"raw stacks in {out}")


if __name__ == "__main__":
    main()
