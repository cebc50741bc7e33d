{{- define "omnimall.labels" -}}
app.kubernetes.io/part-of: omnimall
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "omnimall.env" -}}
- name: KAFKA_BROKERS
  value: {{ .Values.kafka.brokers | quote }}
- name: MONGO_URL
  value: {{ .Values.mongo.url | quote }}
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
