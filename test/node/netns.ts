/**
 * A private network of Linux network namespaces for process tests (root only).
 *
 *   root ns: bk<tag> 10.213.X.100 ──┐
 *                                   │  veth
 *   <prefix>-sw: bridge br0 ── pc, p0, p1, … (veth ends; no addresses)
 *                                   │  veth
 *   <prefix>-n<i>: eth0 10.213.X.(i+1)/24, lo up
 *
 * The bridge lives in a "switch" namespace of its own, so the only thing added to the root
 * namespace is the client's veth end `bk<tag>` (and its /24 route). Deleting the namespaces
 * destroys every veth (and so the root end too); `destroy()` also deletes it explicitly.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', timeout: 10_000, stdio: 'pipe' });
}

function tryIp(...args: string[]): boolean {
  try {
    ip(...args);
    return true;
  } catch {
    return false;
  }
}

/** null when namespaces can be used here; otherwise why not. */
export function netnsUnavailableReason(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'not running as root';
  const probe = `bftkit-probe-${randomBytes(3).toString('hex')}`;
  try {
    ip('netns', 'add', probe);
  } catch (e) {
    return `\`ip netns add\` failed: ${String((e as { stderr?: string }).stderr ?? e).trim()}`;
  }
  tryIp('netns', 'del', probe);
  return null;
}

export class NetnsTopology {
  readonly tag = randomBytes(3).toString('hex');
  readonly prefix = `bftkit-${this.tag}`;
  readonly switchNs = `${this.prefix}-sw`;
  readonly clientIf = `bk${this.tag}`;
  readonly subnet: string;
  private readonly created: string[] = [];

  constructor(readonly nodes: number) {
    const routes = ip('-4', 'route', 'show');
    let octet: number;
    do octet = randomInt(1, 255);
    while (routes.includes(`10.213.${octet}.`));
    this.subnet = `10.213.${octet}`;
  }

  nodeNs(i: number): string {
    return `${this.prefix}-n${i}`;
  }

  nodeAddress(i: number): string {
    return `${this.subnet}.${i + 1}`;
  }

  get clientAddress(): string {
    return `${this.subnet}.100`;
  }

  /** Build it all; on failure, whatever was made is removed before rethrowing. */
  create(): void {
    try {
      this.addNs(this.switchNs);
      ip('-n', this.switchNs, 'link', 'set', 'lo', 'up');
      ip('-n', this.switchNs, 'link', 'add', 'br0', 'type', 'bridge');
      ip('-n', this.switchNs, 'link', 'set', 'br0', 'up');
      for (let i = 0; i < this.nodes; i++) {
        const ns = this.nodeNs(i);
        this.addNs(ns);
        ip('-n', ns, 'link', 'set', 'lo', 'up');
        ip(
          '-n',
          this.switchNs,
          'link',
          'add',
          `p${i}`,
          'type',
          'veth',
          'peer',
          'eth0',
          'netns',
          ns,
        );
        ip('-n', this.switchNs, 'link', 'set', `p${i}`, 'master', 'br0', 'up');
        ip('-n', ns, 'addr', 'add', `${this.nodeAddress(i)}/24`, 'dev', 'eth0');
        ip('-n', ns, 'link', 'set', 'eth0', 'up');
      }
      ip('link', 'add', this.clientIf, 'type', 'veth', 'peer', 'pc', 'netns', this.switchNs);
      ip('-n', this.switchNs, 'link', 'set', 'pc', 'master', 'br0', 'up');
      ip('addr', 'add', `${this.clientAddress}/24`, 'dev', this.clientIf);
      ip('link', 'set', this.clientIf, 'up');
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  /** Cut node i off: its only interface goes down. */
  linkDown(i: number): void {
    ip('-n', this.nodeNs(i), 'link', 'set', 'eth0', 'down');
  }

  /** Heal: the interface comes back up (its address and /24 route come back with it). */
  linkUp(i: number): void {
    ip('-n', this.nodeNs(i), 'link', 'set', 'eth0', 'up');
  }

  /** Delete everything created; safe to call more than once. */
  destroy(): void {
    tryIp('link', 'del', this.clientIf);
    for (const ns of this.created.splice(0).reverse()) tryIp('netns', 'del', ns);
  }

  private addNs(ns: string): void {
    ip('netns', 'add', ns);
    this.created.push(ns);
  }
}
