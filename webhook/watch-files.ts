/**
 * Calls `onChange` when files may have changed. Kubernetes updates a mounted Secret or ConfigMap by
 * writing a new timestamped directory and swapping the `..data` symlink to it: the file names the
 * container reads never see a write of their own, so watching the files would miss the update. Watching
 * their directories sees the swap; a slow periodic check catches whatever the watch misses (a watch that
 * failed to start, a filesystem without inotify). The callback is told nothing: it re-reads and decides
 * whether anything really changed.
 */
import { type FSWatcher, watch } from "node:fs";
import { dirname, resolve } from "node:path";

export interface FileWatchOptions {
  /** Events come in bursts (a symlink swap is several renames): wait this long after the last one. */
  readonly debounceMs?: number;
  /** The periodic check; 0 turns it off. */
  readonly pollIntervalMs?: number;
  /** A directory that cannot be watched; the periodic check still runs. */
  readonly onWatchError?: (directory: string, error: Error) => void;
}

export interface FileWatch {
  close(): void;
}

export const DEFAULT_DEBOUNCE_MS = 100;
export const DEFAULT_POLL_INTERVAL_MS = 60_000;

export function watchFiles(
  paths: readonly string[],
  onChange: () => void,
  options: FileWatchOptions = {},
): FileWatch {
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  let closed = false;
  let pending: NodeJS.Timeout | undefined;
  const trigger = () => {
    if (closed) return;
    if (pending) clearTimeout(pending);
    pending = setTimeout(() => {
      pending = undefined;
      if (!closed) onChange();
    }, debounceMs);
    pending.unref();
  };

  const watchers: FSWatcher[] = [];
  for (const directory of new Set(paths.map((path) => dirname(resolve(path))))) {
    try {
      const watcher = watch(directory, { persistent: false }, trigger);
      watcher.on("error", (error) => options.onWatchError?.(directory, error));
      watchers.push(watcher);
    } catch (error) {
      options.onWatchError?.(directory, error as Error);
    }
  }
  const poll = pollIntervalMs > 0 ? setInterval(trigger, pollIntervalMs) : undefined;
  poll?.unref();

  return {
    close() {
      closed = true;
      if (pending) clearTimeout(pending);
      if (poll) clearInterval(poll);
      for (const watcher of watchers) watcher.close();
    },
  };
}
