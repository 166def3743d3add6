/**
 * The file in a node's data directory that holds its SQLite database: the node's store writes
 * it, the ledger's store and audit read the blocks in it.
 */
export const DB_FILE = 'state.db';
