{{/*
The chart name, shortened to 63 characters (a DNS label).
*/}}
{{- define "colonies.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name: "<release>-<chart>", or the release name when it already contains the chart name.
Kept to 50 characters so that suffixed names ("-etcd-headless") stay under 63.
*/}}
{{- define "colonies.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
"name-version" for the helm.sh/chart label.
*/}}
{{- define "colonies.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels shared by every resource of the release.
*/}}
{{- define "colonies.commonLabels" -}}
helm.sh/chart: {{ include "colonies.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: colonies
{{- end }}

{{/*
Labels of the server resources.
*/}}
{{- define "colonies.labels" -}}
{{ include "colonies.commonLabels" . }}
{{ include "colonies.selectorLabels" . }}
{{- end }}

{{/*
Selector labels of the server pods.
*/}}
{{- define "colonies.selectorLabels" -}}
app.kubernetes.io/name: {{ include "colonies.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{/*
Names of the bundled etcd resources.
*/}}
{{- define "colonies.etcd.fullname" -}}
{{- printf "%s-etcd" (include "colonies.fullname" .) }}
{{- end }}

{{- define "colonies.etcd.headless" -}}
{{- printf "%s-etcd-headless" (include "colonies.fullname" .) }}
{{- end }}

{{/*
Labels of the bundled etcd resources.
*/}}
{{- define "colonies.etcd.labels" -}}
{{ include "colonies.commonLabels" . }}
{{ include "colonies.etcd.selectorLabels" . }}
{{- end }}

{{- define "colonies.etcd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "colonies.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: etcd
{{- end }}

{{/*
The DNS name of bundled etcd member $i: "<sts>-<i>.<headless>.<namespace>.svc.<domain>".
Call with (dict "ctx" $ "i" $i).
*/}}
{{- define "colonies.etcd.memberHost" -}}
{{- $ctx := .ctx }}
{{- printf "%s-%d.%s.%s.svc.%s" (include "colonies.etcd.fullname" $ctx) (int .i) (include "colonies.etcd.headless" $ctx) $ctx.Release.Namespace $ctx.Values.clusterDomain }}
{{- end }}

{{/*
The bundled etcd's --initial-cluster: "name-0=http://host-0:2380,...".
*/}}
{{- define "colonies.etcd.initialCluster" -}}
{{- $members := list }}
{{- range $i := until (int .Values.etcd.bundled.replicas) }}
{{- $host := include "colonies.etcd.memberHost" (dict "ctx" $ "i" $i) }}
{{- $members = append $members (printf "%s-%d=http://%s:2380" (include "colonies.etcd.fullname" $) $i $host) }}
{{- end }}
{{- join "," $members }}
{{- end }}

{{/*
COLONIES_ETCD_ENDPOINTS: the bundled members' client URLs, the external endpoints, or "" (leader
election through a PostgreSQL advisory lock).
*/}}
{{- define "colonies.etcdEndpoints" -}}
{{- if .Values.etcd.bundled.enabled }}
{{- $endpoints := list }}
{{- range $i := until (int .Values.etcd.bundled.replicas) }}
{{- $endpoints = append $endpoints (printf "http://%s:2379" (include "colonies.etcd.memberHost" (dict "ctx" $ "i" $i))) }}
{{- end }}
{{- join "," $endpoints }}
{{- else }}
{{- join "," .Values.etcd.external.endpoints }}
{{- end }}
{{- end }}

{{/*
The server image reference.
*/}}
{{- define "colonies.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag | toString) }}
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
Checks of the values that the schema cannot express; fails the render with a clear message.
*/}}
{{- define "colonies.validate" -}}
{{- if not .Values.postgresql.existingSecret }}
{{- fail "postgresql.existingSecret is required: the name of a Secret whose key postgresql.secretKey (default \"url\") holds the PostgreSQL URL, e.g. kubectl create secret generic colonies-db --from-literal=url=postgresql://user:password@host:5432/colonies" }}
{{- end }}
{{- if and (not .Values.serverId) (not .Values.serverKey.existingSecret) }}
{{- fail "set serverId (the server owner's 64-hex id, COLONIES_SERVER_ID) or serverKey.existingSecret (a Secret whose key serverKey.secretKey, default \"prvkey\", holds the server owner's private key, COLONIES_SERVER_PRVKEY)" }}
{{- end }}
{{- if and .Values.serverId (not (regexMatch "^[0-9a-fA-F]{64}$" (toString .Values.serverId))) }}
{{- fail "serverId must be 64 hex characters (the server owner's id)" }}
{{- end }}
{{- if and .Values.etcd.bundled.enabled .Values.etcd.external.endpoints }}
{{- fail "etcd.bundled.enabled and etcd.external.endpoints are mutually exclusive: pick one" }}
{{- end }}
{{- if and .Values.etcd.bundled.enabled (lt (int .Values.etcd.bundled.replicas) 1) }}
{{- fail "etcd.bundled.replicas must be at least 1 (3 or 5 for fault tolerance)" }}
{{- end }}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) }}
{{- fail "tls.enabled needs tls.existingSecret: a kubernetes.io/tls Secret with tls.crt and tls.key" }}
{{- end }}
{{- if and .Values.config.retention.enabled (le (int .Values.config.retention.policySeconds) 0) }}
{{- fail "config.retention.enabled needs config.retention.policySeconds > 0" }}
{{- end }}
{{- if lt (int .Values.config.leaderTtl) 2 }}
{{- fail "config.leaderTtl must be at least 2 seconds" }}
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
