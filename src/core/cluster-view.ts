import type { NodeId } from './protocol.js';
import { checkFaultBound, type FaultModel, quorumSize, replyQuorum } from './quorum.js';

/** What a protocol instance knows of its cluster: who is in it and how many make a quorum. */
export interface ClusterView {
  readonly id: string;
  readonly protocol: string;
  readonly model: FaultModel;
  /** Replicas in rank order: the leader of round or view v is replicas[v mod n]. */
  readonly replicas: readonly NodeId[];
  readonly clients: readonly NodeId[];
  readonly n: number;
  readonly f: number;
  /** Byzantine: ⌊(n+f)/2⌋+1; crash: ⌈(n+1)/2⌉. */
  readonly quorum: number;
  /** Matching replies a client needs: f+1 (Byzantine) or 1 (crash). */
  readonly replyQuorum: number;
  readonly unsafe: boolean;
}

export function makeClusterView(args: {
  id: string;
  protocol: string;
  model: FaultModel;
  replicas: readonly NodeId[];
  clients?: readonly NodeId[];
  f: number;
  unsafe?: boolean;
}): ClusterView {
  const n = args.replicas.length;
  const unsafe = args.unsafe ?? false;
  checkFaultBound(args.model, n, args.f, unsafe);
  return Object.freeze({
    id: args.id,
    protocol: args.protocol,
    model: args.model,
    replicas: Object.freeze([...args.replicas]),
    clients: Object.freeze([...(args.clients ?? [])]),
    n,
    f: args.f,
    quorum: quorumSize(args.model, n, args.f),
    replyQuorum: replyQuorum(args.model, args.f),
    unsafe,
  });
}
