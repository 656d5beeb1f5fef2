"""Django's ``flush``, able to empty the tables guarded by immutability triggers on SQLite.

The test runner flushes the database between transactional tests; nothing else should.
"""

from django.core.management.commands.flush import Command as DjangoFlush

from reserve.dbguards import maintenance


class Command(DjangoFlush):
    def handle(self, **options):
        with maintenance():
            return super().handle(**options)
