// Router model ConfigMaps for a gateway that reads its config from a file or a routes directory (no API
// server): a directory laid out as <dir>/<namespace>/<configmap>/<key>, each folder one ConfigMap's data,
// polled every second (like the credentials: a mounted volume is updated by swapping a symlink, which
// watchers on the path miss). The same ConfigMapWatch the in-cluster gateway gets from the API server.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ConfigMapWatch } from '../routing/router-models.js';

const SAFE = /^[A-Za-z0-9._-]+$/;
const POLL_MS = 1000;

/** The data of one folder: file name → text; undefined when the folder cannot be read. */
async function folderData(dir: string): Promise<Record<string, string> | undefined> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith('.'))
      .map((e) => e.name);
  } catch {
    return undefined;
  }
  const data: Record<string, string> = {};
  for (const name of names.sort()) {
    try {
      data[name] = await readFile(path.join(dir, name), 'utf8');
    } catch {
      // a file removed between the listing and the read: the next poll sees the folder as it is
    }
  }
  return data;
}

/** Watches `<dir>/<namespace>/<name>/`: its data at once and on every change, undefined once it is gone. */
export function directoryWatch(dir: string, pollMs = POLL_MS): ConfigMapWatch {
  return (namespace, name, onData) => {
    if (![namespace, name].every((p) => SAFE.test(p) && p !== '.' && p !== '..')) return () => undefined;
    const folder = path.join(dir, namespace, name);
    let last: string | undefined;
    let stopped = false;
    const poll = async () => {
      const data = await folderData(folder);
      const text = data === undefined ? undefined : JSON.stringify(data);
      if (stopped || text === last) return;
      last = text;
      onData(data);
    };
    void poll();
    const timer = setInterval(() => void poll(), pollMs);
    timer.unref();
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  };
}
