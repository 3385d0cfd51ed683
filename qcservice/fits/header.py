"""Read every header of a FITS file without touching its pixels.

A MUSE raw frame is 860 MB in 25 HDUs; its headers are a few hundred kilobytes. This
reader walks the file block by block: it parses each header (80-character cards, ESO
HIERARCH keywords, long-string CONTINUE cards), computes the size of the data unit from
BITPIX / NAXISn / PCOUNT / GCOUNT (FITS 4.0, eq. 4.2) and seeks past it. A file that is
not FITS, whose header never ends, or whose data stops short of what the headers announce
raises :class:`FitsFormatError` with a message that says which HDU and what is wrong.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from qcservice.errors import MusedcError

BLOCK = 2880
CARD = 80
# The largest header taken: 10,000 blocks = 360,000 cards = 28.8 MB per HDU, far above
# MUSE's 1300-card headers (a 20,000-card header is read in ~0.1 s); larger is refused.
MAX_HEADER_BLOCKS = 10_000
COMMENTARY = frozenset({"COMMENT", "HISTORY", ""})
_BLANK_CARD = " " * CARD

_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([EeDd][+-]?\d+)?$")


class FitsFormatError(MusedcError, ValueError):
    """The bytes are not a well-formed FITS file."""


@dataclass(frozen=True)
class Card:
    keyword: str
    value: object
    comment: str = ""


@dataclass
class Header:
    """The cards of one HDU, with dictionary-style access by keyword (last one wins)."""

    index: int
    cards: list[Card] = field(default_factory=list)
    data_offset: int = 0
    data_size: int = 0
    warnings: list[str] = field(default_factory=list)   # kept, but not quite FITS

    def __post_init__(self) -> None:
        self._by_key = {c.keyword: c for c in self.cards if c.keyword not in COMMENTARY}

    def __contains__(self, keyword: str) -> bool:
        return keyword in self._by_key

    def get(self, keyword: str, default: object = None) -> object:
        card = self._by_key.get(keyword)
        return default if card is None else card.value

    def comment(self, keyword: str) -> str:
        card = self._by_key.get(keyword)
        return "" if card is None else card.comment

    def keywords(self) -> list[str]:
        return list(self._by_key)

    @property
    def extname(self) -> str | None:
        value = self.get("EXTNAME")
        return value.strip() if isinstance(value, str) else None


class RawValue(str):
    """A value field that is not valid FITS (kept verbatim so the error can quote it)."""


def _split_string(text: str, rule: str) -> tuple[str, str]:
    """(raw inner text, rest) of the quoted string at text[0] == "'": '' stays doubled.

    Rules, tried in this order: "fits": '' is a quote, and the closing quote is followed
    by the end, a blank or '/' (any other lone quote is text: astropy writes one when it
    splits a doubled quote between a card and its CONTINUE); "astropy": the first quote
    so followed closes, pairs or not (how astropy reads the other half of such a split);
    "lenient": the first lone quote closes (sloppy writers).
    """
    i = 1
    while i < len(text):
        if text[i] == "'":
            if rule != "astropy" and text[i + 1:i + 2] == "'":
                i += 2
                continue
            if rule == "lenient" or i + 1 == len(text) or text[i + 1] in " /":
                return text[1:i], text[i + 1:]
        i += 1
    raise ValueError("string value without its closing quote")


def _parse_value_raw(field_text: str) -> tuple[object, str, str | None]:
    """Parse the value field of a card: (value, comment, raw text of a string value)."""
    text = field_text.lstrip()
    if text.startswith("'"):
        for rule in ("fits", "astropy", "lenient"):
            try:
                raw, rest = _split_string(text, rule)
                break
            except ValueError:
                continue
        else:
            return RawValue(text.rstrip()), "", None
        rest = rest.strip()
        return (raw.replace("''", "'").rstrip(),
                rest[1:].strip() if rest.startswith("/") else rest, raw)
    token, _, comment = text.partition("/")
    token = token.strip()
    comment = comment.strip()
    if token == "":
        return None, comment, None
    if token == "T":
        return True, comment, None
    if token == "F":
        return False, comment, None
    if _INT.match(token):
        return int(token), comment, None
    if _FLOAT.match(token):
        return float(token.replace("D", "E").replace("d", "e")), comment, None
    return RawValue(token), comment, None


def _parse_value(field_text: str) -> tuple[object, str]:
    """Parse the value field of a card: returns (value, comment)."""
    value, comment, _ = _parse_value_raw(field_text)
    return value, comment


def _parse_card(image: str) -> tuple[Card, str | None]:
    """One 80-character card image: the card, and the raw text of a string value."""
    keyword = image[:8].rstrip()
    if keyword == "HIERARCH":
        body = image[8:]
        name, eq, field_text = body.partition("=")
        if not eq:
            return Card("COMMENT", image[8:].rstrip()), None
        value, comment, raw = _parse_value_raw(field_text)
        return Card(name.strip(), value, comment), raw
    if keyword in COMMENTARY or keyword == "CONTINUE" or image[8:10] != "= ":
        return Card(keyword, image[8:].rstrip()), None
    value, comment, raw = _parse_value_raw(image[10:])
    return Card(keyword, value, comment), raw


def parse_card(image: str) -> Card:
    """Parse one 80-character card image."""
    return _parse_card(image)[0]


def _cards(images: list[str]) -> list[Card]:
    """Parse card images, joining long strings (a string ending in '&' continued by
    CONTINUE cards). The pieces are joined raw, before '' is read as a quote."""
    cards: list[Card] = []
    chain: str | None = None      # raw text so far of a string that may continue
    for image in images:
        if chain is not None and image[:8].rstrip() == "CONTINUE":
            _, comment, raw = _parse_value_raw(image[8:])
            if raw is not None:
                chain = chain.rstrip()[:-1] + raw
                prev = cards[-1]
                cards[-1] = Card(prev.keyword, chain.replace("''", "'").rstrip(),
                                 " ".join(filter(None, (prev.comment, comment))))
                chain = chain if chain.rstrip().endswith("&") else None
                continue
        card, raw = _parse_card(image)
        cards.append(card)
        chain = raw if raw is not None and raw.rstrip().endswith("&") else None
    return cards


def _non_ascii(index: int, images: list[str]) -> list[str]:
    """A warning naming the cards whose non-ASCII bytes became U+FFFD (FITS is ASCII)."""
    bad = [image[:8].strip() or "(blank)" for image in images if "\ufffd" in image]
    if not bad:
        return []
    shown = ", ".join(bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
    return [f"HDU {index}: non-ASCII bytes in {len(bad)} card(s) ({shown}), read as U+FFFD"]


def _read_header_cards(fh: BinaryIO, index: int, offset: int
                       ) -> tuple[list[Card], int, list[str]]:
    """Read cards from ``offset`` up to END; returns (cards, offset of the data unit,
    warnings)."""
    cards: list[str] = []
    fh.seek(offset)
    for nblock in range(MAX_HEADER_BLOCKS):
        block = fh.read(BLOCK)
        if len(block) < BLOCK:
            raise FitsFormatError(f"truncated: the header of HDU {index} stops after "
                                  f"{nblock * BLOCK + len(block)} bytes, before its END card")
        text = block.decode("ascii", errors="replace").replace("\x00", " ")
        for i in range(0, BLOCK, CARD):
            image = text[i:i + CARD]
            if image == _BLANK_CARD:
                continue  # blank padding before END: most cards of a short header
            if image.startswith("END") and image[3:].strip() == "":
                return (_cards(cards), offset + (nblock + 1) * BLOCK,
                        _non_ascii(index, cards))
            cards.append(image)
    raise FitsFormatError(f"HDU {index} has no END card in its first "
                          f"{MAX_HEADER_BLOCKS * BLOCK} bytes: a header may have at most "
                          f"{MAX_HEADER_BLOCKS * BLOCK // CARD} cards")


def _int_key(header: Header, key: str, default: int | None = None) -> int:
    value = header.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FitsFormatError(f"HDU {header.index}: {key} = {value!r} is not a "
                              f"non-negative integer")
    return value


def data_size(header: Header) -> int:
    """Bytes of the data unit, without the padding to 2880 (FITS 4.0, eq. 4.2)."""
    bitpix = header.get("BITPIX")
    if type(bitpix) is not int or bitpix not in (8, 16, 32, 64, -32, -64):  # 16.0 == 16
        raise FitsFormatError(f"HDU {header.index}: BITPIX = {bitpix!r} is not a FITS value")
    naxis = _int_key(header, "NAXIS")
    if naxis == 0:
        return 0
    axes = [_int_key(header, f"NAXIS{i}") for i in range(1, naxis + 1)]
    if header.get("GROUPS") is True and axes[0] == 0:
        axes = axes[1:]
    pcount = _int_key(header, "PCOUNT", 0)
    gcount = _int_key(header, "GCOUNT", 1)
    return abs(bitpix) // 8 * gcount * (pcount + math.prod(axes))


def read_headers(path: str | Path) -> list[Header]:
    """Every header of the FITS file at ``path``, in order, data units skipped."""
    path = Path(path)
    headers: list[Header] = []
    with path.open("rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(0)
        first = fh.read(CARD).decode("ascii", "replace")
        if not first.startswith("SIMPLE  =") or parse_card(first).value is not True:
            raise FitsFormatError("not a FITS file: it does not start with SIMPLE = T")
        offset = 0
        while offset < size:
            index = len(headers)
            if index > 0:
                fh.seek(offset)
                start = fh.read(CARD)
                if not start.startswith(b"XTENSION="):
                    if start.strip(b"\x00 ") == b"" and fh.read(BLOCK).strip(b"\x00 ") == b"":
                        break  # zero or blank fill after the last HDU
                    raise FitsFormatError(f"unexpected bytes after HDU {index - 1} at offset "
                                          f"{offset}: no XTENSION card")
            cards, data_offset, warnings = _read_header_cards(fh, index, offset)
            header = Header(index, cards, data_offset, warnings=warnings)
            header.data_size = data_size(header)
            padded = -(-header.data_size // BLOCK) * BLOCK
            if data_offset + header.data_size > size:
                name = f" ({header.extname})" if header.extname else ""
                raise FitsFormatError(
                    f"truncated: HDU {index}{name} announces {header.data_size} bytes of data "
                    f"at offset {data_offset}, but the file ends at {size}")
            headers.append(header)
            offset = data_offset + padded
    if size % BLOCK:
        raise FitsFormatError(f"truncated: {size} bytes is not a whole number of 2880-byte "
                              f"FITS blocks (HDU {len(headers) - 1} ends short)")
    return headers
