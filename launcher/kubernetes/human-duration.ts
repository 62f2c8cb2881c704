/**
 * Durations as Buildkite users read them in failure messages: Kubernetes apimachinery's
 * `HumanDuration` (`45s`, `3m20s`, `5h`, `2d4h`), and Go's `time.Duration` string rounded to the
 * second (`15m0s`), which upstream HEAD's pending-timeout message uses.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const YEAR = 365 * DAY;

/** apimachinery `duration.HumanDuration` (controller-runtime.md §2.12). */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / SECOND);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(ms / MINUTE);
  if (minutes < 10) {
    const rest = seconds % 60;
    return rest === 0 ? `${minutes}m` : `${minutes}m${rest}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(ms / HOUR);
  if (hours < 8) {
    const rest = minutes % 60;
    return rest === 0 ? `${hours}h` : `${hours}h${rest}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 192) {
    const rest = hours % 24;
    return rest === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${rest}h`;
  }
  if (ms < 2 * YEAR) return `${Math.trunc(ms / DAY)}d`;
  const years = Math.trunc(ms / YEAR);
  if (ms < 8 * YEAR) {
    const days = Math.trunc((ms % YEAR) / DAY);
    return days === 0 ? `${years}y` : `${years}y${days}d`;
  }
  return `${years}y`;
}

/** Go's `d.Round(time.Second).String()` for non-negative durations: `0s`, `45s`, `15m0s`, `1h2m3s`. */
export function goDurationSeconds(ms: number): string {
  const total = Math.max(0, Math.round(ms / SECOND));
  const hours = Math.trunc(total / 3600);
  const minutes = Math.trunc((total % 3600) / 60);
  const seconds = total % 60;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
