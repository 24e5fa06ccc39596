package ledger

// Read returns a read-only view of tx for code written against ReadTx
// (index lookups that must see this transaction's own writes, e.g. an
// indexer reading what it indexed a moment before). It is valid only
// inside Update's fn, like tx; its log readers bypass the store's hash
// cache, since the transaction may still roll back.
func (tx *Tx) Read() *ReadTx {
	return &ReadTx{tx: tx.tx}
}
