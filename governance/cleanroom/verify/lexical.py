"""Token-level checks that run before anything is parsed (length, nesting, comments, parameters, string literals,
quoted names, one statement), then the parse itself: what sqlglot's AST would no longer show."""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from governance.cleanroom.verify.messages import (
    COMMENT,
    DIALECT,
    EMPTY_QUERY,
    IDENTIFIER,
    MAX_NESTING,
    MAX_SQL_CHARS,
    MULTIPLE_STATEMENTS,
    NOT_SELECT,
    PARAMETER,
    PARSE_ERROR,
    STRAY_TEXT,
    STRING_LITERAL_ADJACENT,
    STRING_LITERAL_CHARS,
    STRING_LITERAL_ESCAPE,
    STRING_LITERAL_KIND,
    TOO_COMPLEX,
    TOO_LONG,
)
from governance.cleanroom.verify.nodes import _IDENTIFIER, _fragment, _refuse

_SAFE_STRING = re.compile(r"[\w .:/+@&#,()-]{0,256}")
_WHITESPACE = " \t\r\n\f"
_STRING_TOKENS = frozenset(
    getattr(TokenType, name)
    for name in ("BYTE_STRING", "NATIONAL_STRING", "RAW_STRING", "HEX_STRING", "BIT_STRING", "HEREDOC_STRING",
                 "UNICODE_STRING")
    if hasattr(TokenType, name)
)
_PARAMETER_TOKENS = frozenset(
    getattr(TokenType, name) for name in ("PARAMETER", "PLACEHOLDER", "SESSION_PARAMETER", "COLON")
    if hasattr(TokenType, name)
)
_STATEMENT_STARTS = frozenset(
    {TokenType.SELECT, TokenType.WITH, TokenType.L_PAREN, TokenType.TABLE, TokenType.VALUES, TokenType.VAR,
     TokenType.SEMICOLON}
)


def _check_text(sql: str) -> None:
    """Token-level rules: what sqlglot's AST no longer shows (comments, quoting, statement separators)."""
    if len(sql) > MAX_SQL_CHARS:
        _refuse("SQL", "too_long", TOO_LONG.format(length=len(sql), limit=MAX_SQL_CHARS))
    try:
        tokens = Dialect.get_or_raise(DIALECT).tokenize(sql)
    except TokenError as error:
        _refuse("SQL", "parse_error", PARSE_ERROR.format(detail=str(error)[:200]))
    if tokens and tokens[0].token_type not in _STATEMENT_STARTS:
        # sqlglot swallows the rest of EXPLAIN, VACUUM, DO, CALL ... into one token: say what it is, not "parse".
        _refuse("SQL", "not_select", NOT_SELECT.format(kind=tokens[0].text.upper()[:40]))
    position = depth = 0
    for index, token in enumerate(tokens):
        _check_gap(sql[position : token.start])
        raw = sql[token.start : token.end + 1]
        previous = tokens[index - 1] if index else None
        if token.comments:
            _refuse("SQL", "comment", COMMENT.format(text=token.comments[0][:80]))
        if previous is not None and previous.token_type == TokenType.SEMICOLON:
            _refuse("SQL", "multiple_statements", MULTIPLE_STATEMENTS.format(text=sql[token.start :][:80]))
        _check_token(token, raw, previous, tokens[index + 1] if index + 1 < len(tokens) else None)
        depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(token.token_type, 0)
        if depth > MAX_NESTING:
            _refuse("SQL", "too_complex", TOO_COMPLEX)
        position = token.end + 1
    _check_gap(sql[position:])


def _check_gap(gap: str) -> None:
    if not gap.strip(_WHITESPACE):
        return
    if "--" in gap or "/*" in gap:
        _refuse("SQL", "comment", COMMENT.format(text=gap.strip(_WHITESPACE)[:80]))
    _refuse("SQL", "parse_error", PARSE_ERROR.format(detail=STRAY_TEXT.format(text=gap.strip(_WHITESPACE)[:80])))


def _check_token(token: Token, raw: str, previous: Token | None, following: Token | None) -> None:
    kind = token.token_type
    if kind in _PARAMETER_TOKENS:
        _refuse("SQL", "parameter", PARAMETER.format(text=raw))
    if kind == TokenType.MOD and following is not None and following.start == token.end + 1:
        if following.token_type == TokenType.L_PAREN or following.text == "s":
            _refuse("SQL", "parameter", PARAMETER.format(text=raw + following.text))
    if kind in _STRING_TOKENS:
        _refuse("SQL", "string_literal", STRING_LITERAL_KIND.format(text=raw[:80]))
    if kind == TokenType.STRING:
        if raw != f"'{token.text}'":
            _refuse("SQL", "string_literal", STRING_LITERAL_ESCAPE.format(text=raw[:80]))
        if not _SAFE_STRING.fullmatch(token.text):
            _refuse("SQL", "string_literal", STRING_LITERAL_CHARS.format(text=raw[:80]))
        if previous is not None and previous.token_type == TokenType.STRING:
            _refuse("SQL", "string_literal", STRING_LITERAL_ADJACENT.format(text=raw[:80]))
    if kind == TokenType.IDENTIFIER and (raw != f'"{token.text}"' or not _IDENTIFIER.fullmatch(token.text)):
        _refuse("SQL", "identifier", IDENTIFIER.format(text=raw[:80]))


def _parse(sql: str) -> exp.Expression:
    try:
        statements = sqlglot.parse(sql, read=DIALECT)
    except (ParseError, TokenError) as error:
        detail = error.errors[0].get("description") if isinstance(error, ParseError) and error.errors else None
        detail = detail or str(error)
        _refuse("SQL", "parse_error", PARSE_ERROR.format(detail=str(detail)[:200]))
    statements = [statement for statement in statements if statement is not None]
    if not statements:
        _refuse("SQL", "parse_error", EMPTY_QUERY)
    if len(statements) > 1:  # the token check already refuses this; kept so the rule never rests on one check
        _refuse("SQL", "multiple_statements", MULTIPLE_STATEMENTS.format(text=_fragment(statements[1])))
    return statements[0]
