package audit

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestBundleRoundTrip(t *testing.T) {
	fx := buildFixture(t, 2, fixtureOpts{})
	var b1, b2 bytes.Buffer
	if err := WriteBundle(&b1, fx.dir); err != nil {
		t.Fatal(err)
	}
	if err := WriteBundle(&b2, fx.dir); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
		t.Error("two bundles of the same directory differ")
	}
	p := filepath.Join(t.TempDir(), "audit.tar.gz")
	if err := os.WriteFile(p, b1.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, cleanup, err := OpenBundle(p)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	rep, err := runDir(t, dir)
	if err != nil || len(rep.Copies) != 9 {
		t.Fatalf("audit of the unpacked bundle: %v", err)
	}
	direct, err := runDir(t, fx.dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rep.Copies {
		if rep.Copies[i].Root != direct.Copies[i].Root || rep.Copies[i].Size != direct.Copies[i].Size {
			t.Errorf("copy %d differs after the bundle round trip", i)
		}
	}
	cleanup()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cleanup left %s", dir)
	}
}

func TestWriteBundleRefusesPrivateKeys(t *testing.T) {
	for name, body := range map[string]string{
		"keys/log.key":  "anything",
		"a/skey":        "PRIVATE+KEY+creditx.330000/ledger+1234abcd+AAAA",
		"ca/region.pem": "-----BEGIN EC PRIVATE KEY-----\nMHc...",
	} {
		dir := t.TempDir()
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o600)
		var buf bytes.Buffer
		if err := WriteBundle(&buf, dir); err == nil {
			t.Errorf("%s: bundled a private key", name)
		}
	}
}

type tarMember struct {
	name string
	typ  byte
	body string
	link string
}

func makeTarGz(t testing.TB, ms []tarMember) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, m := range ms {
		h := &tar.Header{Name: m.name, Typeflag: m.typ, Mode: 0o644, Size: int64(len(m.body)), Linkname: m.link}
		if m.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if m.typ == tar.TypeReg {
			tw.Write([]byte(m.body))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

var formatMember = tarMember{name: bundleFormatFile, typ: tar.TypeReg, body: bundleFormatV1}

func TestExtractBundleRefuses(t *testing.T) {
	tests := []struct {
		name   string
		data   []byte
		member string // BundleError.Member expected
	}{
		{"not gzip", []byte("hello"), ""},
		{"empty archive", makeTarGz(t, nil), ""},
		{"no format file", makeTarGz(t, []tarMember{{name: "a/checkpoint", typ: tar.TypeReg, body: "x"}}), "a/checkpoint"},
		{"future format", makeTarGz(t, []tarMember{{name: bundleFormatFile, typ: tar.TypeReg, body: "creditx audit bundle v2\n"}}), bundleFormatFile},
		{"parent escape", makeTarGz(t, []tarMember{formatMember, {name: "../evil", typ: tar.TypeReg, body: "x"}}), "../evil"},
		{"absolute path", makeTarGz(t, []tarMember{formatMember, {name: "/tmp/evil", typ: tar.TypeReg, body: "x"}}), "/tmp/evil"},
		{"symlink", makeTarGz(t, []tarMember{formatMember, {name: "a/link", typ: tar.TypeSymlink, link: "/etc/passwd"}}), "a/link"},
		{"duplicate", makeTarGz(t, []tarMember{formatMember, {name: "a/x", typ: tar.TypeReg, body: "1"}, {name: "a/x", typ: tar.TypeReg, body: "2"}}), "a/x"},
		{"backslash", makeTarGz(t, []tarMember{formatMember, {name: `a\..\x`, typ: tar.TypeReg, body: "1"}}), `a\..\x`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dst := filepath.Join(root, "dst")
			os.Mkdir(dst, 0o755)
			err := ExtractBundle(bytes.NewReader(tc.data), dst)
			var be *BundleError
			if !errors.As(err, &be) {
				t.Fatalf("ExtractBundle: %v, want *BundleError", err)
			}
			if be.Member != tc.member {
				t.Errorf("error names member %q, want %q (%v)", be.Member, tc.member, err)
			}
			if es, _ := os.ReadDir(root); len(es) != 1 {
				t.Errorf("something was written beside dst: %v", es)
			}
		})
	}
}

// gunzip returns the tar stream inside a bundle made by makeTarGz.
func gunzip(t testing.TB, b []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.ReadFrom(zr)
	return out.Bytes()
}

// FuzzExtractBundle: whatever the input, nothing is written outside dst,
// and an accepted bundle re-bundles to an archive that extracts again.
// When wrap is set the input is a tar stream that the target gzips first,
// so the fuzzer reaches the tar and name checks instead of gzip's CRC.
func FuzzExtractBundle(f *testing.F) {
	seeds := [][]byte{
		makeTarGz(f, []tarMember{formatMember, {name: "310000/310000/checkpoint", typ: tar.TypeReg, body: "creditx.310000/ledger\n1\n"}}),
		makeTarGz(f, []tarMember{formatMember, {name: "../x", typ: tar.TypeReg, body: "x"}}),
		makeTarGz(f, []tarMember{formatMember, {name: "d", typ: tar.TypeDir}, {name: "d/f", typ: tar.TypeReg, body: "x"}}),
		makeTarGz(f, []tarMember{formatMember, {name: "l", typ: tar.TypeSymlink, link: "../../etc"}}),
	}
	for _, s := range seeds {
		f.Add(s, false)
		f.Add(gunzip(f, s), true)
	}
	f.Add([]byte{0x1f, 0x8b, 8, 0}, false)
	f.Fuzz(func(t *testing.T, data []byte, wrap bool) {
		if wrap {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(data)
			zw.Close()
			data = buf.Bytes()
		}
		root := t.TempDir()
		dst := filepath.Join(root, "dst")
		os.Mkdir(dst, 0o755)
		err := ExtractBundle(bytes.NewReader(data), dst)
		if es, _ := os.ReadDir(root); len(es) != 1 {
			t.Fatalf("wrote beside dst: %v", es)
		}
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteBundle(&buf, dst); errors.Is(err, errPrivateKey) {
			return
		} else if err != nil {
			t.Fatalf("re-bundling an accepted bundle: %v", err)
		}
		dst2 := filepath.Join(root, "dst2")
		os.Mkdir(dst2, 0o755)
		if err := ExtractBundle(&buf, dst2); err != nil {
			t.Fatalf("re-bundled archive refused: %v", err)
		}
	})
}
