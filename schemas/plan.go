package schemas

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
)

// The fast paths of Encode and Decode walk a record's struct fields with a
// plan computed once, at package initialisation, from the json struct tags:
// for each struct type its fields in key order, how each is written and
// when it is omitted. Plans are read-only after init.
//
// A plan reproduces what the general path (encoding/json, then parseJSON and
// appendTo) does for the handful of field types records use. A record type
// with any other field type, a tag option other than omitempty and omitzero,
// or a json.Marshaler of its own gets no plan and always takes the general
// path; TestPlansCoverKnownSchemas makes sure every record of this package
// has one.

// fieldKind says how a field is encoded and decoded.
type fieldKind uint8

const (
	kindSchema  fieldKind = iota // the "schema" member added at the top level
	kindString                   // string
	kindBool                     // bool
	kindUint                     // uint64
	kindTime                     // Time
	kindDate                     // Date
	kindRaw                      // json.RawMessage: canonical JSON, copied as is
	kindStruct                   // struct
	kindPtr                      // pointer to struct
	kindStructs                  // slice of struct
	kindStrings                  // []string
)

type fieldPlan struct {
	name      string // JSON key
	key       string // `"name":`
	index     []int  // reflect field index, through embedded structs
	kind      fieldKind
	omitEmpty bool     // omitempty: "", false, 0, nil, empty slice
	omitZero  bool     // omitzero: IsZero() for Time and Date, else the zero value
	obj       *objPlan // for kindStruct, kindPtr, kindStructs
}

type objPlan struct {
	fields []fieldPlan // sorted by name, no duplicates
}

var (
	timeType    = reflect.TypeFor[Time]()
	dateType    = reflect.TypeFor[Date]()
	rawType     = reflect.TypeFor[json.RawMessage]()
	stringType  = reflect.TypeFor[string]()
	boolType    = reflect.TypeFor[bool]()
	uint64Type  = reflect.TypeFor[uint64]()
	stringsType = reflect.TypeFor[[]string]()
	customTypes = []reflect.Type{ // interfaces that change how encoding/json treats a type
		reflect.TypeFor[json.Marshaler](), reflect.TypeFor[json.Unmarshaler](),
		reflect.TypeFor[encoding.TextMarshaler](), reflect.TypeFor[encoding.TextUnmarshaler](),
		reflect.TypeFor[interface{ IsZero() bool }](),
	}
)

// recordPlans maps the struct type of each record of KnownSchemas to its
// plan, which includes the "schema" member. Read-only after init.
var recordPlans = buildRecordPlans()

func buildRecordPlans() map[reflect.Type]*objPlan {
	plans := make(map[reflect.Type]*objPlan)
	for _, id := range KnownSchemas() {
		t := reflect.TypeOf(newRecord(id)).Elem()
		p := planStruct(t, 0)
		if p == nil || slices.ContainsFunc(p.fields, func(f fieldPlan) bool { return f.name == "schema" }) {
			continue
		}
		p.fields = append(p.fields, fieldPlan{name: "schema", key: `"schema":`, kind: kindSchema})
		slices.SortFunc(p.fields, func(a, b fieldPlan) int { return strings.Compare(a.name, b.name) })
		plans[t] = p
	}
	return plans
}

// planStruct returns the plan of struct type t, or nil if t has a field the
// fast paths do not handle.
func planStruct(t reflect.Type, depth int) *objPlan {
	if depth > 8 || isCustom(t) {
		return nil
	}
	p := &objPlan{}
	if !p.addFields(t, nil, depth) {
		return nil
	}
	slices.SortFunc(p.fields, func(a, b fieldPlan) int { return strings.Compare(a.name, b.name) })
	for i := 1; i < len(p.fields); i++ {
		if p.fields[i].name == p.fields[i-1].name {
			return nil // encoding/json's dominance rules are not reproduced
		}
	}
	return p
}

func isCustom(t reflect.Type) bool {
	for _, it := range customTypes {
		if t.Implements(it) || reflect.PointerTo(t).Implements(it) {
			return true
		}
	}
	return false
}

func (p *objPlan) addFields(t reflect.Type, index []int, depth int) bool {
	for i := range t.NumField() {
		sf := t.Field(i)
		idx := append(slices.Clip(index), i)
		tag, hasTag := sf.Tag.Lookup("json")
		if sf.Anonymous {
			if hasTag || sf.Type.Kind() != reflect.Struct || isCustom(sf.Type) || !p.addFields(sf.Type, idx, depth) {
				return false
			}
			continue
		}
		if !sf.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !isPlainKey(name) {
			return false
		}
		f := fieldPlan{name: name, key: `"` + name + `":`, index: idx}
		for opt := range strings.SplitSeq(opts, ",") {
			switch opt {
			case "":
			case "omitempty":
				f.omitEmpty = true
			case "omitzero":
				f.omitZero = true
			default:
				return false
			}
		}
		if !f.setKind(sf.Type, depth) {
			return false
		}
		p.fields = append(p.fields, f)
	}
	return true
}

// isPlainKey reports whether a json tag name is written as is: [a-z0-9_]+.
func isPlainKey(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}

func (f *fieldPlan) setKind(t reflect.Type, depth int) bool {
	switch {
	case t == timeType:
		f.kind = kindTime
	case t == dateType:
		f.kind = kindDate
	case t == rawType:
		f.kind = kindRaw
	case t == stringType:
		f.kind = kindString
	case t == boolType:
		f.kind = kindBool
	case t == uint64Type:
		f.kind = kindUint
	case t == stringsType:
		f.kind = kindStrings
	case t.Kind() == reflect.Struct:
		f.kind, f.obj = kindStruct, planStruct(t, depth+1)
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct && !isCustom(t):
		f.kind, f.obj = kindPtr, planStruct(t.Elem(), depth+1)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct && !isCustom(t):
		f.kind, f.obj = kindStructs, planStruct(t.Elem(), depth+1)
	default:
		return false
	}
	switch f.kind {
	case kindStruct, kindPtr, kindStructs:
		return f.obj != nil
	}
	return true
}

// omitted reports whether encoding/json leaves field f with value v out.
func (f *fieldPlan) omitted(v reflect.Value) bool {
	switch f.kind {
	case kindSchema:
		return false
	case kindTime:
		return f.omitZero && v.Addr().Interface().(*Time).IsZero()
	case kindDate:
		return f.omitZero && v.Addr().Interface().(*Date).IsZero()
	case kindStruct:
		return f.omitZero && v.IsZero() // omitempty never omits a struct
	}
	// Strings, bools, numbers, pointers and slices: the zero value is empty
	// except for a non-nil empty slice, which only omitempty leaves out.
	return f.omitEmpty && (v.IsZero() || v.Kind() == reflect.Slice && v.Len() == 0) || f.omitZero && v.IsZero()
}

// planFor returns the plan and the addressable struct value of r, or nil.
func planFor(r Record) (*objPlan, reflect.Value) {
	v := reflect.ValueOf(r)
	if r == nil || v.Kind() != reflect.Pointer || v.IsNil() {
		return nil, reflect.Value{}
	}
	return recordPlans[v.Type().Elem()], v.Elem()
}
