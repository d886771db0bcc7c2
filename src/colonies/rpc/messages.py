"""One message type per payloadtype (docs/protocol.md §6). Field names are the exact wire keys."""

from typing import Any

import msgspec

from colonies.core.limits import Int32, Name, Path, Seconds
from colonies.core.objects import (
    Allocations,
    Attribute,
    Blueprint,
    BlueprintDefinition,
    Capabilities,
    Colony,
    Cron,
    Executor,
    File,
    Function,
    FunctionSpec,
    Generator,
    Location,
    User,
    WireObject,
    WorkflowSpec,
)


class Msg(WireObject):
    msgtype: Name = ""
    # Replay protection (project addition): the project's clients sign a fresh nonce and the
    # time in Unix ns into every payload; other clients leave both out.
    nonce: Name = ""
    timestamp: int = 0


# --- server -----------------------------------------------------------------------------------
class VersionMsg(Msg):
    buildversion: Name = ""
    buildtime: Name = ""


class VersionReply(WireObject):
    buildversion: str = ""
    buildtime: str = ""
    msgtype: str = "versionmsg"


class GetServerInfoMsg(Msg):
    pass


class GetStatisticsMsg(Msg):
    pass


class GetClusterMsg(Msg):
    pass


# --- colony -----------------------------------------------------------------------------------
class AddColonyMsg(Msg):
    colony: Colony = msgspec.field(default_factory=Colony)


class ColonyNameMsg(Msg):
    """Every message whose only field is ``colonyname``."""

    colonyname: Name = ""


class GetColoniesMsg(Msg):
    pass


# --- executor ---------------------------------------------------------------------------------
class AddExecutorMsg(Msg):
    executor: Executor = msgspec.field(default_factory=Executor)


class ExecutorNameMsg(Msg):
    colonyname: Name = ""
    executorname: Name = ""


class GetExecutorByIdMsg(Msg):
    colonyname: Name = ""
    executorid: Name = ""


class ReportAllocationMsg(Msg):
    colonyname: Name = ""
    executorname: Name = ""
    allocations: Allocations = msgspec.field(default_factory=Allocations)


class UpdateExecutorMsg(Msg):
    colonyname: Name = ""
    executorname: Name = ""
    capabilities: Capabilities = msgspec.field(default_factory=Capabilities)


# --- user -------------------------------------------------------------------------------------
class AddUserMsg(Msg):
    user: User = msgspec.field(default_factory=User)


class NamedInColonyMsg(Msg):
    """``colonyname`` + ``name``: users, locations."""

    colonyname: Name = ""
    name: Name = ""


class GetUserByIdMsg(Msg):
    colonyname: Name = ""
    userid: Name = ""


# --- location ---------------------------------------------------------------------------------
class AddLocationMsg(Msg):
    location: Location = msgspec.field(default_factory=Location)


# --- function ---------------------------------------------------------------------------------
class AddFunctionMsg(Msg):
    fun: Function = msgspec.field(default_factory=Function)


class GetFunctionsMsg(Msg):
    colonyname: Name = ""
    executorname: Name = ""


class RemoveFunctionMsg(Msg):
    functionid: Name = ""


# --- files and snapshots ----------------------------------------------------------------------
class AddFileMsg(Msg):
    file: File = msgspec.field(default_factory=File)


class GetFileMsg(Msg):
    colonyname: Name = ""
    fileid: Name = ""
    label: Path = ""
    name: Path = ""
    latest: bool = False


class GetFilesMsg(Msg):
    colonyname: Name = ""
    label: Path = ""


class GetFileLabelsMsg(Msg):
    colonyname: Name = ""
    name: Path = ""
    exact: bool = False


class RemoveFileMsg(Msg):
    colonyname: Name = ""
    fileid: Name = ""
    label: Path = ""
    name: Path = ""


class CreateSnapshotMsg(Msg):
    colonyname: Name = ""
    label: Path = ""
    name: Path = ""


class SnapshotRefMsg(Msg):
    colonyname: Name = ""
    snapshotid: Name = ""
    name: Path = ""


# --- security ---------------------------------------------------------------------------------
class ChangeUserIdMsg(Msg):
    colonyname: Name = ""
    userid: Name = ""


class ChangeExecutorIdMsg(Msg):
    colonyname: Name = ""
    executorid: Name = ""


class ChangeColonyIdMsg(Msg):
    colonyname: Name = ""
    colonyid: Name = ""


class ChangeServerIdMsg(Msg):
    serverid: Name = ""


# --- process ----------------------------------------------------------------------------------
class SubmitFuncSpecMsg(Msg):
    spec: FunctionSpec | None = None


class AssignProcessMsg(Msg):
    colonyname: Name = ""
    timeout: Seconds = 0
    availablecpu: Name = ""
    availablemem: Name = ""


class ProcessIdMsg(Msg):
    """``processid`` (+ the ignored ``all``)."""

    processid: Name = ""
    all: bool = False


class CloseSuccessfulMsg(Msg):
    processid: Name = ""
    out: list[Any] = msgspec.field(default_factory=list)


class CloseFailedMsg(Msg):
    processid: Name = ""
    errors: list[str] = msgspec.field(default_factory=list)


class CloseAndAssignMsg(Msg):
    """The executor fast path (a project addition, docs/protocol.md §7.21): close the caller's
    process as successful (``out``) or failed (``errors``), then claim up to ``count`` more."""

    processid: Name = ""
    successful: bool = False
    out: list[Any] = msgspec.field(default_factory=list)
    errors: list[str] = msgspec.field(default_factory=list)
    count: Int32 = 1  # 0: close only; at most 100 (the handler says so)
    timeout: Seconds = 0  # > 0: wait up to this many seconds for a process; otherwise not at all
    availablecpu: Name = ""
    availablemem: Name = ""


class AssignProcessesMsg(Msg):
    """Claim up to ``count`` processes at once (a project addition, docs/protocol.md §7.21)."""

    colonyname: Name = ""
    count: Int32 = 1
    timeout: Seconds = 0
    availablecpu: Name = ""
    availablemem: Name = ""


class SetOutputMsg(Msg):
    processid: Name = ""
    out: list[Any] = msgspec.field(default_factory=list)


class GetProcessesMsg(Msg):
    colonyname: Name = ""
    count: int = 0
    state: int = 0
    executortype: Name = ""
    label: Name = ""
    initiator: Name = ""


class GetProcessHistMsg(Msg):
    colonyname: Name = ""
    executorid: Name = ""
    seconds: Seconds = 0
    state: int = 0


class ColonyStateMsg(Msg):
    """``colonyname`` + ``state``: remove-all of processes and graphs."""

    colonyname: Name = ""
    state: int = 0


# --- workflow ---------------------------------------------------------------------------------
class SubmitWorkflowSpecMsg(Msg):
    spec: WorkflowSpec | None = None


class ProcessGraphIdMsg(Msg):
    processgraphid: Name = ""
    all: bool = False


class GetProcessGraphsMsg(Msg):
    colonyname: Name = ""
    count: int = 0
    state: int = 0


class AddChildMsg(Msg):
    processgraphid: Name = ""
    parentprocessid: Name = ""
    childprocessid: Name = ""
    spec: FunctionSpec | None = None
    insert: bool = False


# --- generators and crons ---------------------------------------------------------------------
class AddGeneratorMsg(Msg):
    generator: Generator = msgspec.field(default_factory=Generator)


class GeneratorIdMsg(Msg):
    generatorid: Name = ""
    all: bool = False


class ResolveGeneratorMsg(Msg):
    colonyname: Name = ""
    generatorname: Name = ""


class ColonyCountMsg(Msg):
    """``colonyname`` + ``count``: generator and cron listings."""

    colonyname: Name = ""
    count: int = 0


class PackGeneratorMsg(Msg):
    generatorid: Name = ""
    arg: str = ""


class AddCronMsg(Msg):
    cron: Cron = msgspec.field(default_factory=Cron)


class CronIdMsg(Msg):
    cronid: Name = ""
    all: bool = False


class PauseStatusReply(WireObject):
    msgtype: str = "pausestatusreplymsg"
    colonyname: str = ""
    ispaused: bool = False


# --- attribute and log ------------------------------------------------------------------------
class AddAttributeMsg(Msg):
    attribute: Attribute = msgspec.field(default_factory=Attribute)


class GetAttributeMsg(Msg):
    attributeid: Name = ""


class AddLogMsg(Msg):
    processid: Name = ""
    message: str = ""


class AddExecutorLogMsg(Msg):
    colonyname: Name = ""
    executorname: Name = ""
    message: str = ""


class GetLogsMsg(Msg):
    colonyname: Name = ""
    processid: Name = ""
    executorname: Name = ""
    count: int = 0
    since: int = 0
    latest: bool = False


class SearchLogsMsg(Msg):
    colonyname: Name = ""
    text: Name = ""
    days: int = 0
    count: int = 0


# --- channels ---------------------------------------------------------------------------------
class ChannelAppendMsg(Msg):
    processid: Name = ""
    name: Name = ""
    sequence: int = 0
    inreplyto: int = 0
    payload: Any = None  # base64 text or a JSON array of byte values (§3.3)
    payloadtype: Name = ""


class ChannelReadMsg(Msg):
    processid: Name = ""
    name: Name = ""
    afterseq: int = 0
    limit: int = 0


class SubscribeChannelMsg(Msg):
    processid: Name = ""
    name: Name = ""
    afterseq: int = 0
    timeout: Seconds = 0


# --- blueprints -------------------------------------------------------------------------------
class AddBlueprintDefinitionMsg(Msg):
    blueprintdefinition: BlueprintDefinition | None = None


class NamespaceNameMsg(Msg):
    """``namespace`` (the colony) + ``name``."""

    namespace: Name = ""
    name: Name = ""


class AddBlueprintMsg(Msg):
    blueprint: Blueprint | None = None


class GetBlueprintsMsg(Msg):
    namespace: Name = ""
    kind: Name = ""
    locationname: Name = ""


class UpdateBlueprintMsg(Msg):
    blueprint: Blueprint | None = None
    forcegeneration: bool = False


class GetBlueprintHistoryMsg(Msg):
    blueprintid: Name = ""
    limit: int = 0


class UpdateBlueprintStatusMsg(Msg):
    colonyname: Name = ""
    blueprintname: Name = ""
    status: dict[str, Any] = msgspec.field(default_factory=dict)


class ReconcileBlueprintMsg(Msg):
    namespace: Name = ""
    name: Name = ""
    force: bool = False


# --- websocket subscriptions ------------------------------------------------------------------
class SubscribeProcessesMsg(Msg):
    colonyname: Name = ""
    executortype: Name = ""
    state: int = 0
    timeout: Seconds = 0


class SubscribeProcessMsg(Msg):
    colonyname: Name = ""
    processid: Name = ""
    executortype: Name = ""
    state: int = 0
    timeout: Seconds = 0
