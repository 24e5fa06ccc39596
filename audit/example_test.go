package audit

import (
	"context"
	"fmt"
	"os"
	"time"
)

// exampleT lets the Example build a ledger with the test builders.
type exampleT struct{ dirs []string }

func (*exampleT) Helper()                           {}
func (*exampleT) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (*exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (e *exampleT) TempDir() string {
	d, err := os.MkdirTemp("", "audit-example-")
	if err != nil {
		panic(err)
	}
	e.dirs = append(e.dirs, d)
	return d
}

// ExampleRun audits an exported ledger (as "creditx export" writes it,
// with the trust.yaml of "creditx ledger gen" beside it) and reads the
// verdict, the size verified and the closed loop.
func ExampleRun() {
	et := &exampleT{}
	defer func() {
		for _, d := range et.dirs {
			os.RemoveAll(d)
		}
	}()
	dir := et.TempDir()
	writeSingleLedger(et, dir, 20) // a governance record and 20 signed listings

	in, err := FromDir(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := Run(context.Background(), in, Options{At: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		fmt.Println(err) // an *IntegrityError names the first failing entry
		return
	}
	fmt.Println("ok:", rep.OK)
	fmt.Println("entries:", rep.Entries)
	fmt.Println("listings:", rep.Loop.Listings, "notices:", rep.Loop.Notices)
	// Output:
	// ok: true
	// entries: 21
	// listings: 20 notices: 0
}

// ExampleWriteBundle packs an audit directory into one file and audits it
// from there, as an auditor who took the bundle away would.
func ExampleWriteBundle() {
	et := &exampleT{}
	defer func() {
		for _, d := range et.dirs {
			os.RemoveAll(d)
		}
	}()
	dir := et.TempDir()
	writeSingleLedger(et, dir, 5)

	path := dir + ".tar.gz"
	f, _ := os.Create(path)
	if err := WriteBundle(f, dir); err != nil {
		fmt.Println(err)
		return
	}
	f.Close()
	defer os.Remove(path)

	unpacked, cleanup, err := OpenBundle(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cleanup()
	in, _ := FromDir(unpacked)
	rep, err := Run(context.Background(), in, Options{})
	fmt.Println("ok:", err == nil && rep.OK, "entries:", rep.Entries)
	// Output: ok: true entries: 6
}
