{{/*
The transports beside HTTP (values: backends; docs/protocol.md §12). deployment.yaml includes
the container ports and environment from here; backends-service.yaml exposes them.
*/}}

{{/* The backends enabled besides http, checked: a list of names. */}}
{{- define "colonies.backends" -}}
{{- $known := list "grpc" "coap" "libp2p" -}}
{{- range .Values.backends.enabled -}}
{{- if not (has . $known) -}}
{{- fail (printf "backends.enabled: unknown backend %q (known: grpc, coap, libp2p)" .) -}}
{{- end -}}
{{- end -}}
{{- toJson (uniq .Values.backends.enabled) -}}
{{- end -}}

{{/* The containerPort entries of the enabled backends. */}}
{{- define "colonies.backends.ports" -}}
{{- $backends := include "colonies.backends" . | fromJsonArray -}}
{{- if has "grpc" $backends }}
- name: grpc
  containerPort: {{ .Values.backends.grpc.port }}
  protocol: TCP
{{- end }}
{{- if has "coap" $backends }}
- name: coap
  containerPort: {{ .Values.backends.coap.port }}
  protocol: UDP
{{- end }}
{{- if has "libp2p" $backends }}
- name: libp2p
  containerPort: {{ .Values.backends.libp2p.port }}
  protocol: TCP
{{- end }}
{{- end -}}

{{/* The env entries that configure them (nothing when only http is served). */}}
{{- define "colonies.backends.env" -}}
{{- $backends := include "colonies.backends" . | fromJsonArray -}}
{{- if $backends }}
- name: COLONIES_SERVER_BACKENDS
  value: {{ prepend $backends "http" | join "," | quote }}
{{- end }}
{{- if has "grpc" $backends }}
- name: COLONIES_SERVER_GRPC_PORT
  value: {{ .Values.backends.grpc.port | quote }}
{{- end }}
{{- if has "coap" $backends }}
- name: COLONIES_SERVER_COAP_PORT
  value: {{ .Values.backends.coap.port | quote }}
{{- end }}
{{- if has "libp2p" $backends }}
- name: COLONIES_SERVER_LIBP2P_PORT
  value: {{ .Values.backends.libp2p.port | quote }}
{{- with .Values.backends.libp2p.identity.existingSecret }}
- name: COLONIES_SERVER_LIBP2P_IDENTITY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.backends.libp2p.identity.secretKey }}
{{- end }}
{{- with .Values.backends.libp2p.announceAddrs }}
- name: COLONIES_SERVER_LIBP2P_ANNOUNCE_ADDRS
  value: {{ join "," . | quote }}
{{- end }}
{{- end }}
{{- end -}}
