package httpx

import (
	"net/http"
	"sync/atomic"
	"time"
)

// Workers runs handlers on a few long-lived goroutines instead of the
// server's fresh goroutine per request. A fresh goroutine starts with a
// small stack, and a handler that reads bbolt, runs the sanctions engine
// and encodes JSON outgrows it: the runtime copies the stack to a larger
// one once or twice per request (runtime.copystack, 12% of the CPU of
// GET /v1/check, issue 21). A worker keeps its grown stack from one
// request to the next (gRPC's server workers exist for the same reason).
//
// A request finds an idle worker, or starts one if fewer than max run, or
// else runs on its own goroutine as before: never a queue, so a handler
// blocked on a slow client holds no other request up. A worker idle for
// the idle duration exits. The handler's goroutine waits for the worker,
// so the ResponseWriter is used by one goroutine at a time, and a panic in
// the handler is raised again on the server's goroutine (net/http's
// recovery and http.ErrAbortHandler apply as without workers).
// Safe for concurrent use.
type Workers struct {
	jobs    chan workerJob // unbuffered: a send succeeds only to an idle worker
	max     int32
	idle    time.Duration
	running atomic.Int32
}

type workerJob struct {
	h    http.Handler
	w    http.ResponseWriter
	r    *http.Request
	done chan any // the handler's panic value, or nil
}

// NewWorkers returns a pool of at most max workers that exit after idle
// without a request.
func NewWorkers(max int, idle time.Duration) *Workers {
	return &Workers{jobs: make(chan workerJob), max: int32(max), idle: idle}
}

// Wrap returns h run on p's workers.
func (p *Workers) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j := workerJob{h: h, w: w, r: r, done: make(chan any, 1)}
		select {
		case p.jobs <- j:
		default:
			if !p.start(j) {
				h.ServeHTTP(w, r)
				return
			}
		}
		if v := <-j.done; v != nil {
			panic(v)
		}
	})
}

// start starts a worker with j as its first request, if fewer than max run.
func (p *Workers) start(j workerJob) bool {
	if p.running.Add(1) > p.max {
		p.running.Add(-1)
		return false
	}
	go p.work(j)
	return true
}

func (p *Workers) work(j workerJob) {
	defer p.running.Add(-1)
	t := time.NewTimer(p.idle)
	defer t.Stop()
	for {
		serve(j)
		t.Reset(p.idle)
		select {
		case j = <-p.jobs:
		case <-t.C:
			return
		}
	}
}

// serve runs one request, handing a panic back to the request's goroutine.
func serve(j workerJob) {
	var v any
	defer func() {
		if r := recover(); r != nil {
			v = r
		}
		j.done <- v
	}()
	j.h.ServeHTTP(j.w, j.r)
}
