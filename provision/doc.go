// Package provision runs the key ceremonies of development, tests and the
// demo, where one operator holds every key: a region with its replicas
// (PrepareRegion, PrepareDev: region CA, replica and agency credentials,
// log, access, vault and matching keys, node configs), a consortium of such
// regions (PrepareConsortium: member certificates, witness keys, the
// manifest), a member joining one (PrepareMember, CompleteMemberMatchKey)
// and the governance records those steps sign (MemberApproval,
// ProposeRecord, ApproveRecord, IssueDomainAuthorities), and the match key a
// region so prepared holds (DevMatchKey, for demos and tests that play the
// credit office).
//
// It owns the layout of a prepared directory (the region directory with its
// node.yaml, keys/, tls/ and agencies/) and nothing at run time: a replica
// reads what it wrote through package node's config. Production regions run
// the same ceremonies with separate operators (creditx region, member); nothing
// here is needed to run a node.
//
// Guarantees: a prepared region starts (its configs pass node.LoadConfig and
// node.New's checks; TestExample and the harnesses of package node start
// from it), private keys are written 0600, and preparing again over an
// existing directory returns its config instead of new keys (PrepareDev).
//
// It imports node (for Config) and the packages below it; nothing imports
// it but the binary, deploy and tests.
package provision
