// Package pages gathers what the region replica's web pages show (issue
// 18): the member status page (/status), the auditor's page (/audit) and
// the public register (/). Package console renders them (templates, labels,
// paging of the register); package node registers the routes and reads
// its own state (notices, calendar, cluster) through its methods, passing
// the results in. This package reads ledger.db only through the
// ledger.ReadTx a caller gives it, and owns no bucket.
//
// # Guarantees
//
//   - Natural persons are never on the public register, not even masked
//     (issue 14; docs/PRIVACY.md): only disclosed public listings of
//     organisations match ([RegisterMatch]).
//   - A part of a page that cannot be read fails the page (the caller
//     answers 500) rather than showing "none"; the one exception is the
//     replicas' health, whose failure is shown on the status page.
//
// # Failures
//
// Errors of ledger reads are returned as they are; a bad register query
// is a list of problems for the page (console.RegisterPage.Problems,
// answered 400), not an error. A replica that cannot be probed is a row
// with its problem ([ProbeReplicas]).
package pages
