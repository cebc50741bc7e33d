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
