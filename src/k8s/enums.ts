/**
 * The closed sets of values kube-apiserver accepts for string fields inside a pod spec. The OpenAPI v2
 * document carries no `enum`s, only prose ("One of Always, Never, IfNotPresent"), so they are listed
 * here; a test checks every field against the generated schema table and every value against the
 * field's description in the document. Only fields whose description names every value are listed:
 * a value the API server accepts must never be refused.
 */
export const K8S_ENUMS: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  "io.k8s.api.core.v1.Container": {
    imagePullPolicy: ["Always", "Never", "IfNotPresent"],
    terminationMessagePolicy: ["File", "FallbackToLogsOnError"],
  },
  "io.k8s.api.core.v1.ContainerPort": { protocol: ["TCP", "UDP", "SCTP"] },
  "io.k8s.api.core.v1.PodSpec": {
    restartPolicy: ["Always", "OnFailure", "Never"],
    dnsPolicy: ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
    preemptionPolicy: ["Never", "PreemptLowerPriority"],
  },
  "io.k8s.api.core.v1.Toleration": {
    operator: ["Exists", "Equal", "Lt", "Gt"],
    effect: ["", "NoSchedule", "PreferNoSchedule", "NoExecute"],
  },
  "io.k8s.api.core.v1.NodeSelectorRequirement": {
    operator: ["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"],
  },
  "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement": {
    operator: ["In", "NotIn", "Exists", "DoesNotExist"],
  },
  "io.k8s.api.core.v1.TopologySpreadConstraint": {
    whenUnsatisfiable: ["DoNotSchedule", "ScheduleAnyway"],
    nodeAffinityPolicy: ["Honor", "Ignore"],
    nodeTaintsPolicy: ["Honor", "Ignore"],
  },
  "io.k8s.api.core.v1.SeccompProfile": { type: ["Localhost", "RuntimeDefault", "Unconfined"] },
  "io.k8s.api.core.v1.AppArmorProfile": { type: ["Localhost", "RuntimeDefault", "Unconfined"] },
  "io.k8s.api.core.v1.PodSecurityContext": {
    fsGroupChangePolicy: ["OnRootMismatch", "Always"],
    supplementalGroupsPolicy: ["Merge", "Strict"],
    seLinuxChangePolicy: ["MountOption", "Recursive"],
  },
  "io.k8s.api.core.v1.VolumeMount": { recursiveReadOnly: ["Disabled", "IfPossible", "Enabled"] },
  "io.k8s.api.core.v1.ContainerRestartRule": { action: ["Restart"] },
  "io.k8s.api.core.v1.ContainerRestartRuleOnExitCodes": { operator: ["In", "NotIn"] },
};

export function enumOf(definition: string, field: string): readonly string[] | undefined {
  const fields = K8S_ENUMS[definition];
  return fields !== undefined && Object.hasOwn(fields, field) ? fields[field] : undefined;
}
