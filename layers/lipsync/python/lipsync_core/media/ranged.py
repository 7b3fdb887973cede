"""A read-only, seekable file over ranged reads: PyAV (FFmpeg) reads a container's headers by seeking
and reading a few kilobytes here and there, so a probe fetches those blocks only, never the whole file.

Blocks are fetched on first use and a few are kept (FFmpeg often rereads what it just read); the
reader counts what it fetched, so a probe can say what it cost.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Callable

RangeFetch = Callable[[int, int], bytes]  # (first byte, last byte inclusive) -> those bytes
BLOCK_BYTES = 256 * 1024
KEPT_BLOCKS = 8


class RangedReader(io.RawIOBase):
    def __init__(self, fetch: RangeFetch, size: int, *, block_bytes: int = BLOCK_BYTES) -> None:
        super().__init__()
        self._fetch, self.size, self._block = fetch, size, block_bytes
        self._position = 0
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self.fetched_bytes = 0
        self.requests = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        wanted = min(len(buffer), self.size - self._position)
        if wanted <= 0:
            return 0
        done = 0
        while done < wanted:
            index, within = divmod(self._position, self._block)
            block = self._block_at(index)
            piece = block[within : within + wanted - done]
            if not piece:
                break
            buffer[done : done + len(piece)] = piece
            done += len(piece)
            self._position += len(piece)
        return done

    def _block_at(self, index: int) -> bytes:
        block = self._blocks.get(index)
        if block is None:
            first = index * self._block
            last = min(self.size, first + self._block) - 1
            block = self._fetch(first, last)
            if len(block) != last - first + 1:
                raise OSError(f"asked for bytes {first}-{last}, got {len(block)} bytes")
            self.fetched_bytes += len(block)
            self.requests += 1
            self._blocks[index] = block
            if len(self._blocks) > KEPT_BLOCKS:
                self._blocks.popitem(last=False)
        else:
            self._blocks.move_to_end(index)
        return block
