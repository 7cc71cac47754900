{{/*
Chart name, overridable with nameOverride.
*/}}
{{- define "the0.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: fullnameOverride if set; otherwise the release name
when it already contains the chart name, else "<release>-<chart>".
Release "the0" -> "the0"; release "trading" -> "trading-the0".
*/}}
{{- define "the0.fullname" -}}
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

{{- define "the0.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "the0.labels" -}}
helm.sh/chart: {{ include "the0.chart" . }}
{{ include "the0.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels.
*/}}
{{- define "the0.selectorLabels" -}}
app.kubernetes.io/name: {{ include "the0.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Name of the Secret holding credentials.
*/}}
{{- define "the0.secretName" -}}
{{- if .Values.global.existingSecret -}}
{{ .Values.global.existingSecret }}
{{- else -}}
{{ include "the0.fullname" . }}-secrets
{{- end -}}
{{- end }}

{{/*
Image reference: repository:tag, tag defaulting to appVersion.
Usage: include "the0.image" (dict "image" .Values.the0Api.image "root" .)
*/}}
{{- define "the0.image" -}}
{{ .image.repository }}:{{ .image.tag | default .root.Chart.AppVersion }}
{{- end }}

{{- define "the0.databaseUrl" -}}
postgresql://{{ .Values.postgresql.username }}:{{ .Values.postgresql.password }}@{{ include "the0.fullname" . }}-postgres:{{ .Values.postgresql.port }}/{{ .Values.postgresql.database }}?sslmode={{ .Values.postgresql.sslmode }}
{{- end }}

{{- define "the0.mongoUrl" -}}
mongodb://{{ .Values.mongodb.rootUsername }}:{{ .Values.mongodb.rootPassword }}@{{ include "the0.fullname" . }}-mongo:{{ .Values.mongodb.port }}
{{- end }}

{{- define "the0.natsUrl" -}}
nats://{{ include "the0.fullname" . }}-nats:{{ .Values.nats.port }}
{{- end }}

{{- define "the0.minioEndpoint" -}}
{{ include "the0.fullname" . }}-minio
{{- end }}
