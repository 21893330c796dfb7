"""moto's server mode, applying one request at a time.

moto's DynamoDB checks a condition and then writes, without a lock, and its server answers on
several threads: two concurrent conditional writes could both pass a condition that DynamoDB lets
only one of them pass. Applying requests one at a time restores DynamoDB's atomicity; connections
and clients stay concurrent.
"""

import threading

from moto import server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_one_at_a_time = threading.Lock()
_dispatch = DomainDispatcherApplication.__call__


def _serial(self, environ, start_response):
    with _one_at_a_time:
        return _dispatch(self, environ, start_response)


DomainDispatcherApplication.__call__ = _serial

if __name__ == "__main__":
    server.main()
