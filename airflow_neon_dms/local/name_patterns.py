"""Schema and table name patterns of DMS table mappings, as the emulator reads them.

Written from the AWS DMS user guide, "Wildcards in table mapping"
(https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Tasks.CustomizingTasks.TableMapping.SelectionTransformation.Wildcards.html):

* ``%``: zero or more characters;
* ``_``: a single character;
* ``[_]``: a literal underscore;
* ``[ab]``: a set of characters, ``a`` or ``b``;
* ``[a-d]``: a range of characters, ``a``, ``b``, ``c`` or ``d``.

Every other character stands for itself and names are compared case-sensitively (PostgreSQL and
MySQL on Linux keep the case of quoted names). The guide documents no negated set, so ``^`` in a
set is an ordinary character; the Oracle-only ``escapeCharacter`` attribute is not modelled.

The emulator keeps this reading apart from the provider's own matcher on purpose (see
docs/emulator.md): the same rule written twice from the guide, so a misreading shows up as a
difference instead of passing both.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

#: ``%``: any run of characters, the empty one included.
ANY_RUN = "%"
#: ``_``: exactly one character.
ANY_ONE = "_"


@dataclass(frozen=True)
class CharacterSet:
    """``[...]``: one character from the listed characters and ``x-y`` ranges."""

    singles: frozenset[str]
    ranges: tuple[tuple[str, str], ...]

    def accepts(self, character: str) -> bool:
        return character in self.singles or any(low <= character <= high for low, high in self.ranges)


Token = str | CharacterSet


def _character_set(pattern: str, body: str) -> CharacterSet:
    if not body:
        raise ValueError(
            f"Table mapping pattern {pattern!r} has an empty set []; remove it or list characters."
        )
    singles: set[str] = set()
    ranges: list[tuple[str, str]] = []
    index = 0
    while index < len(body):
        # "a-d" is a range; a hyphen first or last in the set is an ordinary character.
        if index + 2 < len(body) and body[index + 1] == "-":
            ranges.append((body[index], body[index + 2]))
            index += 3
        else:
            singles.add(body[index])
            index += 1
    return CharacterSet(frozenset(singles), tuple(ranges))


@lru_cache(maxsize=512)
def parse_name_pattern(pattern: str) -> tuple[Token, ...]:
    """Split a name pattern into tokens: ``%``, ``_``, a CharacterSet or one literal character.

    Literal ``%`` and ``_`` only come from a set (``[%]``, ``[_]``), so they are returned as
    CharacterSets. Raises ValueError for a ``[`` without its ``]`` or an empty ``[]``.
    """
    tokens: list[Token] = []
    index = 0
    while index < len(pattern):
        character = pattern[index]
        if character == "[":
            close = pattern.find("]", index + 1)
            if close < 0:
                raise ValueError(
                    f"Table mapping pattern {pattern!r} has '[' without a closing ']'; close the set, "
                    "e.g. [_] for a literal underscore or [ab] for a or b."
                )
            tokens.append(_character_set(pattern, pattern[index + 1 : close]))
            index = close + 1
            continue
        tokens.append(character)
        index += 1
    return tuple(tokens)


def name_matches(pattern: str, name: str) -> bool:
    """True when ``name`` matches the whole of ``pattern``.

    Walks the tokens keeping every position in ``name`` the pattern so far can end at, so ``%``
    never backtracks (linear in pattern length times name length).
    """
    reachable = {0}
    for token in parse_name_pattern(pattern):
        if token == ANY_RUN:
            reachable = set(range(min(reachable), len(name) + 1))
        else:
            reachable = {
                position + 1
                for position in reachable
                if position < len(name) and _token_accepts(token, name[position])
            }
        if not reachable:
            return False
    return len(name) in reachable


def _token_accepts(token: Token, character: str) -> bool:
    if isinstance(token, CharacterSet):
        return token.accepts(character)
    return token == ANY_ONE or token == character
