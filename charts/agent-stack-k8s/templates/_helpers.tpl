{{/* Names: upstream's rule, so an upgrade from upstream's chart keeps the same fullname. */}}
{{- define "ask.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ask.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A name derived from the fullname, still a valid DNS label however long the release name is. */}}
{{- define "ask.suffixed" -}}
{{- $root := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- printf "%s-%s" (include "ask.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-") $suffix -}}
{{- end -}}

{{- define "ask.launcherName" -}}{{ include "ask.suffixed" (list . "launcher") }}{{- end -}}
{{- define "ask.webhookName" -}}
{{- $name := include "ask.suffixed" (list . "webhook") -}}
{{- if not (regexMatch "^[a-z]" $name) -}}
{{- fail (printf "the webhook Service would be named %q, but a Service name must start with a letter: use a release name that does, or set fullnameOverride" $name) -}}
{{- end -}}
{{- $name -}}
{{- end -}}
{{- define "ask.configMapName" -}}{{ include "ask.suffixed" (list . "config") }}{{- end -}}

{{/* Cluster-scoped objects carry the namespace too: two releases of the same name must not collide. */}}
{{- define "ask.clusterName" -}}
{{- printf "%s-%s" (include "ask.fullname" . | trunc 40 | trimSuffix "-") .Release.Namespace | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ask.webhookConfigurationName" -}}{{ include "ask.clusterName" . }}{{- end -}}

{{- define "ask.secretName" -}}
{{- if .Values.agentStackSecret -}}
{{- .Values.agentStackSecret -}}
{{- else -}}
{{- include "ask.suffixed" (list . "secrets") -}}
{{- end -}}
{{- end -}}

{{/* The Secret the launcher reads the agent token from and job pods mount: config wins, as upstream's controller reads it. */}}
{{- define "ask.agentTokenSecret" -}}
{{- index .Values.config "agent-token-secret" | default (include "ask.secretName" .) -}}
{{- end -}}

{{- define "ask.tlsSecretName" -}}
{{- if eq .Values.certificates.mode "provided" -}}
{{- required "certificates.provided.secretName is required when certificates.mode is provided" .Values.certificates.provided.secretName -}}
{{- else -}}
{{- include "ask.suffixed" (list . "webhook-tls") -}}
{{- end -}}
{{- end -}}

{{- define "ask.image" -}}
{{- .Values.image | default (printf "ghcr.io/agent-stack-k8s/agent-stack-k8s:%s" .Chart.AppVersion) -}}
{{- end -}}

{{- define "ask.labels" -}}
app.kubernetes.io/name: {{ include "ask.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels of one component; `app` is upstream's pod label (log-collector and PodMonitors select on it). */}}
{{- define "ask.selectorLabels" -}}
{{- $root := index . 0 -}}
{{- $component := index . 1 -}}
app: {{ include "ask.fullname" $root }}
app.kubernetes.io/name: {{ include "ask.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ $component }}
{{- end -}}

{{/* The restricted Pod Security profile, for every container. */}}
{{- define "ask.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "ask.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "ask.configEnv" -}}
- name: CONFIG
  value: /etc/agent-stack-k8s/config.yaml
{{- end -}}

{{/* The ConfigMap as a directory (not subPath), so the webhook sees kubelet's updates and reloads. */}}
{{- define "ask.configVolume" -}}
- name: config
  configMap:
    name: {{ include "ask.configMapName" . }}
{{- end -}}

{{- define "ask.configVolumeMount" -}}
- name: config
  mountPath: /etc/agent-stack-k8s
  readOnly: true
{{- end -}}

{{/* The configuration file: the values' config plus what the chart decides. */}}
{{- define "ask.config" -}}
{{- $config := deepCopy (.Values.config | default dict) -}}
{{- if hasKey $config "namespace" -}}
{{- if ne (index $config "namespace") .Release.Namespace -}}
{{- fail (printf "config.namespace is %q, but the stack's Role and Secrets are in the release namespace %q: leave config.namespace unset, or install the release into %q" (index $config "namespace") .Release.Namespace (index $config "namespace")) -}}
{{- end -}}
{{- end -}}
{{- if hasKey $config "workspaceVolume" -}}
{{- fail "config.workspaceVolume is not read (upstream's chart schema named it so, but its controller only ever read workspace-volume): rename it to workspace-volume" -}}
{{- end -}}
{{- if hasKey $config "buildkite-token" -}}
{{- fail "config.buildkite-token would put the GraphQL token in a ConfigMap: set graphqlToken (or agentStackSecret) instead" -}}
{{- end -}}
{{- if and (not .Values.agentStackSecret) (not (index $config "org")) -}}
{{- fail "config.org must be set: the slug of your Buildkite organization (or give ORG in agentStackSecret)" -}}
{{- end -}}
{{- $_ := set $config "namespace" .Release.Namespace -}}
{{- $_ := set $config "agent-token-secret" (include "ask.agentTokenSecret" .) -}}
{{- if not (index $config "id") -}}
{{- $_ := set $config "id" (include "ask.fullname" .) -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}
