/**
 * PBFT over the ledger, for process hosts: a cluster file with `app: "ledger"` runs this.
 * The replica and client cores are PBFT's (with the same parameters as the pbft kit); only
 * the application — and so the REQUEST / REPLY / STATE schemas and the BLOCK votes —
 * differs. Its name stays "pbft": PBFT's adversaries apply unchanged.
 */
import type { ClusterFile } from '../core/cluster-file.js';
import type { HostedKit, Params } from '../core/kit.js';
import type { NodeId, ProtocolFactory } from '../core/protocol.js';
import { PbftClient } from '../pbft/client.js';
import { parsePbftParams, replicaOptions } from '../pbft/kit.js';
import { pbftDefinitionFor } from '../pbft/messages.js';
import { PbftReplica } from '../pbft/replica.js';
import { ledgerApp } from './app.js';
import { ledgerCluster } from './cluster.js';
import { nodeLedgerCrypto } from './node-crypto.js';

export function ledgerKit(file: ClusterFile): HostedKit {
  const app = ledgerApp(ledgerCluster(file), nodeLedgerCrypto);
  return {
    name: 'pbft',
    definition: pbftDefinitionFor(app),
    replica(_id: NodeId, params: Params): ProtocolFactory {
      const options = { ...replicaOptions(parsePbftParams(params)), app };
      return (ctx) => new PbftReplica(ctx, options);
    },
    client(_id: NodeId, params: Params): ProtocolFactory {
      const { requestTimeoutMs } = parsePbftParams(params);
      return (ctx) => new PbftClient(ctx, { requestTimeoutMs, app });
    },
  };
}
