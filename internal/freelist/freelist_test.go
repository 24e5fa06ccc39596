package freelist

import (
	"runtime"
	"testing"
)

// TestListKeepsAtMostMaxAcrossGC: Max values put are kept through garbage
// collections and given back last first; one more is not kept.
func TestListKeepsAtMostMaxAcrossGC(t *testing.T) {
	var l List[*int]
	if _, ok := l.Get(); ok {
		t.Fatal("an empty list gave a value")
	}
	put := make([]*int, Max+1)
	for i := range put {
		put[i] = new(int)
		l.Put(put[i]) // the last is over the bound: dropped
	}
	runtime.GC()
	runtime.GC()
	for i := Max - 1; i >= 0; i-- {
		if v, ok := l.Get(); !ok || v != put[i] {
			t.Fatalf("Get = %p, %v; want value %d (%p)", v, ok, i, put[i])
		}
	}
	if v, ok := l.Get(); ok {
		t.Fatalf("a value beyond Max was kept: %p", v)
	}
}
