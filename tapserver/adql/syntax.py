"""Reading ADQL text: lexical checks, bounds on size and nesting, one query statement, positions."""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from tapserver.adql.dialect import ADQL_DIALECT, ALLOWED_TOKENS
from tapserver.adql.errors import ADQLSyntaxError, position_of, start_of
from tapserver.adql.grammar import check as check_grammar
from tapserver.catalog.identifiers import ADQL_WORDS

MAX_QUERY_LENGTH = 100_000
"""Longest accepted query text, in characters."""
MAX_TOKENS = 20_000
"""Most tokens in a query (a 5000-value IN list is about 10,000)."""
MAX_NESTING = 24
"""Deepest nesting of parentheses and CASE ... END in the text."""
MAX_TREE_DEPTH = 200
"""Deepest syntax tree (chains of AND/OR do not count: they are flattened)."""

_REGULAR_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_NUMBER = re.compile(r"(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\Z")
_GAP = re.compile(r"(\s+|--[^\n\r]*)*\Z")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_QUERY_TYPES = (exp.Select, exp.SetOperation, exp.Subquery)
_UNSIGNED_INTEGER = re.compile(r"\d+\Z")
# What may follow "OFFSET n": OFFSET is the last clause of a query.
_AFTER_OFFSET = frozenset({TokenType.R_PAREN, TokenType.UNION, TokenType.INTERSECT, TokenType.EXCEPT})
# What may follow an empty clause: the next clause or the end of its query.
_CLAUSE_ENDS = _AFTER_OFFSET | {None, TokenType.HAVING, TokenType.ORDER_BY, TokenType.OFFSET}


def _error(text: str, offset: int, message: str) -> ADQLSyntaxError:
    line, column = position_of(text, offset)
    return ADQLSyntaxError(message, line=line, column=column)


def _unterminated(text: str) -> int | None:
    """Offset of an unterminated string literal or delimited identifier, if any."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if c in "'\"":
            j = i + 1
            while True:
                j = text.find(c, j)
                if j < 0:
                    return i
                if text.startswith(c + c, j):
                    j += 2
                    continue
                break
            i = j + 1
            continue
        i += 1
    return None


def tokenize(text: str) -> list[Token]:
    """ADQL tokens of ``text``, after the lexical checks (nothing is skipped silently)."""
    if len(text) > MAX_QUERY_LENGTH:
        raise _error(text, MAX_QUERY_LENGTH, f"the query is longer than {MAX_QUERY_LENGTH} characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise _error(text, error.start, "the query is not valid Unicode text") from None
    control = _CONTROL.search(text)
    if control:
        raise _error(text, control.start(), f"unexpected control character {control.group()!r}")
    try:
        tokens = ADQL_DIALECT.tokenizer().tokenize(text)
    except TokenError:
        offset = _unterminated(text)
        if offset is not None:
            what = "string literal" if text[offset] == "'" else "delimited identifier"
            raise _error(text, offset, f"unterminated {what}") from None
        raise _error(text, 0, "the query text cannot be read") from None
    if not tokens:
        raise _error(text, len(text), "the query is empty")
    if len(tokens) > MAX_TOKENS:
        raise _error(text, tokens[MAX_TOKENS].start, f"the query has more than {MAX_TOKENS} tokens")
    end_of_text = len(text)
    if tokens[-1].token_type == TokenType.SEMICOLON:
        end_of_text = tokens[-1].start  # a single trailing semicolon is harmless
        tokens = tokens[:-1]
        if not tokens:
            raise _error(text, 0, "the query is empty")
    if tokens[0].token_type not in (TokenType.SELECT, TokenType.WITH, TokenType.L_PAREN):
        raise _error(text, tokens[0].start, "an ADQL query starts with SELECT or WITH")
    previous_end = -1
    depth = run = 0
    for index, token in enumerate(tokens):
        gap = text[previous_end + 1:token.start]
        if not _GAP.match(gap):
            raise _error(text, previous_end + 1 + len(gap) - len(gap.lstrip()), "unexpected text")
        kind = token.token_type
        if kind == TokenType.SEMICOLON:
            raise _error(text, token.start, "only one statement is allowed (unexpected ';')")
        if kind not in ALLOWED_TOKENS:
            raise _error(text, token.start, f"unexpected {text[token.start:token.end + 1]!r}")
        if kind == TokenType.LIMIT:
            raise _error(text, token.start, "ADQL has no LIMIT clause: use SELECT TOP n")
        if kind == TokenType.VAR and not _REGULAR_IDENTIFIER.match(token.text):
            bad = next((i for i, ch in enumerate(token.text)
                        if not (ch.isascii() and (ch.isalnum() or ch == "_"))), 0)
            what = repr(token.text[bad]) if bad or not token.text[0].isdigit() else repr(token.text)
            raise _error(text, token.start + bad, f"unexpected character {what}"
                         if bad or not token.text[0].isdigit() else f"invalid identifier {what}")
        if kind == TokenType.VAR and token.text.upper() in ADQL_WORDS and not _function_or_type(tokens, index):
            raise _error(text, token.start, f"{token.text.upper()} is a reserved word: write a column or "
                         f'table of that name as a delimited identifier, "{token.text}"')
        if kind == TokenType.OFFSET:
            _check_offset(text, tokens, index)
        if kind == TokenType.IDENTIFIER and not token.text:
            raise _error(text, token.start, "empty delimited identifier")
        if kind == TokenType.NUMBER:
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            if not _NUMBER.match(token.text) or (
                following is not None and following.start == token.end + 1
                and following.token_type in (TokenType.VAR, TokenType.NUMBER, TokenType.DOT,
                                             TokenType.IDENTIFIER, TokenType.STRING)
            ):
                end = following.end if following is not None else token.end
                raise _error(text, token.start, f"malformed number {text[token.start:end + 1]!r}")
        # prefix operators nest too (NOT NOT ..., - - ...)
        run = run + 1 if kind in (TokenType.NOT, TokenType.DASH, TokenType.PLUS) else 0
        if kind == TokenType.L_PAREN or kind == TokenType.CASE:
            depth += 1
        elif kind == TokenType.R_PAREN or kind == TokenType.END:
            depth -= 1
        if depth > MAX_NESTING or run > MAX_NESTING:
            raise _error(text, token.start, f"the query is nested deeper than {MAX_NESTING} levels")
        previous_end = token.end
    tail = text[previous_end + 1:end_of_text]
    if not _GAP.match(tail):
        raise _error(text, previous_end + 1 + len(tail) - len(tail.lstrip()), "unexpected text")
    return tokens


def _function_or_type(tokens: list[Token], index: int) -> bool:
    """Whether the ADQL word at ``index`` is a function name (before "(") or a CAST type (AS x ")")."""
    following = tokens[index + 1].token_type if index + 1 < len(tokens) else None
    previous = tokens[index - 1].token_type if index else None
    return following == TokenType.L_PAREN or (previous == TokenType.ALIAS and following == TokenType.R_PAREN)


def _check_offset(text: str, tokens: list[Token], index: int) -> None:
    """OFFSET takes an unsigned integer and ends its query."""
    value = tokens[index + 1] if index + 1 < len(tokens) else None
    if value is None or value.token_type != TokenType.NUMBER or not _UNSIGNED_INTEGER.match(value.text):
        where = value.start if value is not None else tokens[index].end + 1
        raise _error(text, where, "OFFSET must be followed by an unsigned integer")
    following = tokens[index + 2] if index + 2 < len(tokens) else None
    if following is not None and following.token_type not in _AFTER_OFFSET:
        raise _error(text, following.start, "OFFSET must be the last clause of a query")


def _parse_error(text: str, error: ParseError) -> ADQLSyntaxError:
    info = error.errors[0] if error.errors else {}
    description = str(info.get("description") or "invalid query")
    highlight = str(info.get("highlight") or "")
    start_context = info.get("start_context")
    # The parser runs with a context as long as the query, so start_context is the text before the error.
    offset = len(start_context) if isinstance(start_context, str) and highlight else len(text)
    if description.startswith("Expecting"):
        message = description[0].lower() + description[1:]
        if highlight:
            message += f" near {highlight!r}"
    elif description.startswith(("Required keyword", "Expected")):
        message = "incomplete or invalid expression" + (f" near {highlight!r}" if highlight else "")
    else:
        message = "unexpected " + (repr(highlight) if highlight else "end of query")
    return _error(text, offset, message)


def _located(node: exp.Expr, tokens: list[Token]) -> int:
    """Where to report a grammar error at ``node``: its first located token, else the clause keyword
    (an empty GROUP BY has no located token of its own), else the query's start."""
    start = start_of(node)
    if start is not None:
        return start
    if isinstance(node, exp.Group):
        for index, token in enumerate(tokens):
            following = tokens[index + 1].token_type if index + 1 < len(tokens) else None
            if token.token_type == TokenType.GROUP_BY and following in _CLAUSE_ENDS:
                return token.start
    return tokens[0].start


def _tree_depth(root: exp.Expr) -> int:
    deepest = 0
    stack: list[tuple[exp.Expr, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        for child in node.iter_expressions():
            flat = isinstance(child, exp.Connector) and type(child) is type(node)
            stack.append((child, depth if flat else depth + 1))
    return deepest


def parse(text: str) -> exp.Query:
    """Parse one ADQL query into its sqlglot tree; raise ADQLSyntaxError (with line/column) if invalid."""
    tokens = tokenize(text)
    try:
        parser = ADQL_DIALECT.parser(error_level=ErrorLevel.IMMEDIATE, error_message_context=len(text) + 1)
        trees = parser.parse(tokens, text)
    except ParseError as error:
        raise _parse_error(text, error) from None
    except RecursionError:
        raise _error(text, 0, "the query is nested deeper than the parser allows") from None
    statements = [t for t in trees if t is not None]
    if len(statements) != 1:
        raise _error(text, 0, "exactly one query is expected")
    tree = statements[0]
    for select in tree.find_all(exp.Select):
        if not select.expressions:
            raise _error(text, tokens[0].start, "the SELECT list is empty")
    if not isinstance(tree, _QUERY_TYPES) or (isinstance(tree, exp.Subquery) and tree.alias):
        raise _error(text, tokens[0].start, "the query must be a SELECT statement")
    check_grammar(tree, lambda message, node: _error(text, _located(node, tokens), message))
    if _tree_depth(tree) > MAX_TREE_DEPTH:
        raise _error(text, 0, f"the query is nested deeper than {MAX_TREE_DEPTH} levels")
    assert isinstance(tree, exp.Query)
    return tree
