package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPlansCoverKnownSchemas(t *testing.T) {
	for _, id := range KnownSchemas() {
		if p, _ := planFor(newRecord(id)); p == nil {
			t.Errorf("%s has no plan: its records take the slow general path", id)
		}
	}
	for _, r := range allSamples() {
		if _, ok := encodeFast(nil, r); !ok {
			t.Errorf("%s: sample not encoded by the fast path", r.SchemaID())
		}
		b, err := Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		if decodeFast(b) == nil {
			t.Errorf("%s: sample not decoded by the fast path", r.SchemaID())
		}
	}
}

// sameError reports whether two errors are both nil, or both non-nil with
// the same message and the same answer to errors.Is(ErrUnknownSchema).
func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Error() == b.Error() && errors.Is(a, ErrUnknownSchema) == errors.Is(b, ErrUnknownSchema)
}

// checkEncodeSame compares Encode with the reference, then Decode of the
// result with the reference.
func checkEncodeSame(t *testing.T, name string, r Record) {
	t.Helper()
	got, err := Encode(r)
	want, wantErr := refEncode(r)
	if !bytes.Equal(got, want) || !sameError(err, wantErr) {
		t.Fatalf("%s: Encode = %q, %v\nreference  %q, %v", name, got, err, want, wantErr)
	}
	prefix := []byte("header")
	app, appErr := AppendEncode(prefix, r)
	if !sameError(appErr, err) || !bytes.Equal(app[:len(prefix)], prefix) || (err == nil && !bytes.Equal(app[len(prefix):], got)) || (err != nil && len(app) != len(prefix)) {
		t.Fatalf("%s: AppendEncode = %q, %v; Encode %q, %v", name, app, appErr, got, err)
	}
	if err == nil {
		checkDecodeSame(t, name, got)
	}
}

func checkDecodeSame(t *testing.T, name string, b []byte) {
	t.Helper()
	got, err := Decode(b)
	want, wantErr := refDecode(b)
	if !sameError(err, wantErr) || !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: Decode(%q) = %+v, %v\nreference %+v, %v", name, b, got, err, want, wantErr)
	}
}

// edgeRecords are records whose values exercise every way the fast encoder
// can differ from encoding/json: odd strings, empty versus nil, times in
// other zones or with fractions, json.RawMessage in every state.
func edgeRecords() map[string]Record {
	shanghai := time.FixedZone("CST", 8*3600)
	m := map[string]Record{}
	add := func(name string, f func(*Listing)) {
		l := sampleListing()
		f(l)
		m[name] = l
	}
	add("invalid utf8", func(l *Listing) { l.Reason = "a\xffb\xe4\xb8c\xe4\xb8\xad" })
	add("escapes", func(l *Listing) { l.Reason = "\"\\/\b\f\n\r\t\x00\x1f\x7f<>&\u2028\u2029\ufffd𝄞" })
	add("empty strings", func(l *Listing) { l.Reason, l.Subject.Name = "", "" })
	add("nil slices", func(l *Listing) { l.LegalBasis, l.Evidence, l.Subject.ResponsiblePersons = nil, nil, nil })
	add("empty slices", func(l *Listing) {
		l.LegalBasis, l.Evidence, l.Subject.ResponsiblePersons = []LegalBasis{}, []Evidence{}, []ResponsiblePerson{}
	})
	add("zero structs", func(l *Listing) { l.Programme, l.Decision, l.PreNotice = Programme{}, DocRef{}, PreNotice{} })
	add("zero element", func(l *Listing) { l.Evidence = append(l.Evidence, Evidence{}) })
	add("zero subject but empty slice", func(l *Listing) { l.Subject = Subject{ResponsiblePersons: []ResponsiblePerson{}} })
	add("person pointer", func(l *Listing) { l.Subject.Person = &Person{} })
	add("time in another zone", func(l *Listing) { l.CreatedAt = Time{l.CreatedAt.In(shanghai)} })
	add("time fraction", func(l *Listing) { l.CreatedAt = Time{l.CreatedAt.Add(time.Millisecond)} })
	add("zero time", func(l *Listing) { l.CreatedAt = Time{} })
	add("date in another zone", func(l *Listing) { l.ListedOn = Date{time.Date(2026, 2, 25, 0, 0, 0, 0, shanghai)} })
	add("date with clock", func(l *Listing) { l.ListedOn = Date{l.ListedOn.Add(time.Hour)} })
	add("date year 10000", func(l *Listing) { l.ListedOn = NewDate(10000, 1, 1) })
	add("date year -1", func(l *Listing) { l.ListedOn = NewDate(-1, 1, 1) })
	add("too big", func(l *Listing) { l.Reason = strings.Repeat("x", MaxRecordSize) })
	m["nil listing"] = (*Listing)(nil)
	for name, raw := range map[string]string{
		"canonical":       `{"a":[1,-2,true,false,null,"\u2028"],"b":{}}`,
		"unsorted":        `{"b":1,"a":2}`,
		"whitespace":      `{"a": 1}`,
		"float":           `{"a":1.5}`,
		"duplicate":       `{"a":1,"a":2}`,
		"invalid":         `{"a":`,
		"invalid utf8":    "\"\xff\"",
		"literal u2028":   "\"\u2028\"",
		"html escape":     `"\u003c"`,
		"deep 31":         strings.Repeat("[", 31) + strings.Repeat("]", 31),
		"deep 32":         strings.Repeat("[", 32) + strings.Repeat("]", 32),
		"deep 33":         strings.Repeat("[", 33) + strings.Repeat("]", 33),
		"empty":           ``,
		"null":            `null`,
		"trailing":        `{} {}`,
		"not canonical 0": `-0`,
	} {
		c := sampleCorrection()
		c.Replacement = json.RawMessage(raw)
		m["replacement "+name] = c
	}
	rep := sampleRepair()
	rep.Application = &RepairApplication{}
	m["empty application"] = rep
	fb := sampleFeedback()
	fb.Notice.Index = 1<<64 - 1
	m["max index"] = fb
	return m
}

func TestFastPathsMatchReference(t *testing.T) {
	for _, r := range allSamples() {
		checkEncodeSame(t, r.SchemaID(), r)
	}
	for name, r := range edgeRecords() {
		checkEncodeSame(t, name, r)
	}
	good, err := Encode(sampleListing())
	if err != nil {
		t.Fatal(err)
	}
	s := string(good)
	for name, in := range map[string]string{
		"false present":   strings.Replace(s, `"listed_on"`, `"flag":false,"listed_on"`, 1),
		"empty array":     strings.Replace(s, `"evidence":[{"name":"decision.pdf","sha256":"`+testLeafHash+`"}]`, `"evidence":[]`, 1),
		"null field":      strings.Replace(s, `"domain":"environment"`, `"domain":null`, 1),
		"upper-case key":  strings.Replace(s, `"domain"`, `"Domain"`, 1),
		"escaped key":     strings.Replace(s, `"domain"`, `"\u0064omain"`, 1),
		"schema twice":    strings.Replace(s, `"subject":{`, `"subject":{"schema":"listing/v1",`, 1),
		"schema guess":    strings.Replace(s, `"reason":"`, `"reason":"\"schema\":\"feedback/v1\"`, 1),
		"negative number": strings.Replace(s, `"created_at"`, `"count":-5,"created_at"`, 1),
		"trailing space":  s + " ",
		"truncated":       s[:len(s)-1],
	} {
		checkDecodeSame(t, name, []byte(in))
	}
}

// FuzzDecodeDifferential checks that Decode returns exactly what the
// reference implementation returns: the same record or the same error.
func FuzzDecodeDifferential(f *testing.F) {
	for _, r := range allSamples() {
		b, err := Encode(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"schema":"correction/v1","replacement":{"a":[1,{"b":"\u2028"}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecodeSame(t, "fuzz", b)
	})
}

// FuzzEncodeDifferential fills records of several kinds with fuzzed values
// and checks that Encode (and Decode of its output) matches the reference.
func FuzzEncodeDifferential(f *testing.F) {
	f.Add("reason", "杭州\u2028\x00", []byte(`{"schema":"x"}`), uint64(7), int64(1772352000), int64(0), int32(0), uint8(0))
	f.Add("\xff\"", "", []byte(`{"b":1,"a":2}`), uint64(0), int64(-62135596800), int64(5), int32(28800), uint8(0xff))
	f.Fuzz(func(t *testing.T, s1, s2 string, raw []byte, n uint64, sec, nsec int64, offset int32, flags uint8) {
		loc := time.FixedZone("z", int(offset%(26*3600)))
		at := time.Unix(sec, nsec).In(loc)
		bit := func(i uint) bool { return flags&(1<<i) != 0 }

		l := sampleListing()
		l.Reason, l.Subject.Name, l.Remedies = s1, s2, s1+s2
		l.CreatedAt, l.ListedOn = Time{at}, Date{at}
		if bit(0) {
			l.Evidence = []Evidence{}
		}
		if bit(1) {
			l.LegalBasis = append(l.LegalBasis, LegalBasis{Law: s2, Article: s1})
		}
		if bit(2) {
			l.Subject.Person = &Person{IDHash: s1}
		}
		checkEncodeSame(t, "listing", l)

		c := sampleCorrection()
		c.Replacement = raw
		if bit(3) {
			c.Replacement = nil
		}
		checkEncodeSame(t, "correction", c)

		fb := sampleFeedback()
		fb.Notice.Index, fb.Reason, fb.CaseRef, fb.ActedAt = n, s1, s2, Time{at}
		checkEncodeSame(t, "feedback", fb)

		rep := sampleRepair()
		rep.MinPeriodMet = bit(4)
		rep.Effects = []string{s1, s2}
		if bit(5) {
			rep.Application = nil
		}
		if bit(6) {
			rep.Effects = []string{}
		}
		checkEncodeSame(t, "repair", rep)
	})
}

// FuzzParseSignedDifferential checks that ParseSigned returns exactly what
// the reference implementation returns.
func FuzzParseSignedDifferential(f *testing.F) {
	_, priv := testKey(1)
	for _, r := range allSamples() {
		entry, err := Sign(r, priv)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(entry)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ParseSigned(b)
		want, wantErr := refParseSigned(b)
		if !sameError(err, wantErr) || !reflect.DeepEqual(got, want) {
			t.Fatalf("ParseSigned(%q) = %+v, %v\nreference %+v, %v", b, got, err, want, wantErr)
		}
	})
}

// FuzzTimeText checks the hand-written date and time text against the
// time package: parseTimeText agrees with ParseDate and ParseTime wherever
// it answers, and appendTimeText writes what AppendFormat writes.
func FuzzTimeText(f *testing.F) {
	for _, s := range []string{"2026-03-01", "2024-02-29", "2025-02-29", "0000-01-01", "9999-12-31",
		"2026-03-01T08:00:00Z", "2026-03-01T23:59:59Z", "2026-03-01T24:00:00Z", "2026-03-01T08:00:60Z"} {
		f.Add(s, int64(0), int32(0))
	}
	f.Add("", int64(-62167219200), int32(-3600)) // 0000-01-01T00:00:00Z
	f.Add("", int64(253402300800), int32(0))     // 10000-01-01
	f.Fuzz(func(t *testing.T, s string, sec int64, offset int32) {
		for _, clock := range []bool{false, true} {
			got, ok := parseTimeText(s, clock)
			var want time.Time
			var err error
			if clock {
				var v Time
				v, err = ParseTime(s)
				want = v.Time
			} else {
				var v Date
				v, err = ParseDate(s)
				want = v.Time
			}
			if ok && (err != nil || !reflect.DeepEqual(got, want)) {
				t.Fatalf("parseTimeText(%q, %v) = %v, ParseDate/ParseTime = %v, %v", s, clock, got, want, err)
			}
			if !ok && err == nil && len(s) == 10+10*btoi(clock) && s[0] != '-' {
				t.Errorf("parseTimeText(%q, %v) left a plain value to the slow path", s, clock)
			}
		}
		at := time.Unix(sec, 0).In(time.FixedZone("z", int(offset%(26*3600))))
		if got, want := appendTimeText(nil, at, false), at.AppendFormat(nil, dateLayout); !bytes.Equal(got, want) {
			t.Fatalf("appendTimeText(%v, date) = %s, want %s", at, got, want)
		}
		if got, want := appendTimeText(nil, at.UTC(), true), at.UTC().AppendFormat(nil, timeLayout); !bytes.Equal(got, want) {
			t.Fatalf("appendTimeText(%v, time) = %s, want %s", at, got, want)
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestFastPathsConcurrent runs Encode, Decode and ParseSigned from several
// goroutines (the plans and the buffer pool are shared); run with -race.
func TestFastPathsConcurrent(t *testing.T) {
	_, priv := testKey(1)
	recs := allSamples()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				r := recs[(g+i)%len(recs)]
				entry, err := Sign(r, priv)
				if err != nil {
					t.Error(err)
					return
				}
				s, err := ParseSigned(entry)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := s.Decode()
				if err != nil || !reflect.DeepEqual(got, r) {
					t.Errorf("%s: Decode = %v, want the signed record", r.SchemaID(), err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestDecodeStored: DecodeStored gives what Decode gives for every sample's
// canonical encoding.
func TestDecodeStored(t *testing.T) {
	for _, r := range allSamples() {
		b, err := Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeStored(b)
		if err != nil {
			t.Fatalf("%s: %v", r.SchemaID(), err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: DecodeStored %+v, Decode %+v", r.SchemaID(), got, want)
		}
	}
	if _, err := DecodeStored([]byte(`{"schema":"nope/v1"}`)); err == nil {
		t.Error("unknown schema decoded")
	}
}
