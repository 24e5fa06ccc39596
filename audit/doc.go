// Package audit verifies, without trusting any one member, what every
// member of the consortium published, when and by whom, and what every
// member did about it: the offline and online provenance and closed-loop
// audit behind "creditx audit".
//
// # What Run guarantees
//
// Given ledger copies (each member's own ledger and the mirror copies other
// members hold, read from exported C2SP tlog-tiles trees, a bundle, or live
// nodes; loop logs alike, see "Loop logs" below) and keys trusted independently of them (a consortium manifest or
// trust.yaml), Run reports no failure only if all of these hold:
//
//   - every copy's checkpoint is signed by its origin's log key (the key
//     from the trust, not the vkey file beside the tree, unless the trust
//     has none, which the report flags), and every cosignature line by a
//     known witness verifies (C2SP tlog-cosignature/v1, checked with
//     transparency-dev/formats note.NewVerifierForCosignatureV1); at least
//     the quorum of members other than the origin cosigned it;
//   - every entry hashes to its hash tile, and the whole tree recomputes to
//     the checkpoint's root (ledger.Verify);
//   - in the largest copy of each ledger, every entry is a canonical,
//     schema-valid record signed by an agency key registered by the
//     origin's credit-office anchors before that index and not revoked at
//     it, submitted by the key's owner (internal/trust's Checker);
//   - every other copy is identical to it entry by entry up to its own
//     size, and every checkpoint seen is consistent with the largest tree
//     (RFC 6962 consistency proofs from x/mod tlog.ProveTree/CheckTree);
//   - every reference between records (notice -> listing, feedback ->
//     notice, ...) into an audited ledger names the right leaf hash, points
//     backwards, and is not dated before the record it answers;
//   - when Options.Anchors is given (a Fabric channel, package
//     anchor/fabric), each member's anchor not beyond its verified ledger
//     has the ledger's root at that size (CheckAnchors; a contradiction is
//     a CheckAnchor failure naming the member, the size and both roots).
//
// # Loop logs
//
// A member with sanctions.loop_log writes its sanction notices and their
// feedback to a second log, creditx.<code>/loop (issue 20,
// internal/notices/loop.go). Its copies are inputs like ledger copies:
// FromDir finds them as <member>/<code>-loop/ (creditx demo --out) or
// <code>-loop/ (creditx export), FromNodes reads GET /loop/<code>/ from
// every node that serves it (404: not there), and LoadManifest trusts each
// member's loop_vkey for that origin. Run then gives a loop log what it
// gives a ledger (checkpoint signature, cosignatures, Merkle tree,
// consistency, copies identical) and checks each entry of its largest copy
// as the member's node did, with internal/trust's loop check, the one
// "creditx verify" uses (loopcheck.go): a sanction notice or feedback,
// schema-valid, signed by a key of the keyring of the member's ledger as
// its verified primary left it, submitted by that key's agency, the key not
// revoked by a ledger record created at or before the entry's created_at (a
// loop entry does not record the ledger size at its append, so an entry
// backdated by the holder of a revoked key is not caught; Report.Checked
// says so). A ledger that failed leaves no keyring: its loop log's entries
// are checked for kind and schema only, and its status says keys not
// checked. The closed loop counts notices and feedback from loop logs
// exactly as from ledgers.
//
// Report.LoopLogs lists every loop log declared by the trust (of a member
// whose ledger is audited) or found, and MemberLoop.LoopLog its status. A
// declared loop log with no copy ("loop log of 320000 not fetched: its
// notices and feedback are not checked") and a loop checkpoint short of the
// witness quorum ("loop log of 320000 not witnessed: ...") are named in
// Report.NotChecked: the verdict is then UNVERIFIED, never PASSED, and the
// copy is never reported witnessed. An unwitnessed loop checkpoint is not
// an integrity failure (a ledger's is), since loop logs need not be
// witnessed by the exchange; a cosignature that does not verify is one.
// A loop entry that fails its check is a CheckRecord failure naming the
// loop origin and index (TestLoopLogTamper).
//
// # The verdict
//
// Trust is explicit: Inputs.Trust is what the auditor brought (a manifest
// given on the command line, or the manifest.yaml beside the output of a
// demo the auditor ran), Inputs.Own what the audited data carries about
// itself (a bundle's manifest and trust.yaml). Checks fall back to Own when
// Trust lacks a key, but only checks made with Trust count: Report.Verdict
// is PASSED only when every check named in Report.Checked ran against
// independent trust (Merkle trees, checkpoint signatures, the witness
// cosignature quorum of the manifest's policy, every agency signature and
// key) and nothing failed; FAILED on any failure; UNVERIFIED otherwise,
// with Report.NotChecked saying what did not run and why. When both hold a
// manifest they are compared (DiffManifests) and each differing field is a
// CheckManifest failure; the same manifest twice is none
// (TestVerdictNeedsIndependentTrust, TestManifestDifferenceNamed).
//
// The closed-loop part (Report.Loop) is computed from the verified records
// themselves: per listing and member the lag to the member's first
// sanction notice, notices, feedback met or overdue against Options.At,
// objections decided in time (working days of sanctions/workdays), expired
// listings lifted, removed listings not re-inserted, measures against
// natural persons only with a legal basis. These are findings for the
// auditor, not integrity failures.
//
// # How it fails
//
// Integrity failures do not stop the audit: Run checks everything it can
// and returns the full Report with a *IntegrityError whose First names the
// first failing entry (origin, index, the copy's holder and why; index -1
// when the failure is about a checkpoint, a tile or a whole copy). When the
// largest copy of a ledger fails its tree check (its files were altered),
// the next largest copy is checked in full instead, so one bad copy does
// not hide the rest of the ledger; when a record itself fails (every copy
// holds the same bad record), the other copies are compared with the part
// that verified and the closed loop covers only that part.
// Run returns another error only when it cannot audit at all (bad witness
// key, bad anchor key, no holiday calendar) and ctx.Err() when cancelled.
// Run writes nothing; OpenBundle writes only into a new temporary
// directory. The tamper drills in audit_test.go (TestTamperDrills) show
// each failure being caught and named.
package audit
