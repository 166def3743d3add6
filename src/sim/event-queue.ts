/**
 * The simulator's agenda: a binary min-heap ordered by (time, insertion number), so events
 * at the same virtual time run in the order they were scheduled — one source of the
 * simulator's determinism.
 */
export interface Scheduled {
  readonly time: number;
  readonly order: number;
  readonly run: () => void;
}

export class EventQueue {
  private readonly heap: Scheduled[] = [];
  private counter = 0;

  get size(): number {
    return this.heap.length;
  }

  push(time: number, run: () => void): void {
    const item = { time, order: this.counter++, run };
    const heap = this.heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = item;
  }

  peekTime(): number | undefined {
    return this.heap[0]?.time;
  }

  pop(): Scheduled | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = last;
      let at = -1;
      if (l < heap.length && before(heap[l]!, smallest)) {
        smallest = heap[l]!;
        at = l;
      }
      if (r < heap.length && before(heap[r]!, smallest)) {
        smallest = heap[r]!;
        at = r;
      }
      if (at < 0) break;
      heap[i] = smallest;
      i = at;
    }
    heap[i] = last;
    return top;
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.time < b.time || (a.time === b.time && a.order < b.order);
}
