package audit

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestVerdictNeedsIndependentTrust: the same clean ledgers are PASSED with
// the manifest beside them as independent trust, and UNVERIFIED (no
// failure, exit 2, the checks not run named) when that manifest is only
// what the data carries (a bundle) or when there is none.
func TestVerdictNeedsIndependentTrust(t *testing.T) {
	fx := buildFixture(t, 2, fixtureOpts{})
	in, err := FromDir(fx.dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), in, Options{At: fixtureAt})
	if err != nil || rep.Verdict != VerdictPassed || len(rep.NotChecked) != 0 || ExitCode(rep.Verdict) != ExitPassed {
		t.Fatalf("with the manifest beside the trees: err %v, verdict %q, not checked %v", err, rep.Verdict, rep.NotChecked)
	}
	for _, want := range []string{"Merkle trees", "checkpoint signatures", "witness cosignature quorum", "every agency signature"} {
		if !slices.ContainsFunc(rep.Checked, func(c string) bool { return strings.Contains(c, want) }) {
			t.Errorf("PASSED without naming %q among the checks that ran: %v", want, rep.Checked)
		}
	}

	in.Distrust() // as for a bundle: its manifest came from the party audited
	rep, err = Run(context.Background(), in, Options{At: fixtureAt})
	if err != nil || !rep.OK {
		t.Fatalf("the data's own manifest still finds no failure: %v", err)
	}
	if rep.Verdict != VerdictUnverified || ExitCode(rep.Verdict) != ExitUnverified {
		t.Fatalf("without independent trust: verdict %q, want UNVERIFIED", rep.Verdict)
	}
	for _, want := range []string{"independent trust", "witness cosignature quorum", "agency signatures"} {
		if !slices.ContainsFunc(rep.NotChecked, func(c string) bool { return strings.Contains(c, want) }) {
			t.Errorf("UNVERIFIED must say %q was not checked: %v", want, rep.NotChecked)
		}
	}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), ": UNVERIFIED: ") || !strings.Contains(b.String(), "Not checked: ") || strings.Contains(b.String(), "PASSED") {
		t.Errorf("text report without independent trust:\n%s", b.String())
	}
	b.Reset()
	if err := rep.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `class="verdict UNVERIFIED"`) || strings.Contains(b.String(), `class="verdict PASSED"`) {
		t.Errorf("HTML banner without independent trust is not the amber UNVERIFIED one")
	}

	os.Remove(filepath.Join(fx.dir, ManifestFile))
	rep, err = runDir(t, fx.dir)
	if err != nil || rep.Verdict != VerdictUnverified {
		t.Fatalf("no manifest at all: err %v, verdict %q", err, rep.Verdict)
	}
}

// TestManifestDifferenceNamed: the independent manifest and the data's own
// are compared; the same manifest twice is no failure, a different one is a
// failure naming the field.
func TestManifestDifferenceNamed(t *testing.T) {
	fx := buildFixture(t, 1, fixtureOpts{})
	path := filepath.Join(fx.dir, ManifestFile)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	indep := filepath.Join(t.TempDir(), "independent.yaml")
	if err := os.WriteFile(indep, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	audit := func() (*Report, error) {
		in, err := FromDir(fx.dir)
		if err != nil {
			t.Fatal(err)
		}
		in.Distrust()
		if in.Trust, err = LoadManifest(indep); err != nil {
			t.Fatal(err)
		}
		return Run(context.Background(), in, Options{At: fixtureAt})
	}
	rep, err := audit()
	if err != nil || rep.Verdict != VerdictPassed {
		t.Fatalf("the same manifest as trust and in the data: err %v, verdict %q, failures %v", err, rep.Verdict, rep.Failures)
	}
	// The data's manifest claims another quorum and renames a member.
	changed := bytes.Replace(orig, []byte("witness_quorum: 2"), []byte("witness_quorum: 1"), 1)
	changed = bytes.Replace(changed, []byte("name: Member 320000"), []byte("name: Someone else"), 1)
	if err := os.WriteFile(path, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err = audit()
	var ie *IntegrityError
	if !errors.As(err, &ie) || rep.Verdict != VerdictFailed {
		t.Fatalf("a different manifest in the data: err %v, verdict %q", err, rep.Verdict)
	}
	var named []string
	for _, f := range rep.Failures {
		if f.Check == CheckManifest {
			named = append(named, f.Reason)
		}
	}
	if len(named) != 2 || !strings.HasSuffix(named[0], "members[320000].name") || !strings.HasSuffix(named[1], " witness_quorum") {
		t.Fatalf("manifest failures %q, want members[320000].name and witness_quorum named", named)
	}
}

func TestDiffManifests(t *testing.T) {
	a := []byte("version: 1\nwitness_quorum: 2\nmembers:\n  - code: \"310000\"\n    log_vkey: a\n  - code: \"320000\"\n    log_vkey: b\n")
	for _, c := range []struct {
		b    string
		want []string
	}{
		{"# reordered\nmembers:\n  - {code: \"320000\", log_vkey: b}\n  - {code: \"310000\", log_vkey: a}\nwitness_quorum: 2\nversion: 1\n", nil},
		{"version: 1\nwitness_quorum: 3\nmembers:\n  - code: \"310000\"\n    log_vkey: a\n  - code: \"320000\"\n    log_vkey: x\n", []string{"members[320000].log_vkey", "witness_quorum"}},
		{"version: 1\nwitness_quorum: 2\nmembers:\n  - code: \"310000\"\n    log_vkey: a\n", []string{"members[320000]"}},
		{"version: \"1\"\nwitness_quorum: 2\nmembers:\n  - code: \"310000\"\n    log_vkey: a\n  - code: \"320000\"\n    log_vkey: b\n", []string{"version"}},
	} {
		got, err := DiffManifests(a, []byte(c.b))
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("DiffManifests(a, %q) = %q, %v; want %q", c.b, got, err, c.want)
		}
	}
	if _, err := DiffManifests(a, []byte("members: [")); err == nil || !strings.Contains(err.Error(), "manifest 2") {
		t.Errorf("an unparsable manifest: %v, want an error naming manifest 2", err)
	}
}

// FuzzDiffManifests: never panics; a manifest never differs from itself;
// the fields named are the same both ways round.
func FuzzDiffManifests(f *testing.F) {
	f.Add([]byte("version: 1\nwitness_quorum: 2\nmembers:\n  - code: \"310000\"\n    log_vkey: a\n"), []byte("version: 1\nmembers: []\n"))
	f.Add([]byte("a: [1, 2, {code: x}]\n"), []byte("a: [1, {code: x}]\n"))
	f.Add([]byte("x: &a [*a]\n"), []byte("x: .nan\n"))
	f.Add([]byte("- 1\n- 2\n"), []byte("{1: 2}\n"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if d, err := DiffManifests(a, a); err == nil && len(d) != 0 {
			t.Fatalf("DiffManifests(a, a) = %q", d)
		}
		ab, err1 := DiffManifests(a, b)
		ba, err2 := DiffManifests(b, a)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("errors differ both ways round: %v / %v", err1, err2)
		}
		slices.Sort(ab)
		slices.Sort(ba)
		if err1 == nil && !slices.Equal(ab, ba) {
			t.Fatalf("fields differ both ways round: %q / %q", ab, ba)
		}
	})
}

// TestUnpackedBundleIsNotTrust: a bundle unpacked with tar (its format file
// beside the trees) is the data's own trust, as through OpenBundle.
func TestUnpackedBundleIsNotTrust(t *testing.T) {
	fx := buildFixture(t, 1, fixtureOpts{})
	if err := os.WriteFile(filepath.Join(fx.dir, bundleFormatFile), []byte(bundleFormatV1), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := FromDir(fx.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Trust.Source) != 0 || in.Own.ManifestBytes == nil {
		t.Fatalf("unpacked bundle: trust %v, own manifest %v", in.Trust.Source, in.Own.ManifestBytes != nil)
	}
}
