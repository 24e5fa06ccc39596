package node

import "net/http"

// readFailed is the problem of record i when admission could not read the
// ledger to check it (a bbolt or page error, not the record's fault): 500,
// nothing is written and the caller may retry. The cause goes to the log.
func (n *Node) readFailed(i int, what string, err error) statusFieldError {
	n.logger.Error("admission could not read the ledger", "record", i, "what", what, "err", err)
	return statusFieldError{http.StatusInternalServerError,
		FieldError{Record: i, Field: "record", Rule: "read", Message: what + " could not be read on this replica; nothing was written, retry"}}
}
