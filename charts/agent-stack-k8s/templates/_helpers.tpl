{{/*
A name of at most `max` characters. One that fits is kept as it is; a longer one is cut and ends in
eight characters of its SHA-256, so that two long names that share their first characters (two
releases, or one release in two namespaces) never become the same name.
*/}}
{{- define "ask.fit" -}}
{{- $name := index . 0 -}}
{{- $max := int (index . 1) -}}
{{- if le (len $name) $max -}}
{{- $name -}}
{{- else -}}
{{- printf "%s-%s" ($name | trunc (int (sub $max 9)) | trimSuffix "-") (sha256sum $name | trunc 8) -}}
{{- end -}}
{{- end -}}

{{/* Names: upstream's rule, so an upgrade from upstream's chart keeps the same fullname (a name over 63 characters ends in a hash instead of being cut). */}}
{{- define "ask.name" -}}
{{- include "ask.fit" (list (default .Chart.Name .Values.nameOverride) 63) -}}
{{- end -}}

{{- define "ask.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- include "ask.fit" (list .Values.fullnameOverride 63) -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- include "ask.fit" (list .Release.Name 63) -}}
{{- else -}}
{{- include "ask.fit" (list (printf "%s-%s" .Release.Name $name) 63) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A name derived from the fullname, still a valid DNS label however long the release name is: `<fullname, fitted>-<suffix>`. */}}
{{- define "ask.suffixed" -}}
{{- $root := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- printf "%s-%s" (include "ask.fit" (list (include "ask.fullname" $root) (sub 62 (len $suffix)))) $suffix -}}
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
{{- include "ask.fit" (list (printf "%s-%s" (include "ask.fullname" .) .Release.Namespace) 63) -}}
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

{{/* The pod's own identity (downward API), for the Events the webhook writes about itself. */}}
{{- define "ask.podEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: POD_UID
  valueFrom:
    fieldRef:
      fieldPath: metadata.uid
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
{{- include "ask.jobSourceRules" . -}}
{{- include "ask.crossKeyRules" (list . $config) -}}
{{- $_ := set $config "namespace" .Release.Namespace -}}
{{- $_ := set $config "agent-token-secret" (include "ask.agentTokenSecret" .) -}}
{{- if not (index $config "id") -}}
{{- $_ := set $config "id" (include "ask.fullname" .) -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}

{{/*
The job source the launcher will use, as it decides at start (job-source; empty: graphql when
BUILDKITE_TOKEN is set, otherwise stacks): "stacks", "graphql", or "" when that depends on what the
chart cannot see (the keys of agentStackSecret, or a BUILDKITE_TOKEN or JOB_SOURCE in controllerEnv).
*/}}
{{- define "ask.jobSource" -}}
{{- $source := index (.Values.config | default dict) "job-source" | default "" -}}
{{- $envNames := list -}}
{{- range .Values.controllerEnv -}}{{- $envNames = append $envNames .name -}}{{- end -}}
{{- if $source -}}{{ $source }}
{{- else if .Values.graphqlToken -}}graphql
{{- else if or .Values.agentStackSecret (has "BUILDKITE_TOKEN" $envNames) (has "JOB_SOURCE" $envNames) -}}
{{- else -}}stacks
{{- end -}}
{{- end -}}

{{/*
What the job source needs beyond the agent token: the GraphQL API needs an API token and an
organization. The Stacks API needs nothing more, so graphqlToken and config.org are optional.
*/}}
{{- define "ask.jobSourceRules" -}}
{{- $config := .Values.config | default dict -}}
{{- $envNames := list -}}
{{- range .Values.controllerEnv -}}{{- $envNames = append $envNames .name -}}{{- end -}}
{{- if eq (include "ask.jobSource" .) "graphql" -}}
{{- $why := "graphqlToken is set" -}}
{{- if index $config "job-source" -}}{{- $why = "config.job-source is graphql" -}}{{- end -}}
{{- if and (not .Values.graphqlToken) (not .Values.agentStackSecret) (not (has "BUILDKITE_TOKEN" $envNames)) -}}
{{- fail (printf "%s, so the launcher uses the GraphQL API, which needs graphqlToken (a Buildkite API token with GraphQL scope) or agentStackSecret with BUILDKITE_TOKEN; or leave config.job-source empty to use the Stacks API with the agent token alone" $why) -}}
{{- end -}}
{{- if and (not (index $config "org")) (not .Values.agentStackSecret) (not (has "ORG" $envNames)) -}}
{{- fail (printf "%s, so the launcher uses the GraphQL API, which needs config.org (the slug of your Buildkite organization, or ORG in agentStackSecret); or leave graphqlToken unset and config.job-source empty to use the Stacks API with the agent token alone" $why) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The stack's rules across configuration keys, at template time (the values schema checks each key
alone): a configuration they refuse would install pods that crash-loop. The launcher's queue rule holds
for the GraphQL job source only (the Stacks API serves the cluster's default queue), and is left to the
launcher when its environment can set TAGS or QUEUE (agentStackSecret, controllerEnv).
*/}}
{{- define "ask.crossKeyRules" -}}
{{- $root := index . 0 -}}
{{- $config := index . 1 -}}
{{- $class := index $config "default-resource-class-name" | default "" -}}
{{- if $class -}}
{{- $classes := index $config "resource-classes" | default dict -}}
{{- if not $classes -}}
{{- fail (printf "config.default-resource-class-name is %q but config.resource-classes defines no class: define it there, or leave default-resource-class-name unset" $class) -}}
{{- else if not (hasKey $classes $class) -}}
{{- fail (printf "config.default-resource-class-name %q is not one of config.resource-classes (%s)" $class (keys $classes | sortAlpha | join ", ")) -}}
{{- end -}}
{{- end -}}
{{- if not (index $config "allow-pod-spec-patch-unsafe-command-modification") -}}
{{- $patch := index $config "pod-spec-patch" | default dict -}}
{{- range $index, $container := (get $patch "containers" | default list) -}}
{{- if and (kindIs "map" $container) (or (hasKey $container "command") (hasKey $container "args")) -}}
{{- fail (printf "config.pod-spec-patch.containers[%d] changes command or args, which the stack refuses unless config.allow-pod-spec-patch-unsafe-command-modification is true" $index) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $tags := list "queue=kubernetes" -}}
{{- if hasKey $config "tags" -}}{{- $tags = index $config "tags" | default list -}}{{- end -}}
{{- $queueTagged := false -}}
{{- $seen := dict -}}
{{- range $tag := $tags -}}
{{- $key := splitList "=" (toString $tag) | first -}}
{{- if eq $key "queue" -}}{{- $queueTagged = true -}}{{- end -}}
{{- if hasKey $seen $key -}}
{{- fail (printf "config.tags has the tag %q twice: give each tag key once" $key) -}}
{{- end -}}
{{- $_ := set $seen $key true -}}
{{- end -}}
{{- $envNames := list -}}
{{- range $root.Values.controllerEnv -}}{{- $envNames = append $envNames .name -}}{{- end -}}
{{- $fromEnv := or $root.Values.agentStackSecret (has "TAGS" $envNames) (has "QUEUE" $envNames) -}}
{{- $graphql := eq (include "ask.jobSource" $root) "graphql" -}}
{{- if and $graphql (not $queueTagged) (not (index $config "queue")) (not $fromEnv) -}}
{{- fail "config.tags has no queue=<name> tag and config.queue is empty: the launcher needs a queue to poll" -}}
{{- end -}}
{{- end -}}

{{/* The namespaces whose labelled Jobs the webhook expands: webhook.namespaces, and always the release namespace, where the launcher creates its Jobs. */}}
{{- define "ask.webhookNamespaces" -}}
{{- prepend (.Values.webhook.namespaces | default list) .Release.Namespace | uniq | toJson -}}
{{- end -}}

{{/*
A namespaceSelector of the user's own: refused when it evidently leaves the release namespace out
(every skeleton the launcher creates there would reach the API server unexpanded); otherwise NOTES.txt
asks to check it.
*/}}
{{- define "ask.checkNamespaceSelector" -}}
{{- $selector := .Values.webhook.namespaceSelector -}}
{{- $namespace := .Release.Namespace -}}
{{- $key := "kubernetes.io/metadata.name" -}}
{{- $refuse := printf "webhook.namespaceSelector leaves out the release namespace %q, where the launcher creates its Jobs: every Job would reach the API server unexpanded and be refused" $namespace -}}
{{- with $selector.matchLabels -}}
{{- if and (hasKey . $key) (ne (get . $key) $namespace) -}}{{- fail $refuse -}}{{- end -}}
{{- end -}}
{{- range $selector.matchExpressions -}}
{{- if eq .key $key -}}
{{- if and (eq .operator "In") (not (has $namespace (.values | default list))) -}}{{- fail $refuse -}}{{- end -}}
{{- if and (eq .operator "NotIn") (has $namespace (.values | default list)) -}}{{- fail $refuse -}}{{- end -}}
{{- if eq .operator "DoesNotExist" -}}{{- fail $refuse -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
