{{/* Names, labels and the pieces every pod of the chart shares. */}}

{{- define "idp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "idp.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels of every object; pass (dict "ctx" $ "component" "web"). */}}
{{- define "idp.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: ouderportaal
{{ include "idp.selectorLabels" . }}
{{- end }}

{{/* The labels a selector matches: the release's pods, of one component if given. */}}
{{- define "idp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "idp.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end }}

{{- define "idp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "idp.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "idp.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The issuer, checked: required, https, no path trouble. Every link the app makes is built from it
and the Ingress serves its host, so a wrong one must stop the install.
*/}}
{{- define "idp.issuer" -}}
{{- $issuer := required "config.IDP_ISSUER is required: the public https URL of the service" .Values.config.IDP_ISSUER }}
{{- if not (hasPrefix "https://" $issuer) }}
{{- fail (printf "config.IDP_ISSUER must be an https URL, got %q" $issuer) }}
{{- end }}
{{- $issuer }}
{{- end }}

{{/* The plain settings as a map: non-empty config values, secret ones refused. */}}
{{- define "idp.configData" -}}
{{- $issuer := include "idp.issuer" . }}
{{- $secret := list "IDP_SECRET_KEY" "IDP_KEY_ENCRYPTION_KEY" "IDP_DATABASE_URL" "IDP_REDIS_URL" "IDP_SMTP_URL" }}
{{- range $key, $value := .Values.config }}
{{- if or (has $key $secret) (hasKey $.Values.secrets.env $key) }}
{{- fail (printf "config.%s is a secret setting: put it in the Secret and reference it under secrets.env" $key) }}
{{- end }}
{{- if not (hasPrefix "IDP_" $key) }}
{{- fail (printf "config.%s: only IDP_* settings belong in config" $key) }}
{{- end }}
{{- if and (ne $key "IDP_WORKER") (ne (toString $value) "") }}
{{ $key }}: {{ toString $value | quote }}
{{- end }}
{{- end }}
IDP_WORKER: "off"
{{- end }}

{{/*
The secret settings as env entries that reference Secrets. Only a name and a key: a `value`
here would put a secret into the manifests, so it is refused.
*/}}
{{- define "idp.secretEnv" -}}
{{- range $name, $ref := .Values.secrets.env }}
{{- if not (kindIs "map" $ref) }}
{{- fail (printf "secrets.env.%s must be {key: ..., secret: ...}" $name) }}
{{- end }}
{{- range $field, $_ := $ref }}
{{- if not (has $field (list "key" "secret")) }}
{{- fail (printf "secrets.env.%s.%s: only key and secret (a Secret's name) are allowed; secret values never go in values" $name $field) }}
{{- end }}
{{- end }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ required "secrets.existingSecret (or a secret per entry) is required" (default $.Values.secrets.existingSecret $ref.secret) }}
      key: {{ required (printf "secrets.env.%s.key is required" $name) $ref.key }}
{{- end }}
{{- end }}

{{/* Pod-level security: non-root, the runtime's default seccomp profile. */}}
{{- define "idp.podSecurityContext" -}}
runAsNonRoot: true
{{- with .Values.runAsUser }}
runAsUser: {{ . }}
{{- end }}
{{- with .Values.runAsGroup }}
runAsGroup: {{ . }}
{{- end }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level security: read-only root file system, no capabilities, no escalation. */}}
{{- define "idp.containerSecurityContext" -}}
runAsNonRoot: true
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Spread a component's pods over zones and nodes. */}}
{{- define "idp.topologySpread" -}}
{{- if .ctx.Values.topologySpread.enabled }}
topologySpreadConstraints:
{{- range .ctx.Values.topologySpread.topologyKeys }}
  - maxSkew: {{ $.ctx.Values.topologySpread.maxSkew }}
    topologyKey: {{ . }}
    whenUnsatisfiable: {{ $.ctx.Values.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "idp.selectorLabels" $ | nindent 8 }}
{{- end }}
{{- end }}
{{- end }}

{{/* Checksum of the plain settings: a changed ConfigMap rolls the pods that read it. */}}
{{- define "idp.configChecksum" -}}
checksum/config: {{ include "idp.configData" . | sha256sum }}
{{- end }}
