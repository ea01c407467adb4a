"""The settings Elasticsearch reads from a container's command line (`-E name=value`,
`-Ename=value`: EnvironmentAwareCommand), also through a `sh -c` / `bash -c` script.

The words are `command` + `args` as kubelet passes them (documents expands `$(VAR)` first).
Elasticsearch's settings are the `-E` words after the first word that runs it (`_ES_COMMANDS`);
a shell given `-c` runs its script instead, read here when it is a plain command line:
commands split by `;`, `&&`, `||` or newlines, each a list of words (shlex, POSIX), read as
the container's words are. A script the shell could turn into other words than shlex reads is
not judged (UNKNOWN): parameters and substitutions (`$`, backquotes), escapes, globs, tilde and
brace expansion, comments, pipes, redirections, background jobs, subshells and compound
commands (`if`, `for`, ...), and a separator inside quotes (shlex cannot tell it from one
outside).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import Any

from .values import UNKNOWN, Unknown, is_unknown

# What runs Elasticsearch on a command line: its binary (by base name), or the official
# image's default command, which its entrypoint runs Elasticsearch for.
_ES_COMMANDS = ("elasticsearch", "eswrapper")
_SHELLS = ("sh", "bash", "dash", "ash", "ksh")
# A cluster of one-letter shell options (`-ec`, `+x`); `o`/`O` takes the next word (`-o pipefail`).
_SHELL_OPTIONS = re.compile(r"[-+][A-Za-z]+")
# Characters on which the shell's reading may differ from shlex's (see the module docstring).
_UNREAD = frozenset("$`\\*?[~{#")
_SEPARATORS = (";", "&&", "||", "\n")
_OPERATORS = ";&|()<>\n"
_RESERVED = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while",
                       "until", "for", "function", "select"})


def settings(words: list[Any]) -> dict[str, Any] | Unknown:
    """The `-E` settings of the first word that runs Elasticsearch, or of the script of the
    first shell given `-c` (`_script_settings`). A pair without `=` gives none (Elasticsearch
    refuses an empty setting); a word that is not text (unknown at preview) none."""
    for number, word in enumerate(words):
        if not isinstance(word, str):
            continue
        if posixpath.basename(word) in _ES_COMMANDS:
            return _option_settings(words[number + 1:])
        if posixpath.basename(word) in _SHELLS and (
                script := _shell_script(words[number + 1:])) is not None:
            return _script_settings(script)
    return {}


def _option_settings(words: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    options = iter(words)
    for word in options:
        pair = next(options, None) if word == "-E" else (
            word[2:] if isinstance(word, str) and word.startswith("-E") else None)
        if isinstance(pair, str) and "=" in pair:
            name, _, value = pair.partition("=")
            found[name] = value
    return found


def _shell_script(words: list[Any]) -> str | Unknown | None:
    """The script a shell runs given these words after it: the operand after its options when
    they hold `c`. None when they do not (it reads a file or its input); UNKNOWN for options
    not read here (long ones such as `--rcfile FILE`) or a script not known."""
    command_string = False
    taken = False  # the word is the argument of `-o`/`-O`
    for number, word in enumerate(words):
        if taken:
            taken = False
        elif isinstance(word, str) and _SHELL_OPTIONS.fullmatch(word):
            command_string |= word.startswith("-") and "c" in word
            taken = "o" in word.lower()
        elif isinstance(word, str) and word.startswith("--") and word != "--":
            return UNKNOWN
        else:
            operands = words[number + 1:] if word == "--" else words[number:]
            if not command_string:
                return None
            script = operands[0] if operands else None
            return script if isinstance(script, str) or is_unknown(script) else None
    return None


def _script_settings(script: str | Unknown) -> dict[str, Any] | Unknown:
    """The settings of the commands of a plain command-line script (`_commands`), a later one
    winning; UNKNOWN when it is not one."""
    commands = UNKNOWN if is_unknown(script) else _commands(str(script))
    if is_unknown(commands):
        return UNKNOWN
    assert isinstance(commands, list)
    found: dict[str, Any] = {}
    for command in commands:
        read = settings(command)
        if is_unknown(read):
            return UNKNOWN
        assert isinstance(read, dict)
        found |= read
    return found


def _commands(script: str) -> list[list[str]] | Unknown:
    """The commands of a script, each its words as the shell splits and unquotes them; UNKNOWN
    when the shell may read it otherwise (see the module docstring)."""
    if _UNREAD & set(script) or _quoted_operator(script):
        return UNKNOWN
    lexer = shlex.shlex(script, posix=True, punctuation_chars=_OPERATORS)
    lexer.whitespace, lexer.whitespace_split, lexer.commenters = " \t\r", True, ""
    try:
        words = list(lexer)
    except ValueError:  # a quote left open: the shell refuses the script
        return UNKNOWN
    commands: list[list[str]] = [[]]
    for word in words:
        if word in _SEPARATORS:
            commands.append([])
        elif (word and set(word) <= set(_OPERATORS)) or (not commands[-1] and word in _RESERVED):
            return UNKNOWN
        else:
            commands[-1].append(word)
    return [command for command in commands if command]


def _quoted_operator(script: str) -> bool:
    """Whether an operator character stands inside quotes (no backslash: `_UNREAD`)."""
    quote = ""
    for char in script:
        if quote and char == quote:
            quote = ""
        elif quote and char in _OPERATORS:
            return True
        elif not quote and char in "'\"":
            quote = char
    return False
