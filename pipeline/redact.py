"""Masking secrets: the API key (and the AWS secrets) never reach any output, whole or in part.

Any run of RUN or more consecutive characters of a secret is replaced, wherever it appears: a
server or proxy that echoes the Authorization header back, a traceback, an error message.
"""

from __future__ import annotations

from collections.abc import Iterable

RUN = 8
MASK = "***"
_SHORTEST = 6  # a shorter "secret" is a test value; masking it would garble every line


class Redactor:
    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self.secrets = [s for s in dict.fromkeys(secrets) if s and len(s) >= _SHORTEST]
        # Every window of RUN characters of a secret holds one of its aligned blocks of RUN/2
        # whole, so text that holds no block holds no window: a few C-speed searches settle
        # most bodies, and only where a block occurs is the run around it measured.
        self._blocks: dict[str, list[tuple[str, int]]] = {}
        for secret in self.secrets:
            size = min(RUN // 2, len(secret) // 2)
            for at in range(0, len(secret) - size + 1, size):
                self._blocks.setdefault(secret[at : at + size], []).append((secret, at))
        self._byte_blocks = [b.encode("latin-1", "replace") for b in self._blocks]

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def text(self, text: str) -> str:
        """Return text with every run of RUN characters of a secret masked."""
        if not any(block in text for block in self._blocks):
            return text
        return self._mask(text)

    def bytes(self, data: bytes) -> bytes:
        """Return data with every run of RUN characters of a secret masked."""
        if not any(block in data for block in self._byte_blocks):
            return data
        # latin-1 maps every byte to one character and back, so offsets and other bytes stay.
        return self._mask(data.decode("latin-1")).encode("latin-1")

    def _mask(self, text: str) -> str:
        spans = sorted(span for block in self._blocks for span in self._runs(text, block))
        out, last = [], 0
        for start, end in spans:
            if end <= last:
                continue
            if start >= last:
                out += [text[last:start], MASK]
            last = end
        out.append(text[last:])
        return "".join(out)

    def _runs(self, text: str, block: str) -> Iterable[tuple[int, int]]:
        """Yield the spans of text around each occurrence of block that are runs of a secret."""
        found = text.find(block)
        while found >= 0:
            for secret, at in self._blocks[block]:
                start, end = found, found + len(block)
                left, right = at, at + len(block)
                while start > 0 and left > 0 and text[start - 1] == secret[left - 1]:
                    start, left = start - 1, left - 1
                while end < len(text) and right < len(secret) and text[end] == secret[right]:
                    end, right = end + 1, right + 1
                if end - start >= min(RUN, len(secret)):
                    yield start, end
            found = text.find(block, found + 1)
