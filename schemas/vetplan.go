package schemas

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// The fast path of Validate's field rules (issue 21). validator/v10 checks
// a clean listing in about 9 us, most of it not the rules themselves: each
// field it visits is boxed into an interface (its Valuer check allocates a
// copy of every string and struct), and max=N parses N again on every
// call. vetClean walks a record with a plan built once per struct type from
// the same validate tags and runs the same rules on the reflect values
// directly, allocating nothing.
//
// It only ever answers "clean": when it finds a rule broken, meets a tag it
// does not implement, or a value it cannot judge (a nil pointer with rules
// on it, an interface), it returns false and Validate runs validator/v10
// as before, which then names every problem with its message. So the errors
// a record gets are validator/v10's whatever vetClean decides; what
// vetClean must never do is answer clean for a record validator/v10 would
// refuse. TestVetAgreesWithValidator compares the two on every sample
// record and thousands of mutations of them, and TestVetPlansCoverSamples
// makes sure every record kind has a plan (it takes the fast path).
//
// The rules follow validator/v10 v10.30.6 (traverseField, hasValue, isLte,
// isGte, isOneOf, isUnique) for the tags records use: required, omitempty,
// min, max, oneof, unique, dive, and this package's string tags (checks);
// url, base64 and startswith are delegated to validator/v10 for the one
// string. A struct-level or custom-type function registered on the
// validator would not be seen here: NewValidator registers none.

// vetKind is one rule of a validate tag.
type vetKind uint8

const (
	vetRequired  vetKind = iota
	vetOmitEmpty         // stop here when the value has none (hasValue)
	vetMax               // isLte: runes of a string, length of a slice, value of an integer
	vetMin               // isGte, likewise
	vetOneOf             // a string among set
	vetUnique            // a []string without duplicates
	vetDive              // the rules after it apply to each element of a slice
	vetCustom            // one of Validator.msgs, on a string
	vetVar               // delegated to validator/v10 Var, on a string
)

type vetOp struct {
	kind vetKind
	n    int64    // vetMax, vetMin
	set  []string // vetOneOf
	tag  string   // vetVar: the tag as written
	fn   int      // vetCustom: the index of its tag in vetCustomTags (Validator.vetFns)
}

type vetField struct {
	index int
	ops   []vetOp
}

// vetPlan is a struct type's fields as validator/v10 visits them (every
// exported or embedded field not tagged validate:"-"), with their rules.
type vetPlan struct {
	fields []vetField
	// subs holds the plans of the struct types reachable from this one,
	// by type; shared by every plan built in one buildVetPlan call.
	subs map[reflect.Type]*vetPlan
}

// vetPlans caches a plan per record type; nil: the type has no plan
// (Validate always takes validator/v10). Derived from the types alone.
var vetPlans sync.Map // reflect.Type -> *vetPlan

var stdTimeType = reflect.TypeFor[time.Time]()

func vetPlanFor(t reflect.Type) *vetPlan {
	if p, ok := vetPlans.Load(t); ok {
		return p.(*vetPlan)
	}
	subs := map[reflect.Type]*vetPlan{}
	p := buildVetPlan(t, subs, map[reflect.Type]bool{})
	vetPlans.Store(t, p)
	return p
}

// buildVetPlan plans struct type t, or returns nil if a field of t (or of a
// struct reachable from it) has a rule or a type vetClean does not handle.
func buildVetPlan(t reflect.Type, subs map[reflect.Type]*vetPlan, building map[reflect.Type]bool) *vetPlan {
	if p, ok := subs[t]; ok {
		return p
	}
	if building[t] {
		return nil // a recursive type: not in records
	}
	building[t] = true
	defer delete(building, t)
	p := &vetPlan{subs: subs}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.Anonymous && !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("validate")
		if tag == "-" {
			continue
		}
		ops, ok := parseVetTag(tag, sf.Type)
		if !ok || !planReachable(sf.Type, ops, subs, building) {
			return nil
		}
		p.fields = append(p.fields, vetField{index: i, ops: ops})
	}
	subs[t] = p
	return p
}

// planReachable plans the struct types vetValue descends into from a field
// of type t with rules ops, reporting false when one has no plan.
func planReachable(t reflect.Type, ops []vetOp, subs map[reflect.Type]*vetPlan, building map[reflect.Type]bool) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for _, op := range ops {
		if op.kind == vetDive {
			return planReachable(t.Elem(), nil, subs, building) // ops after dive were checked against the element
		}
	}
	if t.Kind() == reflect.Struct && !t.ConvertibleTo(stdTimeType) {
		return buildVetPlan(t, subs, building) != nil
	}
	return true
}

// vetCustomTags are the tags of Validator.checks; vetVarTags those
// delegated to validator/v10.
var (
	vetCustomTags = []string{"uscc", "citizen_id", "division", "domain", "subject_type", "idhash", "subject_key",
		"masked_id", "origin", "sha256hex", "keyid", "ed25519pub", "witness_vkey", "vkey", "schema_id"}
	vetVarTags = map[string]bool{"url": true, "base64": true, "startswith": true}
)

// parseVetTag parses the validate tag of a field of type t, reporting
// false for anything outside what vetValue implements for that type.
func parseVetTag(tag string, t reflect.Type) ([]vetOp, bool) {
	if tag == "" {
		return nil, true
	}
	if strings.ContainsAny(tag, "|'") {
		return nil, false
	}
	et := t // the type the current rule applies to, after pointers
	for et.Kind() == reflect.Pointer {
		et = et.Elem()
	}
	var ops []vetOp
	for _, part := range strings.Split(tag, ",") {
		name, param, hasParam := strings.Cut(part, "=")
		op := vetOp{}
		switch {
		case name == "required" && !hasParam:
			op.kind = vetRequired
		case name == "omitempty" && !hasParam:
			op.kind = vetOmitEmpty
		case (name == "max" || name == "min") && hasParam:
			n, err := strconv.ParseInt(param, 10, 64)
			if err != nil || n < 0 {
				return nil, false
			}
			switch et.Kind() {
			case reflect.String, reflect.Slice, reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64:
			default:
				return nil, false
			}
			op.kind, op.n = vetMax, n
			if name == "min" {
				op.kind = vetMin
			}
		case name == "oneof" && hasParam && et.Kind() == reflect.String:
			op.kind, op.set = vetOneOf, strings.Fields(param)
		case name == "unique" && !hasParam && et.Kind() == reflect.Slice && et.Elem().Kind() == reflect.String:
			op.kind = vetUnique
		case name == "dive" && !hasParam && et.Kind() == reflect.Slice:
			op.kind = vetDive
			et = et.Elem()
			for et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
		case slices.Contains(vetCustomTags, name) && !hasParam && et.Kind() == reflect.String:
			op.kind, op.fn = vetCustom, slices.Index(vetCustomTags, name)
		case vetVarTags[name] && et.Kind() == reflect.String:
			op.kind, op.tag = vetVar, part
		default:
			return nil, false
		}
		ops = append(ops, op)
	}
	if et.Kind() == reflect.Interface || et.Kind() == reflect.Map {
		return nil, false // rules on what an interface or map holds: not in records
	}
	return ops, true
}

// vetClean reports whether validator/v10 finds nothing wrong with r's
// fields; false means "not known", and Validate asks validator/v10.
func (val *Validator) vetClean(r Record) bool {
	v := reflect.ValueOf(r)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return false
	}
	v = v.Elem()
	p := vetPlanFor(v.Type())
	return p != nil && val.vetStruct(p, v)
}

func (val *Validator) vetStruct(p *vetPlan, v reflect.Value) bool {
	for i := range p.fields {
		f := &p.fields[i]
		if !val.vetValue(p, v.Field(f.index), f.ops) {
			return false
		}
	}
	return true
}

// vetValue is validator/v10's traverseField for a value v with rules ops.
func (val *Validator) vetValue(p *vetPlan, v reflect.Value, ops []vetOp) bool {
	viaPtr := false
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			// validator/v10: a nil pointer passes with no rules or omitempty
			// first; with any other rule it is an error (required) or a rule
			// run on nil, which vetValue does not judge.
			return len(ops) == 0 || ops[0].kind == vetOmitEmpty
		}
		v, viaPtr = v.Elem(), true
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Map, reflect.Invalid:
		return len(ops) == 0 && v.Kind() != reflect.Interface
	}
	for i, op := range ops {
		switch op.kind {
		case vetOmitEmpty:
			if !vetHasValue(v, viaPtr) {
				return true
			}
		case vetRequired:
			if !vetHasValue(v, viaPtr) {
				return false
			}
		case vetMax, vetMin:
			var n int64
			switch v.Kind() {
			case reflect.String:
				if op.kind == vetMax {
					n = vetRunesUpTo(v.String(), op.n)
				} else {
					n = int64(utf8.RuneCountInString(v.String()))
				}
			case reflect.Slice:
				n = int64(v.Len())
			case reflect.Int, reflect.Int64:
				n = v.Int()
			case reflect.Uint, reflect.Uint64:
				u := v.Uint()
				if u > 1<<62 {
					return false
				}
				n = int64(u)
			default:
				return false
			}
			if op.kind == vetMax && n > op.n || op.kind == vetMin && n < op.n {
				return false
			}
		case vetOneOf:
			if !vetContains(op.set, v.String()) {
				return false
			}
		case vetUnique:
			if !vetUniqueStrings(v) {
				return false
			}
		case vetCustom:
			if fn := val.vetFns[op.fn]; fn == nil || fn(v.String()) != "" {
				return false
			}
		case vetVar:
			if val.v.Var(v.String(), op.tag) != nil {
				return false
			}
		case vetDive:
			rest := ops[i+1:]
			for j := 0; j < v.Len(); j++ {
				if !val.vetValue(p, v.Index(j), rest) {
					return false
				}
			}
			return true
		}
	}
	if v.Kind() == reflect.Struct && !v.Type().ConvertibleTo(stdTimeType) {
		sub := p.subs[v.Type()]
		return sub != nil && val.vetStruct(sub, v)
	}
	return true
}

// vetRunesUpTo is the number of runes of s as far as max=limit needs it:
// len(s) when that is within limit (a string has at most as many runes as
// bytes, so the rune count is too), else the count.
func vetRunesUpTo(s string, limit int64) int64 {
	if int64(len(s)) <= limit {
		return int64(len(s))
	}
	return int64(utf8.RuneCountInString(s))
}

// vetHasValue is validator/v10's hasValue: a pointer's target always has
// one; a slice has one when not nil; anything else when not the zero value.
func vetHasValue(v reflect.Value, viaPtr bool) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Func:
		return !v.IsNil()
	}
	return viaPtr || !v.IsZero()
}

func vetContains(set []string, s string) bool {
	for _, x := range set {
		if x == s {
			return true
		}
	}
	return false
}

// vetUniqueStrings reports whether the []string v has no duplicates
// (quadratic: the lists with a unique rule have at most 32 entries).
func vetUniqueStrings(v reflect.Value) bool {
	n := v.Len()
	if n > 64 {
		return false // not judged here
	}
	for i := 1; i < n; i++ {
		s := v.Index(i).String()
		for j := 0; j < i; j++ {
			if v.Index(j).String() == s {
				return false
			}
		}
	}
	return true
}
