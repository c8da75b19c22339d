"""Database reads of the WebSocket path, on a pool of worker threads.

channels' `database_sync_to_async` is thread-sensitive: every call of every
socket of a process runs on one thread, one after another. In a burst of
1,000 reconnecting clients each token lookup, authorization and snapshot
then queues behind all the others, long enough for daphne to drop
handshakes after its 5 s connect timeout. These calls are independent
reads, so they run side by side (each worker thread has its own database
connection; channels closes stale ones around every call).
"""

from concurrent.futures import ThreadPoolExecutor

from channels.db import database_sync_to_async

_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="streams-db")


def in_pool(func):
    return database_sync_to_async(func, thread_sensitive=False, executor=_pool)
