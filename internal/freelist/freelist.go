// Package freelist keeps a few reusable values (buffers, gzip readers and
// writers) across uses and across garbage collections, which a sync.Pool
// does not: a collection empties a pool, and with 45 members in one
// process collecting every 2 s the pools were empty at most uses (issue
// 20). A List keeps at most Max values; what is put beyond them is left to
// the collector. Safe for concurrent use; the zero value is ready.
package freelist

import "sync"

// Max is how many values a List keeps: the uses here have a few in
// flight at once (a member's requests, concurrent compressions of one
// level), and each kept value is up to ~1 MB.
const Max = 2

// List keeps at most Max values of T, the last put taken first.
type List[T any] struct {
	mu    sync.Mutex
	items []T // guarded by mu
}

// Get returns a kept value and true, or the zero T and false if none.
func (l *List[T]) Get() (T, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var zero T
	n := len(l.items)
	if n == 0 {
		return zero, false
	}
	v := l.items[n-1]
	l.items[n-1] = zero
	l.items = l.items[:n-1]
	return v, true
}

// Put keeps v if fewer than Max are kept.
func (l *List[T]) Put(v T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.items) < Max {
		l.items = append(l.items, v)
	}
}
