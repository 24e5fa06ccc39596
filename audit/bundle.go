package audit

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Bundle limits. A bundle over them is refused rather than unpacked.
const (
	MaxBundleFiles     = 1 << 22 // files in one bundle
	MaxBundleFileBytes = 1 << 30 // bytes of one file
	MaxBundleBytes     = 1 << 36 // bytes of all files together
	bundleFormatFile   = "CREDITX-AUDIT-BUNDLE"
	bundleFormatV1     = "creditx audit bundle v1\n"
)

// WriteBundle writes dir (an audit directory: see FromDir) to w as an audit
// bundle, so an auditor can take it away and run "creditx audit --bundle".
//
// Format v1, byte by byte: a gzip stream (RFC 1952) of a POSIX ustar/PAX tar
// archive (Go archive/tar) whose first member is the regular file
// "CREDITX-AUDIT-BUNDLE" with the 24 bytes "creditx audit bundle v1\n",
// followed by one regular-file member per file under dir, in lexical order
// of their slash-separated relative paths (directories are implied, not
// stored), mode 0644, modification time 0 (Unix epoch), no owner names.
// So the same directory always gives the same bytes. Symbolic links and
// other special files in dir are an error, and so is anything that looks
// like a private key (*.key, "PRIVATE+KEY+...", PEM private keys): a
// bundle is handed to auditors and carries public data only. Versioning: a new layout changes
// the format line ("... v2"); OpenBundle refuses a format line it does not
// know.
func WriteBundle(w io.Writer, dir string) error {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("audit: bundle: %s is not a regular file", p)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(path.Base(rel), ".tmp-") {
			return nil // an export's temporary file
		}
		files = append(files, rel)
		return nil
	})
	if err != nil {
		return fmt.Errorf("audit: bundle: %w", err)
	}
	slices.Sort(files)
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	hdr := func(name string, size int64) *tar.Header {
		return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
	}
	if err := tw.WriteHeader(hdr(bundleFormatFile, int64(len(bundleFormatV1)))); err != nil {
		return fmt.Errorf("audit: bundle: %w", err)
	}
	if _, err := io.WriteString(tw, bundleFormatV1); err != nil {
		return fmt.Errorf("audit: bundle: %w", err)
	}
	for _, rel := range files {
		if rel == bundleFormatFile {
			continue
		}
		if err := addFile(tw, filepath.Join(dir, filepath.FromSlash(rel)), hdr(rel, 0)); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("audit: bundle: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("audit: bundle: %w", err)
	}
	return nil
}

func addFile(tw *tar.Writer, p string, h *tar.Header) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("audit: bundle: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("audit: bundle: %w", err)
	}
	h.Size = st.Size()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	if isPrivateKey(p, head[:n]) {
		return fmt.Errorf("audit: bundle: %s: %w", p, errPrivateKey)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("audit: bundle: %w", err)
	}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("audit: bundle: %w", err)
	}
	if n, err := io.Copy(tw, f); err != nil || n != h.Size {
		return fmt.Errorf("audit: bundle: %s changed while being read (%d of %d bytes): %v", p, n, h.Size, err)
	}
	return nil
}

var errPrivateKey = errors.New("looks like a private key; a bundle carries public data only")

// isPrivateKey recognises the private keys creditx writes: signed-note
// keys ("PRIVATE+KEY+..."), PEM private keys, and files named *.key.
func isPrivateKey(p string, head []byte) bool {
	return strings.HasSuffix(p, ".key") || bytes.HasPrefix(head, []byte("PRIVATE+KEY+")) ||
		bytes.Contains(head, []byte("PRIVATE KEY-----"))
}

// BundleError says what is wrong with a bundle and where.
type BundleError struct {
	Member string // the tar member's name, "" for the stream itself
	Reason string
}

func (e *BundleError) Error() string {
	if e.Member == "" {
		return "audit: bundle: " + e.Reason
	}
	return fmt.Sprintf("audit: bundle: member %q: %s", e.Member, e.Reason)
}

// OpenBundle unpacks the bundle at path into a new temporary directory and
// returns it, with a function that removes it. See ExtractBundle for what is
// refused; on error nothing is left behind.
func OpenBundle(p string) (dir string, cleanup func(), err error) {
	f, err := os.Open(p)
	if err != nil {
		return "", nil, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	dir, err = os.MkdirTemp("", "creditx-audit-bundle-*")
	if err != nil {
		return "", nil, fmt.Errorf("audit: %w", err)
	}
	cleanup = func() { os.RemoveAll(dir) }
	if err := ExtractBundle(f, dir); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("%s: %w", p, err)
	}
	return dir, cleanup, nil
}

// ExtractBundle unpacks a bundle (format: WriteBundle) from r into the
// existing directory dst. It refuses, with a *BundleError: a stream that is
// not gzip or tar; a first member other than the v1 format file; member
// names that are absolute, contain "..", backslashes, empty or "."
// elements, or repeat; members that are not regular files or directories
// (links, devices); and bundles over the Max* limits. Files are created
// with O_EXCL, so nothing outside dst is written.
func ExtractBundle(r io.Reader, dst string) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return &BundleError{Reason: "not gzip: " + err.Error()}
	}
	tr := tar.NewReader(zr)
	seen := map[string]bool{}
	var total int64
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if n == 0 {
				return &BundleError{Reason: "empty archive"}
			}
			return nil
		}
		if err != nil {
			return &BundleError{Reason: "not a tar archive: " + err.Error()}
		}
		if n >= MaxBundleFiles {
			return &BundleError{Reason: fmt.Sprintf("more than %d members", MaxBundleFiles)}
		}
		name := strings.TrimSuffix(h.Name, "/")
		if err := checkMemberName(name); err != nil {
			return &BundleError{Member: h.Name, Reason: err.Error()}
		}
		if seen[name] {
			return &BundleError{Member: h.Name, Reason: "appears twice"}
		}
		seen[name] = true
		if n == 0 {
			if name != bundleFormatFile || h.Typeflag != tar.TypeReg || h.Size != int64(len(bundleFormatV1)) {
				return &BundleError{Member: h.Name, Reason: "first member must be " + bundleFormatFile + " (format v1)"}
			}
			b, err := io.ReadAll(tr)
			if err != nil || string(b) != bundleFormatV1 {
				return &BundleError{Member: h.Name, Reason: fmt.Sprintf("unknown format line %q", b)}
			}
			continue
		}
		target := filepath.Join(dst, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("audit: bundle: %w", err)
			}
			continue
		case tar.TypeReg:
		default:
			return &BundleError{Member: h.Name, Reason: fmt.Sprintf("type %q is not a regular file or directory", h.Typeflag)}
		}
		if h.Size < 0 || h.Size > MaxBundleFileBytes {
			return &BundleError{Member: h.Name, Reason: fmt.Sprintf("size %d over the limit %d", h.Size, MaxBundleFileBytes)}
		}
		if total += h.Size; total > MaxBundleBytes {
			return &BundleError{Member: h.Name, Reason: fmt.Sprintf("bundle over %d bytes", int64(MaxBundleBytes))}
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fmt.Errorf("audit: bundle: %w", err)
		}
		f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return &BundleError{Member: h.Name, Reason: err.Error()}
		}
		_, cerr := io.Copy(f, tr)
		if err := f.Close(); cerr == nil {
			cerr = err
		}
		if cerr != nil {
			return &BundleError{Member: h.Name, Reason: "truncated: " + cerr.Error()}
		}
	}
}

func checkMemberName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case strings.HasPrefix(name, "/"):
		return errors.New("absolute path")
	case strings.ContainsAny(name, "\\\x00:"):
		return errors.New("backslash, colon or NUL in name")
	}
	for _, el := range strings.Split(name, "/") {
		if el == "" || el == "." || el == ".." {
			return fmt.Errorf("path element %q", el)
		}
	}
	return nil
}
