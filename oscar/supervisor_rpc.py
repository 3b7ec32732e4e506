"""An ``oscar`` XML-RPC namespace inside supervisord: program states only when they changed.

Loaded by supervisord itself (supervisord.conf, ``[rpcinterface:oscar]``). The registry reads
every program's state once a second; supervisord's ``getAllProcessInfo`` marshals one struct
per program each time, which with 100 devices was half of an idle supervisord's CPU, and
parsing the answer most of the registry's. ``oscar.getAllProcessInfoSince(token)`` answers
``{"token": T, "changed": C, "processes": P}``: P is what ``getAllProcessInfo`` returns when a
program changed state, or a group was added or removed, since ``token`` was handed out (C
true), else empty (C false). A token of another supervisord run, or "", gets the full list.
"""

from __future__ import annotations

import os
from typing import Any

from supervisor import events
from supervisor.rpcinterface import SupervisorNamespaceRPCInterface

CHANGES = (events.ProcessStateEvent, events.ProcessGroupAddedEvent,
           events.ProcessGroupRemovedEvent)


class OscarNamespaceRPCInterface:
    def __init__(self, supervisord: Any):
        self._supervisor = SupervisorNamespaceRPCInterface(supervisord)
        self._run = os.urandom(4).hex()  # tells this supervisord run from a restarted one
        self._serial = 0
        # supervisord clears every subscription when it (re)starts, before it makes us.
        for kind in CHANGES:
            events.subscribe(kind, self._changed)

    def _changed(self, event: Any) -> None:
        self._serial += 1

    def getAllProcessInfoSince(self, token: str) -> dict[str, Any]:  # noqa: N802 (XML-RPC name)
        """Every process's info if anything changed since token, else none.

        @param string token  "" or the token of the previous answer
        @return struct result  {"token": string, "changed": boolean, "processes": array}
        """
        current = f"{self._run}:{self._serial}"
        if token == current:
            return {"token": current, "changed": False, "processes": []}
        return {"token": current, "changed": True,
                "processes": self._supervisor.getAllProcessInfo()}


def make_rpcinterface(supervisord: Any, **config: Any) -> OscarNamespaceRPCInterface:
    return OscarNamespaceRPCInterface(supervisord)
