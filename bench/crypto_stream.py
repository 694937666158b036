"""Stream encryption throughput against its two limits, in one run over the same bytes.

    python bench/crypto_stream.py [--size MiB] [--quick]

Rows: a plain chunked copy between in-memory file objects (the floor of any stream format:
moving the bytes), AES-256-GCM over 1 MiB segments with `encrypt_into` on one core (the
cipher alone), and our `encrypt_stream` / `decrypt_stream`, with and without the plaintext
SHA-256. Then peak memory while a 2 GiB artifact streams through each direction, from a
generating source into a discarding sink (so the run itself needs no 2 GiB of RAM).
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from interlock_wire import StreamEncryptor, artifact_ad, decrypt_stream, encrypt_stream

MiB = 1024 * 1024
SEGMENT = MiB
# a real artifact's associated data (its length is what the stream key derivation sees)
AD = artifact_ad(
    artifact_uuid=uuid.uuid4(),
    owner_org_uuid=uuid.uuid4(),
    kind="checkpoint",
    parent_type="checkpoint",
    parent_id=uuid.uuid4(),
)


def best_of(runs: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def plain_copy(data: bytes) -> None:
    src, dst = io.BytesIO(data), io.BytesIO()
    view = memoryview(bytearray(SEGMENT))
    while n := src.readinto(view):
        dst.write(view[:n])


def cipher_alone(data: bytes) -> None:
    aead = AESGCM(os.urandom(32))
    out = bytearray(SEGMENT + 16)
    view = memoryview(data)
    for index, offset in enumerate(range(0, len(data), SEGMENT)):
        aead.encrypt_into(index.to_bytes(12, "big"), view[offset : offset + SEGMENT], None, out)


class Generated(io.RawIOBase):
    """`size` bytes of a repeating random block, never held at once."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.block = os.urandom(SEGMENT)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left, len(self.block))
        buffer[:n] = self.block[:n]
        self.left -= n
        return n


class Discard(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        return len(data)


class EncryptedSource(io.RawIOBase):
    """The ciphertext of a generated plaintext, produced as it is read (a few MiB at a time)."""

    def __init__(self, size: int, key: bytes) -> None:
        self.plain = Generated(size)
        self.pending = bytearray()
        self.encryptor = StreamEncryptor(self, key, AD, hash_plaintext=False)
        self.block = memoryview(bytearray(SEGMENT))
        self.done = False

    def readable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self.pending += data
        return len(data)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while len(self.pending) < len(buffer) and not self.done:
            n = self.plain.readinto(self.block)
            if n:
                self.encryptor.write(self.block[:n])
            else:
                self.encryptor.finish()
                self.done = True
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        del self.pending[:n]
        return n


def rss_peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_memory(run: Callable[[], object]) -> tuple[float, float]:
    """(peak MiB traced by Python, growth of the process's peak RSS in MiB) while `run` runs."""
    rss_before = rss_peak_mib()
    tracemalloc.start()
    run()
    traced = tracemalloc.get_traced_memory()[1] / MiB
    tracemalloc.stop()
    return traced, max(rss_peak_mib() - rss_before, 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=512, help="MiB of data for the throughput rows")
    parser.add_argument("--quick", action="store_true", help="64 MiB rows and 256 MiB memory runs")
    args = parser.parse_args()
    size = (64 if args.quick else args.size) * MiB
    memory_size = (256 if args.quick else 2048) * MiB
    key = os.urandom(32)
    # memory first, before this process holds the throughput buffers (peak RSS only grows)
    memory = {
        "encrypt_stream": peak_memory(lambda: encrypt_stream(Generated(memory_size), Discard(), key, AD)),
        "decrypt_stream": peak_memory(
            lambda: decrypt_stream(EncryptedSource(memory_size, key), Discard(), key, AD)
        ),
    }
    data = os.urandom(size)
    encrypted = io.BytesIO()
    encrypt_stream(io.BytesIO(data), encrypted, key, AD)
    blob = encrypted.getvalue()
    runs = 3
    rows = {
        "plain chunked copy (floor)": best_of(runs, lambda: plain_copy(data)),
        "AES-GCM encrypt_into, 1 MiB segments (cipher alone)": best_of(runs, lambda: cipher_alone(data)),
        "encrypt_stream, hash_plaintext=False": best_of(
            runs, lambda: encrypt_stream(io.BytesIO(data), io.BytesIO(), key, AD, hash_plaintext=False)
        ),
        "decrypt_stream, hash_plaintext=False": best_of(
            runs, lambda: decrypt_stream(io.BytesIO(blob), io.BytesIO(), key, AD, hash_plaintext=False)
        ),
        "encrypt_stream (with plaintext SHA-256, default)": best_of(
            runs, lambda: encrypt_stream(io.BytesIO(data), io.BytesIO(), key, AD)
        ),
        "decrypt_stream (with plaintext SHA-256, default)": best_of(
            runs, lambda: decrypt_stream(io.BytesIO(blob), io.BytesIO(), key, AD)
        ),
    }
    floor = rows["plain chunked copy (floor)"]
    print(f"{size // MiB} MiB between in-memory files, best of {runs}; load average {os.getloadavg()[0]:.2f}")
    print(f"| {'path':<52} | {'GB/s':>6} | {'% of copy':>9} |")
    for name, seconds in rows.items():
        print(f"| {name:<52} | {size / seconds / 1e9:>6.2f} | {100 * floor / seconds:>8.0f}% |")
    for name, (traced, rss) in memory.items():
        print(
            f"peak memory streaming {memory_size // MiB} MiB through {name}: "
            f"{traced:.1f} MiB traced by Python, {rss:.1f} MiB peak-RSS growth"
        )


if __name__ == "__main__":
    main()
