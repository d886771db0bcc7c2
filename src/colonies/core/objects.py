"""Wire objects of docs/protocol.md §5.3 as msgspec Structs with their exact key names.

Every field has a default (Go's zero value), so a payload may omit any key. Lists and maps
default to empty containers and are emitted as ``[]``/``{}``, never ``null`` (§5.1). Fields a
request may carry declare their limits (``Name``, ``Seconds`` ...: core/limits.py).
"""

from typing import Annotated, Any

import msgspec

from colonies.core.limits import (
    CRON_HORIZON_SECONDS,
    MAX_WORKFLOW_NODES,
    CronExpression,
    CronSeconds,
    Int32,
    Name,
    Path,
    Priority,
    Seconds,
    limit,
)
from colonies.core.timeutil import ZERO_TIME, Time
from colonies.core.wire import ONE_OR_MANY

__all__ = [
    "GPU",
    "Allocations",
    "Attribute",
    "Blueprint",
    "BlueprintDefinition",
    "BlueprintDefinitionSpec",
    "BlueprintHandler",
    "BlueprintHistory",
    "BlueprintMetadata",
    "BlueprintNames",
    "Capabilities",
    "ChannelEntry",
    "Cluster",
    "Colony",
    "Conditions",
    "Cron",
    "Edge",
    "Executor",
    "Failure",
    "File",
    "FileData",
    "Filesystem",
    "Function",
    "FunctionArg",
    "FunctionSpec",
    "Generator",
    "GraphNode",
    "Hardware",
    "Label",
    "Location",
    "Log",
    "Node",
    "OnConflicts",
    "Process",
    "ProcessGraph",
    "Project",
    "Reference",
    "S3Object",
    "ServerBackend",
    "ServerInfo",
    "Snapshot",
    "SnapshotMount",
    "Software",
    "Statistics",
    "SyncDirMount",
    "User",
    "WireObject",
    "WorkflowSpec",
]


class WireObject(msgspec.Struct, kw_only=True):
    """Base of every wire object: keyword-only, all fields defaulted."""


def _list() -> Any:
    return msgspec.field(default_factory=list)


def _dict() -> Any:
    return msgspec.field(default_factory=dict)


class Colony(WireObject):
    colonyid: Name = ""
    name: Name = ""


class User(WireObject):
    colonyname: Name = ""
    userid: Name = ""
    name: Name = ""
    email: Name = ""
    phone: Name = ""


class GPU(WireObject):
    name: Name = ""
    mem: Name = ""
    count: int = 0
    nodecount: int = 0


class Hardware(WireObject):
    model: Name = ""
    nodes: int = 0
    cpu: Name = ""
    cores: int = 0
    mem: Name = ""
    storage: Name = ""
    gpu: GPU = msgspec.field(default_factory=GPU)
    platform: Name = ""
    architecture: Name = ""
    network: list[Name] = _list()


class Software(WireObject):
    name: Name = ""
    type: Name = ""
    version: Name = ""


# v1.9.4's clients send one object each, later ones arrays (docs/protocol.md §12.4): both decode.
_OneOrMany = msgspec.Meta(extra={ONE_OR_MANY: True})


class Capabilities(WireObject):
    hardware: Annotated[list[Hardware], _OneOrMany] = _list()
    software: Annotated[list[Software], _OneOrMany] = _list()


class Project(WireObject):
    allocatedcpu: int = 0
    usedcpu: int = 0
    allocatedgpu: int = 0
    usedgpu: int = 0
    allocatedstorage: int = 0
    usedstorage: int = 0


class Allocations(WireObject):
    projects: dict[Name, Project] = _dict()


class Executor(WireObject):
    executorid: Name = ""
    executortype: Name = ""
    executorname: Name = ""
    colonyname: Name = ""
    state: int = 0
    requirefuncreg: bool = False
    commissiontime: Time = ZERO_TIME
    lastheardfromtime: Time = ZERO_TIME
    locationname: Name = ""
    capabilities: Capabilities = msgspec.field(default_factory=Capabilities)
    allocations: Allocations = msgspec.field(default_factory=Allocations)
    blueprintid: Name = ""
    blueprintgen: int = 0


class Location(WireObject):
    locationid: Name = ""
    name: Name = ""
    colonyname: Name = ""
    description: str = ""
    long: float = 0.0
    lat: float = 0.0


class FunctionArg(WireObject, omit_defaults=True):
    name: Name = ""
    type: Name = ""
    description: str = ""
    required: bool = False
    enum: list[str] = _list()


class Function(WireObject):
    functionid: Name = ""
    executorname: Name = ""
    executortype: Name = ""
    colonyname: Name = ""
    funcname: Name = ""
    description: str = ""
    args: list[FunctionArg] = _list()
    counter: int = 0
    minwaittime: float = 0.0
    maxwaittime: float = 0.0
    minexectime: float = 0.0
    maxexectime: float = 0.0
    avgwaittime: float = 0.0
    avgexectime: float = 0.0
    locationname: Name = ""


class Conditions(WireObject):
    colonyname: Name = ""
    executornames: list[Name] = _list()
    executortype: Name = ""
    locationname: Name = ""
    dependencies: Annotated[list[Name], limit(max_length=MAX_WORKFLOW_NODES)] = _list()
    nodes: int = 0
    cpu: Name = ""
    processes: int = 0
    processespernode: int = 0
    mem: Name = ""
    storage: Name = ""
    gpu: GPU = msgspec.field(default_factory=GPU)
    walltime: int = 0


class SnapshotMount(WireObject):
    snapshotid: Name = ""
    label: Path = ""
    dir: Path = ""
    keepfiles: bool = False
    keepsnapshot: bool = False


class KeepLocal(WireObject):
    keeplocal: bool = False


class OnConflicts(WireObject):
    onstart: KeepLocal = msgspec.field(default_factory=KeepLocal)
    onclose: KeepLocal = msgspec.field(default_factory=KeepLocal)


class SyncDirMount(WireObject):
    label: Path = ""
    dir: Path = ""
    keepfiles: bool = False
    onconflicts: OnConflicts = msgspec.field(default_factory=OnConflicts)


class Filesystem(WireObject):
    mount: Path = ""
    snapshots: list[SnapshotMount] = _list()
    dirs: list[SyncDirMount] = _list()


class FunctionSpec(WireObject):
    nodename: Name = ""
    funcname: Name = ""
    args: list[Any] = _list()
    kwargs: dict[str, Any] = _dict()
    priority: Priority = 0
    maxwaittime: Seconds = 0
    maxexectime: Seconds = 0
    maxretries: Int32 = 0
    conditions: Conditions = msgspec.field(default_factory=Conditions)
    label: Name = ""
    fs: Filesystem = msgspec.field(default_factory=Filesystem)
    env: dict[Name, str] = _dict()
    channels: list[Name] = _list()


class Attribute(WireObject):
    attributeid: Name = ""
    targetid: Name = ""
    targetcolonyname: Name = ""
    targetprocessgraphid: Name = ""
    state: int = 0
    attributetype: int = 0
    key: Name = ""
    value: str = ""


class Process(WireObject):
    processid: str = ""
    initiatorid: str = ""
    initiatorname: str = ""
    assignedexecutorid: str = ""
    isassigned: bool = False
    state: int = 0
    prioritytime: int = 0
    submissiontime: Time = ZERO_TIME
    starttime: Time = ZERO_TIME
    endtime: Time = ZERO_TIME
    waitdeadline: Time = ZERO_TIME
    execdeadline: Time = ZERO_TIME
    retries: int = 0
    attributes: list[Attribute] = _list()
    spec: FunctionSpec = msgspec.field(default_factory=FunctionSpec)
    waitforparents: bool = False
    parents: list[str] = _list()
    children: list[str] = _list()
    processgraphid: str = ""
    input: list[Any] = msgspec.field(default_factory=list, name="in")
    output: list[Any] = msgspec.field(default_factory=list, name="out")
    errors: list[str] = _list()


class WorkflowSpec(WireObject):
    colonyname: Name = ""
    functionspecs: Annotated[list[FunctionSpec], limit(max_length=MAX_WORKFLOW_NODES)] = _list()


class GraphNodeData(WireObject):
    label: str = ""


class GraphNodePosition(WireObject):
    x: int = 0
    y: int = 0


class GraphNodeStyle(WireObject):
    color: str = ""
    background: str = ""


class GraphNode(WireObject):
    id: str = ""
    data: GraphNodeData = msgspec.field(default_factory=GraphNodeData)
    position: GraphNodePosition = msgspec.field(default_factory=GraphNodePosition)
    type: str = ""
    style: GraphNodeStyle = msgspec.field(default_factory=GraphNodeStyle)


class Edge(WireObject):
    id: str = ""
    source: str = ""
    target: str = ""
    animated: bool = False


class ProcessGraph(WireObject):
    processgraphid: str = ""
    initiatorid: str = ""
    initiatorname: str = ""
    colonyname: str = ""
    rootprocessids: list[str] = _list()
    state: int = 0
    submissiontime: Time = ZERO_TIME
    starttime: Time = ZERO_TIME
    endtime: Time = ZERO_TIME
    processids: list[str] = _list()
    nodes: list[GraphNode] = _list()
    edges: list[Edge] = _list()


class Generator(WireObject):
    generatorid: Name = ""
    initiatorid: Name = ""
    initiatorname: Name = ""
    colonyname: Name = ""
    name: Name = ""
    workflowspec: str = ""
    trigger: int = 0
    timeout: Seconds = 0
    firstpack: Time = ZERO_TIME
    lastrun: Time = ZERO_TIME
    queuesize: int = 0
    checkerperiod: int = 0


class Cron(WireObject):
    cronid: Name = ""
    initiatorid: Name = ""
    initiatorname: Name = ""
    colonyname: Name = ""
    name: Name = ""
    cronexpression: CronExpression = ""
    interval: CronSeconds = 0
    random: bool = False
    nextrun: Time = ZERO_TIME
    lastrun: Time = ZERO_TIME
    workflowspec: str = ""
    prevprocessgraphid: Name = ""
    waitforprevprocessgraph: bool = False
    checkerperiod: int = 0


class Log(WireObject):
    processid: str = ""
    colonyname: str = ""
    executorname: str = ""
    message: str = ""
    timestamp: int = 0


class S3Object(WireObject):
    server: Name = ""
    port: int = 0
    tls: bool = False
    accesskey: Name = ""
    secretkey: Name = ""
    region: Name = ""
    encryptionkey: Name = ""
    encryptionalg: Name = ""
    object: Path = ""
    bucket: Name = ""


class Reference(WireObject):
    protocol: Name = ""
    s3object: S3Object = msgspec.field(default_factory=S3Object)


class File(WireObject):
    fileid: Name = ""
    colonyname: Name = ""
    label: Path = ""
    name: Path = ""
    size: int = 0
    sequencenr: int = 0
    checksum: Name = ""
    checksumalg: Name = ""
    ref: Reference = msgspec.field(default_factory=Reference)
    added: Time = ZERO_TIME


class FileData(WireObject):
    name: str = ""
    checksum: str = ""
    size: int = 0
    s3filename: str = ""


class Label(WireObject):
    name: str = ""
    files: int = 0


class Snapshot(WireObject):
    snapshotid: str = ""
    colonyname: str = ""
    label: str = ""
    name: str = ""
    fileids: list[str] = _list()
    added: Time = ZERO_TIME


class Statistics(WireObject):
    colonies: int = 0
    executors: int = 0
    activeexecutors: int = 0
    unregisteredexecutors: int = 0
    waitingprocesses: int = 0
    runningprocesses: int = 0
    successfulprocesses: int = 0
    failedprocesses: int = 0
    cancelledprocesses: int = 0
    waitingworkflows: int = 0
    runningworkflows: int = 0
    successfulworkflows: int = 0
    failedworkflows: int = 0
    cancelledworkflows: int = 0


class Failure(WireObject):
    status: int = 0
    message: str = ""


class ChannelEntry(WireObject, omit_defaults=True):
    """MsgEntry: ``payload`` is emitted as base64; ``inreplyto``, ``type``, ``error`` omitempty."""

    sequence: int
    timestamp: Time
    senderid: str
    payload: bytes
    inreplyto: int = 0
    type: str = ""
    error: str = ""


# --- blueprints (camelCase keys inside, as upstream) --------------------------------------------
class BlueprintMetadata(WireObject):
    name: Name = ""
    colonyname: Name = ""
    locationname: Name = ""
    labels: dict[Name, str] = _dict()
    annotations: dict[str, str] = _dict()
    generation: int = 0
    createdAt: Time = ZERO_TIME
    updatedAt: Time = ZERO_TIME
    lastReconciliationProcess: Name = ""
    lastReconciliationTime: Time = ZERO_TIME


class BlueprintNames(WireObject):
    kind: Name = ""
    listKind: Name = ""
    singular: Name = ""
    plural: Name = ""
    shortNames: list[Name] = _list()


class BlueprintHandler(WireObject):
    executorType: Name = ""
    functionName: Name = ""
    reconcileInterval: Annotated[int, limit(ge=0, le=CRON_HORIZON_SECONDS)] = 0


class BlueprintDefinitionSpec(WireObject):
    group: Name = ""
    version: Name = ""
    names: BlueprintNames = msgspec.field(default_factory=BlueprintNames)
    scope: Name = ""
    schema: dict[str, Any] = _dict()  # a JSON-schema subset: type, properties, required, ...
    handler: BlueprintHandler = msgspec.field(default_factory=BlueprintHandler)


class BlueprintDefinition(WireObject):
    blueprintdefinitionid: Name = ""
    kind: Name = ""
    metadata: BlueprintMetadata = msgspec.field(default_factory=BlueprintMetadata)
    spec: BlueprintDefinitionSpec = msgspec.field(default_factory=BlueprintDefinitionSpec)


class Blueprint(WireObject):
    blueprintid: Name = ""
    kind: Name = ""
    metadata: BlueprintMetadata = msgspec.field(default_factory=BlueprintMetadata)
    spec: dict[str, Any] = _dict()
    status: dict[str, Any] = _dict()


class BlueprintHistory(WireObject):
    historyid: str = ""
    blueprintid: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    generation: int = 0
    spec: dict[str, Any] = _dict()
    status: dict[str, Any] = _dict()
    timestamp: Time = ZERO_TIME
    changedby: str = ""
    changetype: str = ""


class Node(WireObject):
    name: str = ""
    host: str = ""
    port: int = 0
    peerport: int = 0
    relayport: int = 0
    apiport: int = 0


class Cluster(WireObject):
    nodes: list[Node] = _list()
    leader: Node = msgspec.field(default_factory=Node)


class ServerBackend(WireObject, omit_defaults=True):
    type: str = ""
    port: int = 0
    host: str = ""
    tls: bool = False
    insecure: bool = False
    # A project addition for libp2p: the full multiaddrs (with /p2p/<peer ID>) to dial.
    multiaddrs: list[str] = _list()


class ServerInfo(WireObject):
    buildversion: str = ""
    buildtime: str = ""
    backends: list[ServerBackend] = _list()
    # A project addition: the payload types this server serves beyond upstream's that a client
    # may use when present (the executor fast path, docs/protocol.md §7.21).
    features: list[str] = _list()
