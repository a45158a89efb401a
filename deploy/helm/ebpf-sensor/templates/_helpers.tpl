{{- define "ebpf-sensor.name" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ebpf-sensor.labels" -}}
app.kubernetes.io/name: ebpf-sensor
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "ebpf-sensor.selector" -}}
app.kubernetes.io/name: ebpf-sensor
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
