// Package disclose decides what of a ledger record a caller may see
// (docs/PRIVACY.md): which records are public, which natural persons a
// record names (by keyed hash), the shape of a record for a caller's role,
// and whether a tlog-tiles entry bundle may be served without a
// credential.
//
// Checkpoints and hash tiles carry only hashes and signatures: they stay
// public, so witnesses, monitors and `creditx audit` verify any ledger
// without a credential. An entry bundle carries the canonical records
// themselves; it is public only if every entry in it is ([PublicRecord]): a
// governance record, or a listing with disclosure "public" whose subject is
// an organisation and which names no natural person (no keyed hash, no
// sealed data). Any other bundle is served by package node only to a
// consortium credential, and every such read is logged (node/privacy.go).
//
// # Guarantees
//
//   - The decisions depend only on the bytes of the records (and, for
//     [Shape], the role and whether the listing is disclosed now), never on
//     stored state, so a full bundle's answer is immutable like its
//     content.
//   - Fail closed: an entry or record that does not parse is not public,
//     and a public caller is shown nothing of it.
//   - Sealed ciphertext is never opened here: personal plaintext stays with
//     the data keys (package vault).
package disclose

import (
	"encoding/json"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
)

// PublicRecord reports whether a record may be read without a credential.
func PublicRecord(rec schemas.Record) bool {
	switch r := rec.(type) {
	case *schemas.Governance:
		return true
	case *schemas.Listing:
		return r.Disclosure == "public" && r.Subject.Person == nil && len(Persons(r)) == 0
	}
	return false
}

// Personal reports whether a record carries personal data (a natural
// person as subject or as a responsible person, or a sanction notice
// addressed to a person).
func Personal(rec schemas.Record) bool { return len(Persons(rec)) > 0 }

// Persons returns the keyed hashes of the natural persons a record names.
func Persons(rec schemas.Record) []string {
	var out []string
	switch r := rec.(type) {
	case *schemas.Listing:
		if r.Subject.Person != nil {
			out = append(out, r.Subject.Person.IDHash)
		}
		for _, rp := range r.Subject.ResponsiblePersons {
			out = append(out, rp.Person.IDHash)
		}
	case *schemas.SanctionNotice:
		if r.Target.IDHash != "" {
			out = append(out, r.Target.IDHash)
		}
	}
	return out
}

// Shape returns the record JSON (raw, the record's canonical bytes) a
// caller with role may see, whether fields were removed, and false if the
// caller may not see the record at all. disclosed says whether a listing is
// disclosed now (not suspended by a pending objection).
//
//   - public: only listings of organisations with disclosure "public" (and not
//     suspended by a pending objection) and governance records; keyed hashes
//     and sealed personal data of responsible persons removed, leaving the
//     masked forms. A natural person's listing is never public (issue 14).
//   - auditors, agencies and admins: every record; sealed ciphertext is never
//     opened through this API (personal plaintext stays with the data keys).
func Shape(role pki.Role, rec schemas.Record, raw []byte, disclosed bool) (json.RawMessage, bool, bool) {
	if role != pki.RolePublic {
		return raw, false, true
	}
	switch r := rec.(type) {
	case *schemas.Governance:
		return raw, false, true
	case *schemas.Listing:
		if r.Disclosure != "public" || !disclosed || r.Subject.Person != nil {
			return nil, false, false
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, false, false
		}
		StripPersonal(m)
		b, _ := json.Marshal(m)
		return b, true, true
	}
	return nil, false, false
}

// StripPersonal removes id_hash and sealed from every nested object of v
// (a decoded JSON value), in place.
func StripPersonal(v any) {
	switch t := v.(type) {
	case map[string]any:
		delete(t, "id_hash")
		delete(t, "sealed")
		for _, c := range t {
			StripPersonal(c)
		}
	case []any:
		for _, c := range t {
			StripPersonal(c)
		}
	}
}

// Bundle returns whether every entry of an entry bundle is public and the
// keyed hashes of the persons its entries name. Each entry is decoded once;
// an entry (or a bundle) that does not parse is not public.
func Bundle(bundle []byte) (public bool, persons []string) {
	es, err := ledger.ParseEntryBundle(bundle)
	if err != nil {
		return false, nil
	}
	public = true
	for _, e := range es {
		s, err := schemas.ParseSigned(e)
		if err != nil {
			public = false
			continue
		}
		rec, err := s.Decode()
		if err != nil {
			public = false
			continue
		}
		if !PublicRecord(rec) {
			public = false
			persons = append(persons, Persons(rec)...)
		}
	}
	return public, persons
}
