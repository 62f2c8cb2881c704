/**
 * The events of a Job, as text for a Buildkite job's log (controller-runtime.md §2.6.1): what the Job
 * controller and the scheduler said about a Job that never got a pod is usually the reason (a quota,
 * an admission webhook of someone else's, a deadline). New-style events (`eventTime`, `series`) and
 * old-style ones (`firstTimestamp`, `lastTimestamp`, `count`) both read, as upstream HEAD reads them.
 */
import type { CoreV1Event } from "@kubernetes/client-node";
import type { ClusterApi } from "./cluster-api.ts";
import { humanDuration } from "./human-duration.ts";
import { count, fields, text, time } from "./object-fields.ts";
import { roundedTable } from "./text-table.ts";

export async function jobEventsText(api: ClusterApi, jobName: string, signal: AbortSignal): Promise<string> {
  let events: CoreV1Event[];
  try {
    events = await api.jobEvents(jobName, signal);
  } catch (error) {
    return `Couldn't get events for job ${jobName}: ${(error as Error).message}`;
  }
  return eventsTable(events);
}

export function eventsTable(events: readonly unknown[]): string {
  if (events.length === 0) return "Events: none";
  const rows = events
    .map(fields)
    .map((event) => {
      const series = fields(event.series);
      const first = time(event.eventTime) ?? time(event.firstTimestamp);
      const seriesLast = time(series.lastObservedTime);
      const last = seriesLast ?? time(event.lastTimestamp) ?? first;
      const repeated =
        seriesLast !== undefined
          ? `x${count(series.count)} over ${humanDuration(seriesLast - (first ?? seriesLast))}`
          : count(event.count) > 1
            ? `x${count(event.count)}`
            : "-";
      return {
        last: last ?? 0,
        row: [formatTime(last), repeated, text(event.type), text(event.reason), text(event.message)],
      };
    })
    .sort((a, b) => a.last - b.last)
    .map(({ row }) => row);
  return roundedTable(["LAST EVENT", "REPEATED", "TYPE", "REASON", "MESSAGE"], rows, { maxCellWidth: 50 });
}

function formatTime(ms: number | undefined): string {
  return ms === undefined ? "-" : new Date(ms).toISOString().replace(".000Z", "Z");
}
