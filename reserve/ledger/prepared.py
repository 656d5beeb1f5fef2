"""Querysets compiled to SQL once and run again with other values (issue #16).

Building and compiling a queryset costs more than running it on an indexed table: in a posting,
the ORM's Python took several times the database's own time. The posting runs the same few reads
on every entry (its accounts under lock, the lots it takes), so each is compiled once per
database and shape, with *marks* standing in for the values that change, and afterwards only
the values are bound and the rows turned into model instances as Django's own iterable does
(database converters, ``select_related``, annotations).

    accounts = prepared.instances(
        ("locked accounts", len(ids)),
        lambda *marks: Account.objects.filter(pk__in=marks).order_by("pk"),
        ids,
    )

The key names the shape: everything the built queryset depends on besides the marked values
(the number of ids above). A mark is an integer no real value takes; a value the ORM would
transform on its way to the database (an amount, a date) is bound as that parameter's database
value by the caller, or stays outside the marks as part of the key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models.query import ModelIterable, get_related_populators

#: Marks are MARK, MARK - 1, ...: far outside every id and count the ledger stores.
MARK = -(10**15) - 7


@dataclass(frozen=True)
class _Compiled:
    sql: str
    #: For each parameter: the index of the value it takes, or None (then ``constants`` holds it).
    slots: tuple[int | None, ...]
    constants: tuple
    #: {column position: (converters, expression)}, as ``SQLCompiler.get_converters`` gives them.
    converters: dict
    model: type[models.Model] | None
    init_list: tuple[str, ...]
    model_columns: slice
    populators: tuple
    annotations: tuple[tuple[str, int], ...]


_compiled: dict[tuple, _Compiled] = {}


def _compile(queryset: models.QuerySet, count: int, alias: str) -> _Compiled:
    compiler = queryset.query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    marks = {MARK - index: index for index in range(count)}
    slots = tuple(marks.get(param) if isinstance(param, int) else None for param in params)
    if set(slots) - {None} != set(range(count)):
        raise ImproperlyConfigured(f"A marked value did not reach the SQL unchanged: {sql}")
    constants = tuple(None if slot is not None else param for slot, param in zip(slots, params, strict=True))
    select = compiler.select
    converters = compiler.get_converters([column[0] for column in select[: compiler.col_count]])
    klass_info = compiler.klass_info
    if klass_info is None or queryset._iterable_class is not ModelIterable:  # values_list(): rows
        return _Compiled(sql, slots, constants, converters, None, (), slice(0), (), ())
    fields = klass_info["select_fields"]
    columns = slice(fields[0], fields[-1] + 1)
    return _Compiled(
        sql=sql,
        slots=slots,
        constants=constants,
        converters=converters,
        model=klass_info["model"],
        init_list=tuple(column[0].target.attname for column in select[columns]),
        model_columns=columns,
        populators=tuple(get_related_populators(klass_info, select, alias)),
        annotations=tuple(compiler.annotation_col_map.items()),
    )


def _run(key: tuple, build: Callable[..., models.QuerySet], values: Sequence, using: str | None):
    alias = using or DEFAULT_DB_ALIAS
    connection = connections[alias]
    cache_key = (alias, connection.vendor, *key)
    compiled = _compiled.get(cache_key)
    if compiled is None:
        queryset = build(*(MARK - index for index in range(len(values))))
        compiled = _compiled[cache_key] = _compile(queryset, len(values), alias)
    params = [
        values[slot] if slot is not None else constant
        for slot, constant in zip(compiled.slots, compiled.constants, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, params)
        rows = cursor.fetchall()
    if compiled.converters:
        converted = []
        for row in rows:
            row = list(row)
            for position, (functions, expression) in compiled.converters.items():
                value = row[position]
                for function in functions:
                    value = function(value, expression, connection)
                row[position] = value
            converted.append(row)
        rows = converted
    return compiled, rows


def padded(ids: Sequence[int]) -> list[int]:
    """``ids`` repeated at the end up to the next power of two: an ``IN`` list of as many shapes
    as powers of two, not one per length (the same rows; ``ids`` must not be empty)."""
    size = 1 << (len(ids) - 1).bit_length()
    return [*ids, *[ids[-1]] * (size - len(ids))]


def rows(
    key: tuple, build: Callable[..., models.QuerySet], values: Sequence, *, using: str | None = None
) -> list:
    """The rows of ``build(*marks).values_list(...)`` with ``values`` in place of the marks."""
    _compiled_query, result = _run(key, build, values, using)
    return [tuple(row) for row in result]


def instances(
    key: tuple, build: Callable[..., models.QuerySet], values: Sequence, *, using: str | None = None
) -> list[models.Model]:
    """The model instances of ``build(*marks)`` with ``values`` in place of the marks, with
    their ``select_related`` objects and annotations, as iterating the queryset gives them."""
    compiled, result = _run(key, build, values, using)
    if compiled.model is None:
        raise ImproperlyConfigured("prepared.instances() needs a queryset of model instances.")
    alias = using or DEFAULT_DB_ALIAS
    objects = []
    for row in result:
        obj = compiled.model.from_db(alias, compiled.init_list, row[compiled.model_columns])
        for populator in compiled.populators:
            populator.populate(row, obj)
        for name, position in compiled.annotations:
            setattr(obj, name, row[position])
        objects.append(obj)
    return objects
