{{/* Labels every object of the chart carries. */}}
{{- define "omnimall.labels" -}}
app.kubernetes.io/part-of: omnimall
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/*
The labels that select one service's pods (the name alone, as since 0.1.0: a Deployment's selector cannot
change on upgrade; objects are named after the service, so one release per namespace).
Call with (dict "root" $ "name" "<service>").
*/}}
{{- define "omnimall.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
{{- end -}}

{{/* A service's full label set. Call with (dict "root" $ "name" "<service>"). */}}
{{- define "omnimall.serviceLabels" -}}
{{ include "omnimall.selectorLabels" . }}
app.kubernetes.io/component: {{ .name }}
{{ include "omnimall.labels" .root }}
{{- end -}}

{{- define "omnimall.serviceAccountName" -}}
{{- default "omnimall" .Values.serviceAccount.name -}}
{{- end -}}

{{/* Resources of one service: its own, else the chart-wide ones. Call with (dict "root" $ "svc" $svc). */}}
{{- define "omnimall.resources" -}}
{{- toYaml (default .root.Values.resources .svc.resources) -}}
{{- end -}}

{{- define "omnimall.env" -}}
- name: KAFKA_BROKERS
  value: {{ .Values.kafka.brokers | quote }}
{{- with .Values.mongo.urlSecret.name }}
- name: MONGO_URL
  valueFrom:
    secretKeyRef: { name: {{ . | quote }}, key: {{ $.Values.mongo.urlSecret.key | quote }} }
{{- else }}
- name: MONGO_URL
  value: {{ .Values.mongo.url | quote }}
{{- end }}
- name: SCHEMA_REGISTRY_URL
  value: {{ .Values.schemaRegistry.url | quote }}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: HOST
  value: "0.0.0.0"
- name: AUTH_PUBLIC_KEY_FILE
  value: /etc/omnimall/keys/auth-public.pem
{{- end -}}

{{/*
Kafka TLS/SASL and registry credentials of one principal (see README "Kafka and the registry trust no
one"). Credentials come from the Secret "<kafka.sasl.secretPrefix>-<principal>" (keys username, password).
Call with (dict "root" $ "principal" "<name>").
*/}}
{{- define "omnimall.kafkaAuthEnv" -}}
{{- $k := .root.Values.kafka -}}
{{- if $k.ssl.enabled }}
- name: KAFKA_SSL
  value: "true"
{{- end }}
{{- if $k.sasl.mechanism }}
- name: KAFKA_SASL_MECHANISM
  value: {{ $k.sasl.mechanism | quote }}
- name: KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef: { name: {{ printf "%s-%s" $k.sasl.secretPrefix .principal | quote }}, key: username }
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ printf "%s-%s" $k.sasl.secretPrefix .principal | quote }}, key: password }
{{- end }}
{{- with .root.Values.schemaRegistry.credentialsSecret }}
- name: SCHEMA_REGISTRY_USER
  valueFrom:
    secretKeyRef: { name: {{ . | quote }}, key: username }
- name: SCHEMA_REGISTRY_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ . | quote }}, key: password }
{{- end }}
{{- end -}}

{{/* The egress every omnimall pod needs: DNS, Kafka (and for services MongoDB and the registry). */}}
{{- define "omnimall.egressRule" -}}
- ports:
    {{- toYaml .ports | nindent 4 }}
  {{- with .to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
