"""ADQL identifiers: the reserved words (ADQL 2.1 §2.1.3-2.1.4) and how names are written in TAP_SCHEMA.

TAP 1.1 §4.3: a name that is not a legal ADQL regular identifier is listed in TAP_SCHEMA (and VOSI
tables) delimited, quotes included, e.g. ``"value"`` or ``"CamelSchema"."CamelTable"``; queries must then
write it delimited too. A name listed without quotes is a regular identifier: case-insensitive, and the
database object it names is the one PostgreSQL folds it to (lower case), whatever case TAP_SCHEMA uses
(``TAP_SCHEMA.tables`` is the relation ``tap_schema.tables``).
"""

from __future__ import annotations

import re

SQL92_RESERVED = frozenset("""
ABSOLUTE ACTION ADD ALL ALLOCATE ALTER AND ANY ARE AS ASC ASSERTION AT AUTHORIZATION AVG BEGIN BETWEEN BIT
BIT_LENGTH BOTH BY CASCADE CASCADED CASE CAST CATALOG CHAR CHARACTER CHAR_LENGTH CHARACTER_LENGTH CHECK
CLOSE COALESCE COLLATE COLLATION COLUMN COMMIT CONNECT CONNECTION CONSTRAINT CONSTRAINTS CONTINUE CONVERT
CORRESPONDING COUNT CREATE CROSS CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR DATE
DAY DEALLOCATE DEC DECIMAL DECLARE DEFAULT DEFERRABLE DEFERRED DELETE DESC DESCRIBE DESCRIPTOR DIAGNOSTICS
DISCONNECT DISTINCT DOMAIN DOUBLE DROP ELSE END END-EXEC ESCAPE EXCEPT EXCEPTION EXEC EXECUTE EXISTS EXTERNAL
EXTRACT FALSE FETCH FIRST FLOAT FOR FOREIGN FOUND FROM FULL GET GLOBAL GO GOTO GRANT GROUP HAVING HOUR IDENTITY
IMMEDIATE IN INDICATOR INITIALLY INNER INPUT INSENSITIVE INSERT INT INTEGER INTERSECT INTERVAL INTO IS ISOLATION
JOIN KEY LANGUAGE LAST LEADING LEFT LEVEL LIKE LOCAL LOWER MATCH MAX MIN MINUTE MODULE MONTH NAMES NATIONAL
NATURAL NCHAR NEXT NO NOT NULL NULLIF NUMERIC OCTET_LENGTH OF ON ONLY OPEN OPTION OR ORDER OUTER OUTPUT OVERLAPS
PAD PARTIAL POSITION PRECISION PREPARE PRESERVE PRIMARY PRIOR PRIVILEGES PROCEDURE PUBLIC READ REAL REFERENCES
RELATIVE RESTRICT REVOKE RIGHT ROLLBACK ROWS SCHEMA SCROLL SECOND SECTION SELECT SESSION SESSION_USER SET SIZE
SMALLINT SOME SPACE SQL SQLCODE SQLERROR SQLSTATE SUBSTRING SUM SYSTEM_USER TABLE TEMPORARY THEN TIME TIMESTAMP
TIMEZONE_HOUR TIMEZONE_MINUTE TO TRAILING TRANSACTION TRANSLATE TRANSLATION TRIM TRUE UNION UNIQUE UNKNOWN
UPDATE UPPER USAGE USER USING VALUE VALUES VARCHAR VARYING VIEW WHEN WHENEVER WHERE WITH WORK WRITE YEAR ZONE
""".split())

ADQL_WORDS = frozenset("""
ABS ACOS AREA ASIN ATAN ATAN2 BIGINT BOX CEILING CENTROID CIRCLE CONTAINS COORD1 COORD2 COORDSYS COS COT
DEGREES DISTANCE EXP FLOOR ILIKE INTERSECTS IN_UNIT LOG LOG10 MOD OFFSET PI POINT POLYGON POWER RADIANS REGION
RAND ROUND SIN SQRT TAN TOP TRUNCATE
""".split())

RESERVED = SQL92_RESERVED | ADQL_WORDS

_REGULAR = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def is_regular(name: str) -> bool:
    """True if ``name`` can be written as an ADQL regular identifier (not reserved, letters/digits/_)."""
    return bool(_REGULAR.match(name)) and name.upper() not in RESERVED


def adql_name(name: str) -> str:
    """The name as TAP_SCHEMA and /tables list the database name ``name``: delimited (quoted) unless it is a
    regular identifier PostgreSQL folds to itself (lower case)."""
    if is_regular(name) and name == name.lower():
        return name
    return '"' + name.replace('"', '""') + '"'


def plain_name(listed: str) -> str:
    """Undo :func:`adql_name`: the database identifier of a name as listed in TAP_SCHEMA."""
    if len(listed) >= 2 and listed.startswith('"') and listed.endswith('"'):
        return listed[1:-1].replace('""', '"')
    return listed


def is_delimited(listed: str) -> bool:
    """Whether a name as TAP_SCHEMA lists it is a delimited identifier (in double quotes)."""
    return len(listed) >= 2 and listed.startswith('"') and listed.endswith('"')


def database_name(listed: str) -> str:
    """The PostgreSQL name of a name as TAP_SCHEMA lists it: delimited ones exact, regular ones folded."""
    return plain_name(listed) if is_delimited(listed) else listed.lower()


def split_qualified(listed: str) -> list[str]:
    """The parts of a qualified name as TAP_SCHEMA lists it (``"A.b".c`` -> ``['"A.b"', 'c']``)."""
    parts, start, quoted = [], 0, False
    for index, char in enumerate(listed):
        if char == '"':
            quoted = not quoted
        elif char == "." and not quoted:
            parts.append(listed[start:index])
            start = index + 1
    parts.append(listed[start:])
    return parts
