// xt_recent's address lists: per list name, the addresses seen with the times they were seen (the last
// 20, ip_pkt_list_tot), which --set adds to and --rcheck/--update/--remove consult.
import { journaling, recordUndo } from './journal.ts';

const PKT_LIST_TOT = 20;

export interface RecentEntry {
  /** Milliseconds, oldest first. */
  stamps: number[];
}

export class RecentTables {
  readonly lists = new Map<string, Map<string, RecentEntry>>();

  private list(name: string): Map<string, RecentEntry> {
    let l = this.lists.get(name);
    if (!l) this.lists.set(name, (l = new Map()));
    return l;
  }

  get(name: string, key: string): RecentEntry | undefined {
    return this.lists.get(name)?.get(key);
  }

  /** --set, and --update on a hit: one more sighting now. */
  touch(name: string, key: string, now: number): void {
    const l = this.list(name);
    const e = l.get(key);
    if (!e) {
      l.set(key, { stamps: [now] });
      if (journaling()) recordUndo(() => l.delete(key));
      return;
    }
    const before = [...e.stamps];
    e.stamps.push(now);
    if (e.stamps.length > PKT_LIST_TOT) e.stamps.shift();
    if (journaling()) recordUndo(() => (e.stamps = before));
  }

  remove(name: string, key: string): void {
    const l = this.lists.get(name);
    const e = l?.get(key);
    if (!l || !e) return;
    l.delete(key);
    if (journaling()) recordUndo(() => l.set(key, e));
  }

  /** --reap: forget sightings older than the window. */
  reap(name: string, key: string, since: number): void {
    const l = this.lists.get(name);
    const e = l?.get(key);
    if (!l || !e) return;
    const before = e.stamps;
    e.stamps = e.stamps.filter((t) => t >= since);
    if (e.stamps.length === 0) l.delete(key);
    if (journaling()) recordUndo(() => {
      e.stamps = before;
      l.set(key, e);
    });
  }
}
