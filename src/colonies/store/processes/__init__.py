"""Processes, one module per use: submissions, claims, closes (and the other ends), handovers
(the executor fast path), reads, logs and attributes. The store holds one object of each
(``store.submissions``, ``store.claims``, ``store.closes``, ``store.handovers``,
``store.processes`` for reads, ``store.logs``, ``store.attributes``)."""

from colonies.store.processes.attributes import Attributes
from colonies.store.processes.claims import Claims
from colonies.store.processes.closes import Closed, Closes
from colonies.store.processes.handovers import Claimer, Handover, Handovers
from colonies.store.processes.logs import Logs
from colonies.store.processes.reads import ProcessBrief, ProcessReads
from colonies.store.processes.submissions import Submissions, insert_process

__all__ = [
    "Attributes",
    "Claimer",
    "Claims",
    "Closed",
    "Closes",
    "Handover",
    "Handovers",
    "Logs",
    "ProcessBrief",
    "ProcessReads",
    "Submissions",
    "insert_process",
]
