"""Run the same call from several threads released at once (a barrier), each with its own
database connection, and get every result in order; an exception in any thread fails the test."""

import threading

from django.db import connection


def at_once(call, n: int, *, timeout: float = 60) -> list:
    """`call(i)` for i in range(n), started together; returns their results by i."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        try:
            barrier.wait(timeout=timeout / 2)
            results[i] = call(i)
        except Exception as error:  # noqa: BLE001 - re-raised in the test's thread below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish in time"
    assert not errors, errors
    return results
