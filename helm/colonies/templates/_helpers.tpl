{{/*
"<base>-<suffix>" in at most <max> characters. A name that would be longer keeps its suffix and
the start of the base, with 8 hex characters of the whole name's hash in between, so shortened
names stay distinct (the three dashboards, the etcd Service and StatefulSet of a long release).
Call with (list base suffix max); an empty suffix shortens the base alone.
*/}}
{{- define "colonies.join" -}}
{{- $base := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- $max := int (index . 2) -}}
{{- $full := $base -}}
{{- if $suffix }}{{ $full = printf "%s-%s" $base $suffix }}{{ end -}}
{{- if le (len $full) $max -}}
{{- $full -}}
{{- else -}}
{{- $hash := sha256sum $full | trunc 8 -}}
{{- if $suffix -}}
{{- $keep := sub $max (add (len $suffix) 10) | int -}}
{{- printf "%s-%s-%s" (trunc $keep $base | trimSuffix "-") $hash $suffix -}}
{{- else -}}
{{- printf "%s-%s" (trunc (sub $max 9 | int) $base | trimSuffix "-") $hash -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/*
The chart name (a label value).
*/}}
{{- define "colonies.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The resource name prefix: "<release>-<chart>", or the release name when it contains the chart
name; at most 63 characters (a Service name is a DNS label).
*/}}
{{- define "colonies.fullname" -}}
{{- $base := "" }}
{{- if .Values.fullnameOverride }}
{{- $base = .Values.fullnameOverride }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- $base = .Release.Name }}
{{- else }}
{{- $base = printf "%s-%s" .Release.Name $name }}
{{- end }}
{{- end }}
{{- include "colonies.join" (list $base "" 63) }}
{{- end }}

{{/*
Names of the chart's resources, each within its kind's limit: 63 for Services, Jobs and the rest
(label values, DNS labels), 52 for StatefulSets (their controller-revision-hash label adds 11).
*/}}
{{- define "colonies.name.with" -}}
{{- include "colonies.join" (list (include "colonies.fullname" .ctx) .suffix (default 63 .max)) }}
{{- end }}
{{- define "colonies.etcd.fullname" -}}
{{- include "colonies.name.with" (dict "ctx" . "suffix" "etcd" "max" 52) }}
{{- end }}
{{- define "colonies.etcd.headless" -}}
{{- include "colonies.name.with" (dict "ctx" . "suffix" "etcd-headless") }}
{{- end }}
{{- define "colonies.postgresql.fullname" -}}
{{- include "colonies.name.with" (dict "ctx" . "suffix" "postgresql" "max" 52) }}
{{- end }}
{{- define "colonies.postgresql.headless" -}}
{{- include "colonies.name.with" (dict "ctx" . "suffix" "postgresql-hl") }}
{{- end }}
{{- define "colonies.cnpg.fullname" -}}
{{- include "colonies.name.with" (dict "ctx" . "suffix" "pg" "max" 40) }}
{{- end }}
{{- define "colonies.serverKey.generatedName" -}}
{{- include "colonies.name.with" (dict "ctx" . "suffix" "server-key") }}
{{- end }}

{{/*
"name-version" for the helm.sh/chart label.
*/}}
{{- define "colonies.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every resource (not of pod templates: a chart bump must not restart etcd or
PostgreSQL).
*/}}
{{- define "colonies.commonLabels" -}}
helm.sh/chart: {{ include "colonies.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: colonies
{{- end }}

{{/*
Selector labels of one component: (dict "ctx" $ "component" "server").
*/}}
{{- define "colonies.componentSelector" -}}
app.kubernetes.io/name: {{ include "colonies.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Labels of one component's resources: (dict "ctx" $ "component" "etcd").
*/}}
{{- define "colonies.componentLabels" -}}
{{ include "colonies.commonLabels" .ctx }}
{{ include "colonies.componentSelector" . }}
{{- end }}

{{- define "colonies.selectorLabels" -}}
{{ include "colonies.componentSelector" (dict "ctx" . "component" "server") }}
{{- end }}
{{- define "colonies.labels" -}}
{{ include "colonies.componentLabels" (dict "ctx" . "component" "server") }}
{{- end }}
{{- define "colonies.etcd.selectorLabels" -}}
{{ include "colonies.componentSelector" (dict "ctx" . "component" "etcd") }}
{{- end }}
{{- define "colonies.etcd.labels" -}}
{{ include "colonies.componentLabels" (dict "ctx" . "component" "etcd") }}
{{- end }}
{{- define "colonies.postgresql.selectorLabels" -}}
{{ include "colonies.componentSelector" (dict "ctx" . "component" "postgresql") }}
{{- end }}
{{- define "colonies.postgresql.labels" -}}
{{ include "colonies.componentLabels" (dict "ctx" . "component" "postgresql") }}
{{- end }}

{{/*
An image reference: repository@digest when a digest is given, else repository:tag.
Call with (dict "image" .Values.image "default" .Chart.AppVersion).
*/}}
{{- define "colonies.imageRef" -}}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository (default .default .image.tag | toString) }}
{{- end }}
{{- end }}

{{- define "colonies.image" -}}
{{- include "colonies.imageRef" (dict "image" .Values.image "default" .Chart.AppVersion) }}
{{- end }}

{{/*
The ServiceAccount name.
*/}}
{{- define "colonies.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "colonies.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The probe scheme: HTTPS when the server terminates TLS itself.
*/}}
{{- define "colonies.scheme" -}}
{{- if .Values.tls.enabled }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}

{{/*
The bundled etcd: DNS name of member $i, its peer URL, the --initial-cluster of a fresh cluster
and the members' client URLs. (dict "ctx" $ "i" $i) for the member helpers.
*/}}
{{- define "colonies.etcd.domain" -}}
{{- printf "%s.%s.svc.%s" (include "colonies.etcd.headless" .) .Release.Namespace .Values.clusterDomain }}
{{- end }}
{{- define "colonies.etcd.memberHost" -}}
{{- printf "%s-%d.%s" (include "colonies.etcd.fullname" .ctx) (int .i) (include "colonies.etcd.domain" .ctx) }}
{{- end }}
{{- define "colonies.etcd.initialCluster" -}}
{{- $members := list }}
{{- range $i := until (int .Values.etcd.bundled.replicas) }}
{{- $host := include "colonies.etcd.memberHost" (dict "ctx" $ "i" $i) }}
{{- $members = append $members (printf "%s-%d=http://%s:2380" (include "colonies.etcd.fullname" $) $i $host) }}
{{- end }}
{{- join "," $members }}
{{- end }}
{{- define "colonies.etcd.clientUrls" -}}
{{- $urls := list }}
{{- range $i := until (int .Values.etcd.bundled.replicas) }}
{{- $urls = append $urls (printf "http://%s:2379" (include "colonies.etcd.memberHost" (dict "ctx" $ "i" $i))) }}
{{- end }}
{{- join "," $urls }}
{{- end }}

{{/*
COLONIES_ETCD_ENDPOINTS: the bundled members, the external endpoints, or "" (an advisory lock).
*/}}
{{- define "colonies.etcdEndpoints" -}}
{{- if eq .Values.etcd.mode "bundled" }}
{{- include "colonies.etcd.clientUrls" . }}
{{- else if eq .Values.etcd.mode "external" }}
{{- join "," .Values.etcd.external.endpoints }}
{{- end }}
{{- end }}

{{/*
COLONIES_ETCD_PREFIX: per release unless set, so two fleets on one etcd elect two leaders.
*/}}
{{- define "colonies.etcdPrefix" -}}
{{- default (printf "/colonies/%s/%s" .Release.Namespace .Release.Name) .Values.etcd.prefix }}
{{- end }}

{{/*
The Secret and key holding the server owner's private key, or nothing (serverId only).
*/}}
{{- define "colonies.serverKey.secretName" -}}
{{- if .Values.serverKey.existingSecret }}
{{- .Values.serverKey.existingSecret }}
{{- else if not .Values.serverId }}
{{- include "colonies.serverKey.generatedName" . }}
{{- end }}
{{- end }}

{{/*
The Secret with the bundled PostgreSQL's password (key "password").
*/}}
{{- define "colonies.postgresql.secretName" -}}
{{- default (include "colonies.postgresql.fullname" .) .Values.postgresql.bundled.existingSecret }}
{{- end }}

{{/*
A value of an existing Secret (base64, as stored), or "" (no such Secret, or helm template).
Call with (dict "ctx" $ "name" $name "key" $key).
*/}}
{{- define "colonies.existingSecretValue" -}}
{{- $secret := lookup "v1" "Secret" .ctx.Release.Namespace .name }}
{{- if and $secret $secret.data }}
{{- index $secret.data .key | default "" }}
{{- end }}
{{- end }}

{{/*
The database environment of every container that connects: a URL from a Secret (external,
CloudNativePG's app Secret) or the bundled database's password (host, port, user and name are in
the ConfigMap).
*/}}
{{- define "colonies.dbEnv" -}}
{{- if eq .Values.postgresql.mode "bundled" }}
- name: COLONIES_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "colonies.postgresql.secretName" . }}
      key: password
{{- else if eq .Values.postgresql.mode "external" }}
- name: COLONIES_DB_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.postgresql.external.existingSecret }}
      key: {{ .Values.postgresql.external.secretKey }}
{{- else }}
- name: COLONIES_DB_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "colonies.cnpg.fullname" . }}-app
      key: uri
{{- end }}
{{- end }}

{{/*
Replicas that may run at once: the most replicas plus the rolling update's surge.
*/}}
{{- define "colonies.peakReplicas" -}}
{{- $replicas := int (ternary .Values.autoscaling.maxReplicas .Values.replicaCount .Values.autoscaling.enabled) }}
{{- $surge := 0 }}
{{- if eq (.Values.updateStrategy.type | default "RollingUpdate") "RollingUpdate" }}
{{- $raw := dig "rollingUpdate" "maxSurge" "25%" .Values.updateStrategy | toString }}
{{- if hasSuffix "%" $raw }}
{{- $surge = div (add (mul $replicas (trimSuffix "%" $raw | int)) 99) 100 }}
{{- else }}
{{- $surge = int $raw }}
{{- end }}
{{- end }}
{{- add $replicas $surge }}
{{- end }}

{{/*
Checks of values that the schema cannot express; fails the render with a clear message.
*/}}
{{- define "colonies.validate" -}}
{{- $pg := .Values.postgresql }}
{{- if and (eq $pg.mode "external") (not $pg.external.existingSecret) }}
{{- fail "postgresql.mode=external needs postgresql.external.existingSecret: a Secret whose key postgresql.external.secretKey (default \"url\") holds the PostgreSQL URL, e.g. kubectl create secret generic colonies-db --from-literal=url=postgresql://user:password@host:5432/colonies" }}
{{- end }}
{{- if and (ne $pg.mode "external") $pg.external.existingSecret }}
{{- fail (printf "postgresql.external.existingSecret is set but postgresql.mode is %q: set postgresql.mode=external to use it" $pg.mode) }}
{{- end }}
{{- if and (eq $pg.mode "cloudnativepg") (not (.Capabilities.APIVersions.Has "postgresql.cnpg.io/v1")) }}
{{- fail "postgresql.mode=cloudnativepg needs the CloudNativePG operator (API postgresql.cnpg.io/v1) in the cluster; with helm template pass --api-versions postgresql.cnpg.io/v1" }}
{{- end }}
{{- $etcd := .Values.etcd }}
{{- if and (eq $etcd.mode "external") (not $etcd.external.endpoints) }}
{{- fail "etcd.mode=external needs etcd.external.endpoints, e.g. {http://etcd-0.etcd:2379,http://etcd-1.etcd:2379}" }}
{{- end }}
{{- if and (ne $etcd.mode "external") $etcd.external.endpoints }}
{{- fail (printf "etcd.external.endpoints is set but etcd.mode is %q: set etcd.mode=external to use them" $etcd.mode) }}
{{- end }}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) }}
{{- fail "tls.enabled needs tls.existingSecret: a kubernetes.io/tls Secret with tls.crt and tls.key" }}
{{- end }}
{{- if and .Values.config.retention.enabled (le (int .Values.config.retention.policySeconds) 0) }}
{{- fail "config.retention.enabled needs config.retention.policySeconds > 0" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail (printf "autoscaling.minReplicas (%d) is above autoscaling.maxReplicas (%d)" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- end }}
{{- $stop := add (int .Values.drain.preStopSleepSeconds) (int .Values.drain.seconds) 10 }}
{{- if lt (int .Values.terminationGracePeriodSeconds) (int $stop) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be at least drain.preStopSleepSeconds + drain.seconds + 10 = %d, or the kubelet kills replicas before they finish draining" (int .Values.terminationGracePeriodSeconds) (int $stop)) }}
{{- end }}
{{- $peak := int (include "colonies.peakReplicas" .) }}
{{- $perReplica := add (int .Values.config.dbMaxOpenConns) 3 }}
{{- $need := add (mul $peak $perReplica) 5 }}
{{- if gt (int $need) (int $pg.maxConnections) }}
{{- fail (printf "the replicas' database connections do not fit postgresql.maxConnections (%d): %d replicas at peak (most replicas + surge) x (config.dbMaxOpenConns %d + 3) + 5 = %d. Lower config.dbMaxOpenConns or the replicas, or raise postgresql.maxConnections (and the database's max_connections)" (int $pg.maxConnections) $peak (int .Values.config.dbMaxOpenConns) (int $need)) }}
{{- end }}
{{- end }}

{{/*
A python one-liner printing this replica's /metrics (the image has no curl); used in NOTES.txt.
*/}}
{{- define "colonies.metricsOneLiner" -}}
{{- if .Values.tls.enabled -}}
import ssl,urllib.request as u; print(u.urlopen('https://127.0.0.1:50080/metrics', context=ssl._create_unverified_context()).read().decode())
{{- else -}}
import urllib.request as u; print(u.urlopen('http://127.0.0.1:50080/metrics').read().decode())
{{- end -}}
{{- end }}
