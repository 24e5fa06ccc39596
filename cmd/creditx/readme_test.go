package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The README is executable documentation: TestREADME runs every ```sh block
// of ../../README.md, in order, in one temporary directory, against the
// binary built from this package, and fails when a command exits non-zero or
// when a line README shows as its output is not printed.
//
// Conventions a README block follows (see parseReadme):
//   - A line "#   TEXT" (a hash and at least three spaces, alone on its line)
//     is output the preceding commands print: each such line must appear in
//     the block's combined output, in order, as a substring of one line;
//     "..." in TEXT stands for any text (a hash, a time).
//   - An HTML comment on the line before the fence directs the test:
//     <!-- readme-test: skip REASON -->       the block is not run (say why);
//     <!-- readme-test: until TEXT -->        run it, press Ctrl-C (SIGINT to its
//     process group) once its output contains TEXT, expect exit status 0;
//     <!-- readme-test: background TEXT -->   run it in the background (the
//     "second terminal" of the README) and go on once its output contains TEXT;
//     <!-- readme-test: ctrl-c -->            first press Ctrl-C in every
//     background block, expect each to exit 0 and print its expected lines.
//
// What the test changes, and only that: "go run ./cmd/creditx" and
// "go build ... -o FILE ./cmd/creditx" run or copy the binary built once by
// the test (a shell function named go); "/tmp/" becomes the test's temporary
// directory; "127.0.0.1:8443" becomes a free port, and "creditx serve" is given
// --listen with it, so that the test never touches a fixed port or /tmp.
func TestREADME(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every README step (nodes, the demo, a 100k-entry ledger)")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skipf("README steps need bash: %v", err)
	}
	src, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := parseReadme(string(src))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "creditx")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tmp, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(tmp, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	r := &readmeRunner{t: t, bin: bin, dir: work, rewrites: strings.NewReplacer(
		"/tmp/", tmp+"/",
		"127.0.0.1:8443", "127.0.0.1:"+port,
		"creditx serve", "creditx serve --listen 127.0.0.1:"+port,
	)}
	t.Cleanup(r.killAll)
	ran := 0
	for _, b := range blocks {
		if b.skip != "" {
			t.Logf("README line %d: skipped (%s)", b.line, b.skip)
			continue
		}
		if b.ctrlC {
			r.stopBackground()
		}
		if tool := missingTool(b.script); tool != "" {
			t.Logf("README line %d: skipped (no %s on this machine)", b.line, tool)
			continue
		}
		if t.Failed() {
			return
		}
		r.run(b)
		ran++
	}
	r.stopBackground()
	if ran < 4 {
		t.Errorf("only %d README blocks ran; the markers skip too much", ran)
	}
}

// readmeBlock is one ```sh block of the README.
type readmeBlock struct {
	line       int      // line of the opening fence, for messages
	script     string   // the block's text
	expect     []string // lines the block's output must contain, in order
	skip       string   // reason not to run it
	until      string   // stop with SIGINT once the output contains this
	background string   // run in the background until the output contains this
	ctrlC      bool     // stop the background blocks before this one
}

// parseReadme returns the sh blocks of a Markdown text with their markers.
func parseReadme(md string) ([]readmeBlock, error) {
	var out []readmeBlock
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		fence := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(fence, "```") {
			continue
		}
		lang := strings.TrimPrefix(fence, "```")
		start := i
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, lines[i])
		}
		if i == len(lines) {
			return nil, fmt.Errorf("README line %d: unterminated code block", start+1)
		}
		if lang != "sh" && lang != "bash" && lang != "shell" {
			continue
		}
		b := readmeBlock{line: start + 1, script: strings.Join(body, "\n") + "\n"}
		for _, l := range body {
			if t := strings.TrimSpace(l); strings.HasPrefix(t, "#   ") {
				b.expect = append(b.expect, strings.TrimSpace(t[1:]))
			}
		}
		prev := ""
		for j := start - 1; j >= 0; j-- {
			if prev = strings.TrimSpace(lines[j]); prev != "" {
				break
			}
		}
		if d, ok := strings.CutPrefix(prev, "<!-- readme-test:"); ok {
			d = strings.TrimSpace(strings.TrimSuffix(d, "-->"))
			verb, arg, _ := strings.Cut(d, " ")
			arg = strings.TrimSpace(arg)
			switch verb {
			case "skip":
				b.skip = arg
			case "until":
				b.until = arg
			case "background":
				b.background = arg
			case "ctrl-c":
				b.ctrlC = true
			default:
				return nil, fmt.Errorf("README line %d: unknown readme-test marker %q", start, d)
			}
			if (verb != "ctrl-c") == (arg == "") {
				return nil, fmt.Errorf("README line %d: marker %q: skip, until and background take an argument, ctrl-c none", start, d)
			}
		}
		out = append(out, b)
	}
	return out, nil
}

// matchExpected checks that every expected line occurs, in order, within a
// distinct line of out; "..." matches any text. It returns the first expected
// line not found.
func matchExpected(out string, expect []string) (string, bool) {
	lines := strings.Split(out, "\n")
	k := 0
	for _, e := range expect {
		parts := strings.Split(e, "...")
		found := false
		for ; k < len(lines) && !found; k++ {
			found = containsInOrder(lines[k], parts)
		}
		if !found {
			return e, false
		}
	}
	return "", true
}

func containsInOrder(s string, parts []string) bool {
	for _, p := range parts {
		i := strings.Index(s, strings.TrimSpace(p))
		if i < 0 {
			return false
		}
		s = s[i+len(strings.TrimSpace(p)):]
	}
	return true
}

// readmeShellPrelude makes "go run ./cmd/creditx" and "go build -o FILE
// ./cmd/creditx" use the binary the test built; any other go command fails,
// since the blocks run outside the module.
const readmeShellPrelude = `set -e -o pipefail
go() {
	if [ "$1" = run ] && [ "$2" = ./cmd/creditx ]; then shift 2; "$CREDITX_BIN" "$@"; return; fi
	if [ "$1" = build ]; then
		local o="" prev="" a
		for a in "$@"; do [ "$prev" = -o ] && o=$a; prev=$a; done
		if [ "$prev" = ./cmd/creditx ] && [ -n "$o" ]; then mkdir -p "$(dirname "$o")"; cp "$CREDITX_BIN" "$o"; return; fi
	fi
	echo "readme test: go $* is not supported here" >&2; return 1
}
`

type readmeRunner struct {
	t        *testing.T
	bin, dir string
	rewrites *strings.Replacer
	bg       []*readmeProc
}

type readmeProc struct {
	b    readmeBlock
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
}

func (r *readmeRunner) start(b readmeBlock) *readmeProc {
	script := readmeShellPrelude + r.rewrites.Replace(b.script)
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "CREDITX_BIN="+r.bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &readmeProc{b: b, cmd: cmd, out: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("README line %d: %v", b.line, err)
	}
	go func() { p.done <- cmd.Wait() }()
	return p
}

// waitFor waits until p's output contains text, or p exits, or 2 minutes pass.
func (p *readmeProc) waitFor(text string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(p.out.String(), text) {
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("exited (%v) before printing %q", err, text)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("did not print %q within 2 minutes", text)
		}
	}
	return nil
}

// interrupt sends SIGINT to p's process group, as Ctrl-C in a terminal does,
// and waits for it to exit.
func (p *readmeProc) interrupt() error {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGINT)
	select {
	case err := <-p.done:
		return err
	case <-time.After(30 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("still running 30 s after Ctrl-C")
	}
}

func (r *readmeRunner) run(b readmeBlock) {
	t := r.t
	p := r.start(b)
	switch {
	case b.background != "":
		if err := p.waitFor(b.background); err != nil {
			t.Errorf("README line %d (background): %v\n%s", b.line, err, p.out)
		}
		r.bg = append(r.bg, p)
		return
	case b.until != "":
		if err := p.waitFor(b.until); err != nil {
			t.Errorf("README line %d: %v\n%s", b.line, err, p.out)
			p.interrupt()
			return
		}
		if err := p.interrupt(); err != nil {
			t.Errorf("README line %d: after Ctrl-C: %v\n%s", b.line, err, p.out)
			return
		}
	default:
		select {
		case err := <-p.done:
			if err != nil {
				t.Errorf("README line %d: %v\n%s", b.line, err, p.out)
				return
			}
		case <-time.After(5 * time.Minute):
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
			t.Errorf("README line %d: still running after 5 minutes\n%s", b.line, p.out)
			return
		}
	}
	r.checkOutput(p)
}

func (r *readmeRunner) checkOutput(p *readmeProc) {
	if miss, ok := matchExpected(p.out.String(), p.b.expect); !ok {
		r.t.Errorf("README line %d says the output contains\n\t%s\nbut the commands printed:\n%s", p.b.line, miss, p.out)
	} else {
		r.t.Logf("README line %d: ok", p.b.line)
	}
}

func (r *readmeRunner) stopBackground() {
	for _, p := range r.bg {
		if err := p.interrupt(); err != nil {
			r.t.Errorf("README line %d (background): after Ctrl-C: %v\n%s", p.b.line, err, p.out)
			continue
		}
		r.checkOutput(p)
	}
	r.bg = nil
}

func (r *readmeRunner) killAll() {
	for _, p := range r.bg {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// missingTool returns an external tool the script runs that is not
// installed, or "".
func missingTool(script string) string {
	for _, tool := range []string{"curl", "openssl", "docker", "docker-compose"} {
		if strings.Contains(script, tool+" ") {
			if _, err := exec.LookPath(tool); err != nil {
				return tool
			}
		}
	}
	return ""
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// TestReadmeParse pins the marker and expected-output conventions.
func TestReadmeParse(t *testing.T) {
	md := "intro\n<!-- readme-test: skip needs Docker -->\n```sh\ndocker up\n```\n\n" +
		"<!-- readme-test: background is up -->\n\n```sh\n./creditx serve\n```\n" +
		"```\nnot shell\n```\n" +
		"<!-- readme-test: ctrl-c -->\n```sh\n./creditx verify   # comment\n#   OK, ... entries\n```\n"
	bs, err := parseReadme(md)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 3 || bs[0].skip != "needs Docker" || bs[1].background != "is up" || !bs[2].ctrlC {
		t.Fatalf("parsed %+v", bs)
	}
	if len(bs[2].expect) != 1 || bs[2].expect[0] != "OK, ... entries" {
		t.Fatalf("expected lines %q", bs[2].expect)
	}
	if _, ok := matchExpected("x: OK, 20 entries verified\n", bs[2].expect); !ok {
		t.Error("wildcard did not match")
	}
	if _, ok := matchExpected("x: OK, 20 verified\n", bs[2].expect); ok {
		t.Error("matched a line missing a part")
	}
	if _, ok := matchExpected("b\na\n", []string{"a", "b"}); ok {
		t.Error("matched out of order")
	}
	if _, err := parseReadme("<!-- readme-test: skip -->\n```sh\nx\n```\n"); err == nil {
		t.Error("skip without a reason accepted")
	}
	if _, err := parseReadme("<!-- readme-test: skp x -->\n```sh\nx\n```\n"); err == nil {
		t.Error("unknown marker accepted")
	}
}
