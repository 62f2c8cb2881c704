/** Events on the process's own pod: written once per reason and message, counted up, never failing the caller. */
import { afterEach, beforeEach, expect, test } from "vitest";
import { createEventRecorder } from "../../webhook/pod-events.ts";
import { podFromEnv } from "../../webhook/pod-reference.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../fakes/kubernetes-api.ts";
import { captureLogs, testLogger } from "./harness.ts";

const pod = { name: "webhook-abc", namespace: "buildkite", uid: "0195a2b0-0000-4000-8000-0000000000aa" };
let kubernetes: FakeKubernetes;

beforeEach(async () => {
  kubernetes = await startFakeKubernetes();
});
afterEach(() => kubernetes.close());

interface StoredEvent {
  metadata: { name: string };
  reason: string;
  message: string;
  count: number;
}
const events = () => kubernetes.list("v1", "Event", pod.namespace) as unknown as StoredEvent[];

test("a repeat counts up the Event already written; one that expired is written again", async () => {
  const recorder = createEventRecorder({
    kubeConfig: kubernetes.kubeConfig(),
    pod,
    component: "agent-stack-k8s-webhook",
    logger: testLogger(captureLogs()),
  });
  await recorder.warning("InvalidConfig", "bad");
  await recorder.warning("InvalidConfig", "bad");
  expect(events()).toMatchObject([{ reason: "InvalidConfig", message: "bad", count: 2 }]);
  kubernetes.remove("v1", "Event", pod.namespace, (events()[0] as StoredEvent).metadata.name);
  await recorder.warning("InvalidConfig", "bad");
  expect(events()).toMatchObject([{ message: "bad", count: 1 }]);
  await recorder.warning("InvalidConfig", "x".repeat(5_000));
  expect(events()[1]?.message.length).toBeLessThan(1_100);
});

test("an API server that refuses is logged once per distinct error, and the caller never sees it", async () => {
  const logs = captureLogs();
  const recorder = createEventRecorder({
    kubeConfig: kubernetes.kubeConfig(),
    pod,
    component: "agent-stack-k8s-webhook",
    logger: testLogger(logs),
  });
  kubernetes.failNext(3, 500);
  for (let i = 0; i < 3; i++) await expect(recorder.warning("InvalidConfig", "bad")).resolves.toBeUndefined();
  expect(
    logs
      .lines()
      .filter(
        (line) => line.msg === "cannot write an Event on the pod (logged again only if the error changes)",
      ),
  ).toHaveLength(1);
  await recorder.warning("InvalidConfig", "bad");
  expect(events()).toHaveLength(1);
});

test("the pod comes from the downward API's variables, when they are set", () => {
  expect(podFromEnv({ POD_NAME: "a", POD_NAMESPACE: "b", POD_UID: "c" })).toEqual({
    name: "a",
    namespace: "b",
    uid: "c",
  });
  expect(podFromEnv({ POD_NAME: "a" })).toBeUndefined();
});
