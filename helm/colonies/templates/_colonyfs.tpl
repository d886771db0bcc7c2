{{/*
ColonyFS (docs/colonyfs.md): names, labels and the S3 endpoint executors use.
*/}}
{{- define "colonies.seaweedfs.fullname" -}}
{{- include "colonies.name.with" (dict "ctx" . "suffix" "seaweedfs" "max" 52) }}
{{- end }}

{{- define "colonies.colonyfs.configName" -}}
{{- include "colonies.name.with" (dict "ctx" . "suffix" "colonyfs") }}
{{- end }}

{{- define "colonies.seaweedfs.selectorLabels" -}}
{{ include "colonies.componentSelector" (dict "ctx" . "component" "seaweedfs") }}
{{- end }}

{{- define "colonies.seaweedfs.labels" -}}
{{ include "colonies.componentLabels" (dict "ctx" . "component" "seaweedfs") }}
{{- end }}

{{/*
The S3 endpoint (host:port): the bundled SeaweedFS's Service, or colonyfs.s3.endpoint. The
chart refuses both at once, and either one without the credentials Secret.
*/}}
{{- define "colonies.colonyfs.endpoint" -}}
{{- $s3 := .Values.colonyfs.s3 }}
{{- if and .Values.seaweedfs.enabled $s3.endpoint }}
{{- fail "colonyfs.s3.endpoint and seaweedfs.enabled exclude each other: use one S3" }}
{{- end }}
{{- if and (or .Values.seaweedfs.enabled $s3.endpoint) (not $s3.existingSecret) }}
{{- fail "ColonyFS needs colonyfs.s3.existingSecret: a Secret with the S3 access and secret keys" }}
{{- end }}
{{- if .Values.seaweedfs.enabled }}
{{- printf "%s.%s.svc.%s:8333" (include "colonies.seaweedfs.fullname" .) .Release.Namespace .Values.clusterDomain }}
{{- else }}
{{- $s3.endpoint }}
{{- end }}
{{- end }}
