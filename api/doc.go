// Package api holds the wire types of a region node's HTTPS API: the JSON
// bodies its endpoints accept and answer (receipts, field errors, views of
// records, notices, the vault, the cluster, the calendar and catalogues,
// membership, status). It owns their JSON names and nothing else: no
// behaviour, no I/O. Package node serves them (under the same names, as
// aliases), package client and the creditx binary read them, so a client
// needs neither the replica nor its storage to speak the API.
//
// Guarantees: the JSON form of every type here is the API's; renaming a
// field or its tag changes the API and must be versioned with it (the
// handlers' tests in package node decode these bodies, and docs/API.md
// describes them). The types carrying replica state (ListingView,
// RecordView) are still defined in node; the access log's entry is
// internal/access.Record (node.AccessRecord).
//
// It imports only schemas and sanctions (the records and the states the
// views embed).
package api
