"""One message type per payloadtype (docs/protocol.md §6). Field names are the exact wire keys."""

from typing import Any

import msgspec

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
    msgtype: str = ""
    # Replay protection (project addition): the project's clients sign a fresh nonce and the
    # time in Unix ns into every payload; other clients leave both out.
    nonce: str = ""
    timestamp: int = 0


# --- server -----------------------------------------------------------------------------------
class VersionMsg(Msg):
    buildversion: str = ""
    buildtime: str = ""


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

    colonyname: str = ""


class GetColoniesMsg(Msg):
    pass


# --- executor ---------------------------------------------------------------------------------
class AddExecutorMsg(Msg):
    executor: Executor = msgspec.field(default_factory=Executor)


class ExecutorNameMsg(Msg):
    colonyname: str = ""
    executorname: str = ""


class GetExecutorByIdMsg(Msg):
    colonyname: str = ""
    executorid: str = ""


class ReportAllocationMsg(Msg):
    colonyname: str = ""
    executorname: str = ""
    allocations: Allocations = msgspec.field(default_factory=Allocations)


class UpdateExecutorMsg(Msg):
    colonyname: str = ""
    executorname: str = ""
    capabilities: Capabilities = msgspec.field(default_factory=Capabilities)


# --- user -------------------------------------------------------------------------------------
class AddUserMsg(Msg):
    user: User = msgspec.field(default_factory=User)


class NamedInColonyMsg(Msg):
    """``colonyname`` + ``name``: users, locations."""

    colonyname: str = ""
    name: str = ""


class GetUserByIdMsg(Msg):
    colonyname: str = ""
    userid: str = ""


# --- location ---------------------------------------------------------------------------------
class AddLocationMsg(Msg):
    location: Location = msgspec.field(default_factory=Location)


# --- function ---------------------------------------------------------------------------------
class AddFunctionMsg(Msg):
    fun: Function = msgspec.field(default_factory=Function)


class GetFunctionsMsg(Msg):
    colonyname: str = ""
    executorname: str = ""


class RemoveFunctionMsg(Msg):
    functionid: str = ""


# --- files and snapshots ----------------------------------------------------------------------
class AddFileMsg(Msg):
    file: File = msgspec.field(default_factory=File)


class GetFileMsg(Msg):
    colonyname: str = ""
    fileid: str = ""
    label: str = ""
    name: str = ""
    latest: bool = False


class GetFilesMsg(Msg):
    colonyname: str = ""
    label: str = ""


class GetFileLabelsMsg(Msg):
    colonyname: str = ""
    name: str = ""
    exact: bool = False


class RemoveFileMsg(Msg):
    colonyname: str = ""
    fileid: str = ""
    label: str = ""
    name: str = ""


class CreateSnapshotMsg(Msg):
    colonyname: str = ""
    label: str = ""
    name: str = ""


class SnapshotRefMsg(Msg):
    colonyname: str = ""
    snapshotid: str = ""
    name: str = ""


# --- security ---------------------------------------------------------------------------------
class ChangeUserIdMsg(Msg):
    colonyname: str = ""
    userid: str = ""


class ChangeExecutorIdMsg(Msg):
    colonyname: str = ""
    executorid: str = ""


class ChangeColonyIdMsg(Msg):
    colonyname: str = ""
    colonyid: str = ""


class ChangeServerIdMsg(Msg):
    serverid: str = ""


# --- process ----------------------------------------------------------------------------------
class SubmitFuncSpecMsg(Msg):
    spec: FunctionSpec | None = None


class AssignProcessMsg(Msg):
    colonyname: str = ""
    timeout: int = 0
    availablecpu: str = ""
    availablemem: str = ""


class ProcessIdMsg(Msg):
    """``processid`` (+ the ignored ``all``)."""

    processid: str = ""
    all: bool = False


class CloseSuccessfulMsg(Msg):
    processid: str = ""
    out: list[Any] = msgspec.field(default_factory=list)


class CloseFailedMsg(Msg):
    processid: str = ""
    errors: list[str] = msgspec.field(default_factory=list)


class SetOutputMsg(Msg):
    processid: str = ""
    out: list[Any] = msgspec.field(default_factory=list)


class GetProcessesMsg(Msg):
    colonyname: str = ""
    count: int = 0
    state: int = 0
    executortype: str = ""
    label: str = ""
    initiator: str = ""


class GetProcessHistMsg(Msg):
    colonyname: str = ""
    executorid: str = ""
    seconds: int = 0
    state: int = 0


class ColonyStateMsg(Msg):
    """``colonyname`` + ``state``: remove-all of processes and graphs."""

    colonyname: str = ""
    state: int = 0


# --- workflow ---------------------------------------------------------------------------------
class SubmitWorkflowSpecMsg(Msg):
    spec: WorkflowSpec | None = None


class ProcessGraphIdMsg(Msg):
    processgraphid: str = ""
    all: bool = False


class GetProcessGraphsMsg(Msg):
    colonyname: str = ""
    count: int = 0
    state: int = 0


class AddChildMsg(Msg):
    processgraphid: str = ""
    parentprocessid: str = ""
    childprocessid: str = ""
    spec: FunctionSpec | None = None
    insert: bool = False


# --- generators and crons ---------------------------------------------------------------------
class AddGeneratorMsg(Msg):
    generator: Generator = msgspec.field(default_factory=Generator)


class GeneratorIdMsg(Msg):
    generatorid: str = ""
    all: bool = False


class ResolveGeneratorMsg(Msg):
    colonyname: str = ""
    generatorname: str = ""


class ColonyCountMsg(Msg):
    """``colonyname`` + ``count``: generator and cron listings."""

    colonyname: str = ""
    count: int = 0


class PackGeneratorMsg(Msg):
    generatorid: str = ""
    arg: str = ""


class AddCronMsg(Msg):
    cron: Cron = msgspec.field(default_factory=Cron)


class CronIdMsg(Msg):
    cronid: str = ""
    all: bool = False


class PauseStatusReply(WireObject):
    msgtype: str = "pausestatusreplymsg"
    colonyname: str = ""
    ispaused: bool = False


# --- attribute and log ------------------------------------------------------------------------
class AddAttributeMsg(Msg):
    attribute: Attribute = msgspec.field(default_factory=Attribute)


class GetAttributeMsg(Msg):
    attributeid: str = ""


class AddLogMsg(Msg):
    processid: str = ""
    message: str = ""


class AddExecutorLogMsg(Msg):
    colonyname: str = ""
    executorname: str = ""
    message: str = ""


class GetLogsMsg(Msg):
    colonyname: str = ""
    processid: str = ""
    executorname: str = ""
    count: int = 0
    since: int = 0
    latest: bool = False


class SearchLogsMsg(Msg):
    colonyname: str = ""
    text: str = ""
    days: int = 0
    count: int = 0


# --- channels ---------------------------------------------------------------------------------
class ChannelAppendMsg(Msg):
    processid: str = ""
    name: str = ""
    sequence: int = 0
    inreplyto: int = 0
    payload: Any = None  # base64 text or a JSON array of byte values (§3.3)
    payloadtype: str = ""


class ChannelReadMsg(Msg):
    processid: str = ""
    name: str = ""
    afterseq: int = 0
    limit: int = 0


class SubscribeChannelMsg(Msg):
    processid: str = ""
    name: str = ""
    afterseq: int = 0
    timeout: int = 0


# --- blueprints -------------------------------------------------------------------------------
class AddBlueprintDefinitionMsg(Msg):
    blueprintdefinition: BlueprintDefinition | None = None


class NamespaceNameMsg(Msg):
    """``namespace`` (the colony) + ``name``."""

    namespace: str = ""
    name: str = ""


class AddBlueprintMsg(Msg):
    blueprint: Blueprint | None = None


class GetBlueprintsMsg(Msg):
    namespace: str = ""
    kind: str = ""
    locationname: str = ""


class UpdateBlueprintMsg(Msg):
    blueprint: Blueprint | None = None
    forcegeneration: bool = False


class GetBlueprintHistoryMsg(Msg):
    blueprintid: str = ""
    limit: int = 0


class UpdateBlueprintStatusMsg(Msg):
    colonyname: str = ""
    blueprintname: str = ""
    status: dict[str, Any] = msgspec.field(default_factory=dict)


class ReconcileBlueprintMsg(Msg):
    namespace: str = ""
    name: str = ""
    force: bool = False


# --- websocket subscriptions ------------------------------------------------------------------
class SubscribeProcessesMsg(Msg):
    colonyname: str = ""
    executortype: str = ""
    state: int = 0
    timeout: int = 0


class SubscribeProcessMsg(Msg):
    colonyname: str = ""
    processid: str = ""
    executortype: str = ""
    state: int = 0
    timeout: int = 0
