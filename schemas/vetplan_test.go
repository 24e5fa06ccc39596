package schemas

import (
	"reflect"
	"strings"
	"testing"
)

// TestVetPlansCoverSamples: every record kind takes the fast path of
// Validate when it is clean (a kind without a plan would silently cost
// validator/v10's full price again).
func TestVetPlansCoverSamples(t *testing.T) {
	val := NewValidator(nil)
	for _, r := range allSamples() {
		if vetPlanFor(reflect.TypeOf(r).Elem()) == nil {
			t.Errorf("%T has no validation plan", r)
			continue
		}
		if !val.vetClean(r) {
			t.Errorf("%s: the sample is not clean by vetClean", r.SchemaID())
		}
	}
}

// vetMutations are the values a mutated field of each kind takes.
var vetStringMutations = []string{"", "x", strings.Repeat("x", 5000), strings.Repeat("é", 201),
	strings.Repeat("é", 100), "not a valid value", "https://example.org/x", "http://example.org/x",
	"aGVsbG8=", "aGVsbG8", "listing/v1", "environment", "publish", "enterprise", "330000",
	"91110000600037341L", "h1:" + strings.Repeat("a", 64), strings.Repeat("a", 64), strings.Repeat("a", 16)}

// mutateAt applies mutation m to the target-th value of v in a
// depth-first walk (n counts the values visited). It reports whether it
// reached target with a mutation m for that value's kind.
func mutateAt(v reflect.Value, target, m int, n *int) (done, applied bool) {
	if *n == target {
		return true, mutateValue(v, m)
	}
	*n++
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			return mutateAt(v.Elem(), target, m, n)
		}
	case reflect.Struct:
		if v.Type().ConvertibleTo(stdTimeType) {
			return false, false
		}
		for i := 0; i < v.NumField(); i++ {
			if !v.Type().Field(i).IsExported() {
				continue
			}
			if done, applied := mutateAt(v.Field(i), target, m, n); done {
				return done, applied
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return false, false
		}
		for i := 0; i < v.Len(); i++ {
			if done, applied := mutateAt(v.Index(i), target, m, n); done {
				return done, applied
			}
		}
	}
	return false, false
}

func mutateValue(v reflect.Value, m int) bool {
	if !v.CanSet() {
		return false
	}
	switch v.Kind() {
	case reflect.String:
		if m >= len(vetStringMutations) {
			return false
		}
		v.SetString(vetStringMutations[m])
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		vals := []uint64{0, 1, 1948, 1949, 9998, 9999, 1 << 63}
		if m >= len(vals) {
			return false
		}
		v.SetUint(vals[m])
	case reflect.Int, reflect.Int64, reflect.Int32:
		vals := []int64{0, 1, -1, 1948, 1949, 9998, 9999}
		if m >= len(vals) {
			return false
		}
		v.SetInt(vals[m])
	case reflect.Bool:
		if m > 0 {
			return false
		}
		v.SetBool(!v.Bool())
	case reflect.Pointer:
		switch m {
		case 0:
			v.SetZero()
		case 1:
			v.Set(reflect.New(v.Type().Elem()))
		default:
			return false
		}
	case reflect.Struct:
		if m > 0 {
			return false
		}
		v.SetZero()
	case reflect.Slice:
		switch m {
		case 0:
			v.SetZero()
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		case 2: // a duplicate of the first element
			if v.Len() == 0 {
				return false
			}
			v.Set(reflect.Append(v, v.Index(0)))
		case 3: // far too many
			if v.Len() == 0 {
				return false
			}
			s := v
			for s.Len() < 70 {
				s = reflect.Append(s, v.Index(0))
			}
			v.Set(s)
		case 4: // one zero element
			v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
		case 5: // one element only
			if v.Len() < 2 {
				return false
			}
			v.Set(v.Slice(0, 1))
		default:
			return false
		}
	default:
		return false
	}
	return true
}

// TestVetAgreesWithValidator: vetClean answers clean only for records
// validator/v10 finds nothing wrong with (the property Validate relies
// on), and, on every sample and single-field mutation of it, it also
// answers clean whenever validator/v10 does (else the fast path is lost
// for that case). A mutation is one value of the record (a string, an
// integer, a pointer, a slice, a struct) replaced by an empty, invalid,
// too long or duplicated one.
func TestVetAgreesWithValidator(t *testing.T) {
	val := NewValidator(nil)
	checked, refused := 0, 0
	for k := range allSamples() {
		for target := 0; ; target++ {
			reached := false
			for m := 0; ; m++ {
				r := allSamples()[k]
				n := 0
				done, applied := mutateAt(reflect.ValueOf(r), target, m, &n)
				if !done {
					break
				}
				reached = true
				if !applied {
					if m > 8 {
						break
					}
					continue
				}
				checked++
				fast := val.vetClean(r)
				slow := val.v.Struct(r)
				if slow != nil {
					refused++
				}
				if fast && slow != nil {
					t.Errorf("%s value %d mutation %d: vetClean says clean, validator/v10: %v", r.SchemaID(), target, m, slow)
				}
				if !fast && slow == nil {
					t.Errorf("%s value %d mutation %d: validator/v10 finds nothing, vetClean does not answer clean", r.SchemaID(), target, m)
				}
			}
			if !reached {
				break
			}
		}
	}
	if checked < 1000 || refused == 0 || refused == checked {
		t.Fatalf("checked %d mutations, %d refused: the walk is broken", checked, refused)
	}
	t.Logf("checked %d mutations, %d refused by validator/v10", checked, refused)
}

// TestPlaintextCleanAgrees: CheckPlaintext's path-free walk (plaintextClean)
// answers clean exactly when the full walk finds nothing, on every sample
// and on every string of it replaced by personal data, a bad mask or a bad
// sealed value.
func TestPlaintextCleanAgrees(t *testing.T) {
	bad := []string{"法定代表人11010519491231002X伪造", "call 13912345678", "张三丰", "110105********002X",
		"aGVsbG8gd29ybGQ=", "１１０１０５１９４９１２３１００２X", "fine text", ""}
	checked, found := 0, 0
	for k := range allSamples() {
		for target := 0; ; target++ {
			reached := false
			for m := range bad {
				r := allSamples()[k]
				n := 0
				v := reflect.ValueOf(r)
				done, _ := mutateAt(v, target, 0, &n) // find the value
				if !done {
					break
				}
				reached = true
				r = allSamples()[k]
				n = 0
				if !setStringAt(reflect.ValueOf(r), target, bad[m], &n) {
					break
				}
				checked++
				var full ValidationErrors
				walkStrings(reflect.ValueOf(r), "", "", func(path, key, s string) {
					if rule, msg := plaintextProblem(key, s); rule != "" {
						full = append(full, FieldError{path, rule, msg})
					}
				})
				if len(full) > 0 {
					found++
				}
				if clean := plaintextClean(reflect.ValueOf(r), ""); clean != (len(full) == 0) {
					t.Errorf("%s value %d = %q: plaintextClean %v, full walk %v", r.SchemaID(), target, bad[m], clean, full)
				}
				if got := CheckPlaintext(r); len(got) != len(full) {
					t.Errorf("%s value %d = %q: CheckPlaintext %v, full walk %v", r.SchemaID(), target, bad[m], got, full)
				}
			}
			if !reached {
				break
			}
		}
	}
	if checked < 200 || found == 0 {
		t.Fatalf("checked %d strings, %d with findings: the walk is broken", checked, found)
	}
	t.Logf("checked %d strings, %d with findings", checked, found)
}

// setStringAt sets the target-th value of v (mutateAt's order) to s if it
// is a settable string.
func setStringAt(v reflect.Value, target int, s string, n *int) bool {
	ok := false
	var set func(v reflect.Value) bool
	set = func(v reflect.Value) bool {
		if *n == target {
			if v.Kind() == reflect.String && v.CanSet() {
				v.SetString(s)
				ok = true
			}
			return true
		}
		*n++
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				return set(v.Elem())
			}
		case reflect.Struct:
			if v.Type().ConvertibleTo(stdTimeType) {
				return false
			}
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() && set(v.Field(i)) {
					return true
				}
			}
		case reflect.Slice:
			if v.Type().Elem().Kind() == reflect.Uint8 {
				return false
			}
			for i := 0; i < v.Len(); i++ {
				if set(v.Index(i)) {
					return true
				}
			}
		}
		return false
	}
	set(v)
	return ok
}

// FuzzVetAgreesWithValidator: for any record that decodes, vetClean
// answers clean only when validator/v10 finds nothing wrong, and whenever
// it does (the seeds are the sample records' encodings).
func FuzzVetAgreesWithValidator(f *testing.F) {
	for _, r := range allSamples() {
		b, err := Encode(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	val := NewValidator(nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err != nil {
			return
		}
		fast, slow := val.vetClean(r), val.v.Struct(r)
		if fast && slow != nil {
			t.Fatalf("vetClean says clean, validator/v10: %v", slow)
		}
		if !fast && slow == nil {
			t.Fatalf("validator/v10 finds nothing, vetClean does not answer clean")
		}
	})
}

// TestVetCustomTagsAreChecks: vetCustomTags lists exactly the string tags
// of Validator.checks (a tag missing there would send every record using
// it to validator/v10; one missing from checks has no function).
func TestVetCustomTagsAreChecks(t *testing.T) {
	val := NewValidator(nil)
	if len(vetCustomTags) != len(val.msgs) {
		t.Errorf("vetCustomTags has %d tags, checks %d", len(vetCustomTags), len(val.msgs))
	}
	for i, tag := range vetCustomTags {
		if val.msgs[tag] == nil || val.vetFns[i] == nil {
			t.Errorf("tag %s has no check", tag)
		}
	}
}
