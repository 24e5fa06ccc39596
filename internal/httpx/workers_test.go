package httpx

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestWorkersServe: a wrapped handler answers as unwrapped, and its
// worker stays for the next requests (it exits only when idle).
func TestWorkersServe(t *testing.T) {
	p := NewWorkers(1, time.Minute)
	h := p.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		w.Write([]byte(r.URL.Query().Get("q")))
	}))
	for _, q := range []string{"a", "b", "c"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/?q="+q, nil))
		if rec.Code != http.StatusTeapot || rec.Body.String() != q {
			t.Fatalf("answer %d %q, want 418 %q", rec.Code, rec.Body.String(), q)
		}
	}
	if n := p.running.Load(); n != 1 {
		t.Errorf("%d workers run after three requests, want 1 (kept)", n)
	}
}

// TestWorkersNoQueue: with every worker busy, a request runs on its own
// goroutine at once instead of waiting for a worker.
func TestWorkersNoQueue(t *testing.T) {
	p := NewWorkers(1, time.Minute)
	release := make(chan struct{})
	var once sync.Once
	started := make(chan struct{})
	h := p.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			once.Do(func() { close(started) })
			<-release
		}
		w.Write([]byte("ok"))
	}))
	done := make(chan struct{})
	go func() {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/block", nil))
		close(done)
	}()
	<-started
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/free", nil)) // would block forever if queued
	if rec.Body.String() != "ok" {
		t.Fatalf("second request answered %q", rec.Body.String())
	}
	close(release)
	<-done
}

// TestWorkersPanic: a handler's panic is raised again on the request's
// goroutine with its own value (net/http's recovery and ErrAbortHandler
// work as without workers), and the worker survives it.
func TestWorkersPanic(t *testing.T) {
	p := NewWorkers(1, time.Minute)
	h := p.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic(http.ErrAbortHandler)
		}
		w.Write([]byte("ok"))
	}))
	func() {
		defer func() {
			v := recover()
			if err, ok := v.(error); !ok || !errors.Is(err, http.ErrAbortHandler) {
				t.Errorf("recovered %v, want http.ErrAbortHandler", v)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/panic", nil))
	}()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Body.String() != "ok" {
		t.Fatalf("after a panic: %q", rec.Body.String())
	}
	if n := p.running.Load(); n != 1 {
		t.Errorf("%d workers run after a panic, want 1 (it survived)", n)
	}
}

// TestWorkersIdleExit: a worker idle for the idle duration exits.
func TestWorkersIdleExit(t *testing.T) {
	p := NewWorkers(4, 10*time.Millisecond)
	p.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	for deadline := time.Now().Add(5 * time.Second); p.running.Load() != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%d workers still run after 5 s idle", p.running.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
