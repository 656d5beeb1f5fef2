"""Run work on real threads with real database connections, all released at once."""

import threading

from django.db import connection


def run_threads(count, work) -> list[BaseException]:
    """Start ``count`` threads calling ``work(index)`` together; return what they raised.
    Each thread closes its connection, or the test database keeps open sessions."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def runner(index):
        try:
            barrier.wait()
            work(index)
        except BaseException as exc:  # noqa: BLE001 - collected and returned
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors
