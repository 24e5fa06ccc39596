package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creditx/creditx/anchor/anchortest"

	"github.com/creditx/creditx/anchor"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
)

// fakeStub is the part of the shim's stub the chaincode uses, over a map;
// the embedded interface is nil, so any other method panics.
type fakeStub struct {
	shim.ChaincodeStubInterface
	args  [][]byte
	state map[string][]byte
	puts  int
}

func (f *fakeStub) GetArgs() [][]byte                 { return f.args }
func (f *fakeStub) GetTxID() string                   { return "tx" }
func (f *fakeStub) GetState(k string) ([]byte, error) { return f.state[k], nil }
func (f *fakeStub) PutState(k string, v []byte) error { f.state[k] = v; f.puts++; return nil }

// steps is a sequence of transactions and the answer each must get:
// status 200 and the payload, or 500 and a message containing want.
type step struct {
	name   string
	args   []string
	status int32
	want   string
}

func steps(t testing.TB) []step {
	good, fork := anchortest.NewTree(16, "good"), anchortest.NewTree(16, "fork")
	a8, a16 := good.Anchor("330000", 8), good.Anchor("330000", 16)
	return []step{
		{"latest of nothing", []string{anchor.TxLatest, "330000"}, 200, ""},
		{"first put", []string{anchor.TxPut, string(a8.Encode()), ""}, 200, "written"},
		{"extension", []string{anchor.TxPut, string(a16.Encode()), string(good.Proof(16, 8))}, 200, "written"},
		{"same again", []string{anchor.TxPut, string(a16.Encode()), ""}, 200, "unchanged"},
		{"conflicting root", []string{anchor.TxPut, string(fork.Anchor("330000", 16).Encode()), ""}, 500, "different root at the same size"},
		{"rollback", []string{anchor.TxPut, string(good.Anchor("330000", 12).Encode()), ""}, 500, "rollback refused"},
		{"get 8", []string{anchor.TxGet, "330000", "8"}, 200, string(a8.Encode())},
		{"latest", []string{anchor.TxLatest, "330000"}, 200, string(a16.Encode())},
		{"malformed", []string{anchor.TxGet, "330000", "x"}, 500, "anchor: size"},
		{"no function", nil, 500, "no transaction name"},
	}
}

func toBytes(ss []string) [][]byte {
	var out [][]byte
	for _, s := range ss {
		out = append(out, []byte(s))
	}
	return out
}

// TestChaincodeAdapter drives the shim adapter with a fake stub: the
// chaincode's answers, and no write at all for a refused transaction.
func TestChaincodeAdapter(t *testing.T) {
	cc := &chaincode{logger: slog.New(slog.DiscardHandler)}
	if r := cc.Init(&fakeStub{}); r.Status != shim.OK {
		t.Fatalf("Init: %v", r)
	}
	st := map[string][]byte{}
	for _, s := range steps(t) {
		stub := &fakeStub{args: toBytes(s.args), state: st}
		r := cc.Invoke(stub)
		if r.Status != s.status {
			t.Errorf("%s: status %d (%s), want %d", s.name, r.Status, r.Message, s.status)
			continue
		}
		if s.status == 200 && string(r.Payload) != s.want || s.status != 200 && !strings.Contains(r.Message, s.want) {
			t.Errorf("%s: payload %q message %q, want %q", s.name, r.Payload, r.Message, s.want)
		}
		if s.status != 200 && stub.puts != 0 {
			t.Errorf("%s: refused, but wrote %d keys", s.name, stub.puts)
		}
	}
}

// fakePeer speaks the peer's side of the chaincode protocol (the peer
// connects to the service, as with ccaas): REGISTER from the chaincode,
// REGISTERED and READY back, then TRANSACTIONs whose GET_STATE and
// PUT_STATE it serves from a map. Like a peer, it applies a transaction's
// writes only when the chaincode answers COMPLETED with status 200.
type fakePeer struct {
	stream grpc.BidiStreamingClient[peer.ChaincodeMessage, peer.ChaincodeMessage]
	state  map[string][]byte
	n      int
}

func dialPeer(t *testing.T, ctx context.Context, addr, ccid string) *fakePeer {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	stream, err := peer.NewChaincodeClient(conn).Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := stream.Recv()
	if err != nil {
		t.Fatalf("waiting for REGISTER: %v", err)
	}
	var id peer.ChaincodeID
	if m.Type != peer.ChaincodeMessage_REGISTER || proto.Unmarshal(m.Payload, &id) != nil || id.Name != ccid {
		t.Fatalf("first message %v %q, want REGISTER of %s", m.Type, id.Name, ccid)
	}
	for _, typ := range []peer.ChaincodeMessage_Type{peer.ChaincodeMessage_REGISTERED, peer.ChaincodeMessage_READY} {
		if err := stream.Send(&peer.ChaincodeMessage{Type: typ}); err != nil {
			t.Fatal(err)
		}
	}
	return &fakePeer{stream: stream, state: map[string][]byte{}}
}

func (p *fakePeer) transact(t *testing.T, args [][]byte) *peer.Response {
	p.n++
	txid := fmt.Sprintf("tx%d", p.n)
	in, _ := proto.Marshal(&peer.ChaincodeInput{Args: args})
	if err := p.stream.Send(&peer.ChaincodeMessage{Type: peer.ChaincodeMessage_TRANSACTION, Txid: txid, ChannelId: "creditx-anchors", Payload: in}); err != nil {
		t.Fatal(err)
	}
	writes := map[string][]byte{}
	for {
		m, err := p.stream.Recv()
		if err != nil {
			t.Fatalf("%s: %v", txid, err)
		}
		reply := &peer.ChaincodeMessage{Type: peer.ChaincodeMessage_RESPONSE, Txid: m.Txid, ChannelId: m.ChannelId}
		switch m.Type {
		case peer.ChaincodeMessage_GET_STATE:
			var g peer.GetState
			proto.Unmarshal(m.Payload, &g)
			reply.Payload = p.state[g.Key] // committed state: no read of own writes, as on Fabric
		case peer.ChaincodeMessage_PUT_STATE:
			var ps peer.PutState
			proto.Unmarshal(m.Payload, &ps)
			writes[ps.Key] = ps.Value
		case peer.ChaincodeMessage_COMPLETED:
			var r peer.Response
			if err := proto.Unmarshal(m.Payload, &r); err != nil {
				t.Fatal(err)
			}
			if r.Status == shim.OK {
				for k, v := range writes {
					p.state[k] = v
				}
			}
			return &r
		case peer.ChaincodeMessage_ERROR:
			return &peer.Response{Status: shim.ERROR, Message: string(m.Payload)}
		default:
			t.Fatalf("%s: unexpected %v", txid, m.Type)
		}
		if err := p.stream.Send(reply); err != nil {
			t.Fatal(err)
		}
	}
}

func (p *fakePeer) runSteps(t *testing.T) {
	for _, s := range steps(t) {
		r := p.transact(t, toBytes(s.args))
		if r.Status != s.status {
			t.Errorf("%s: status %d (%s), want %d", s.name, r.Status, r.Message, s.status)
			continue
		}
		if s.status == 200 && string(r.Payload) != s.want || s.status != 200 && !strings.Contains(r.Message, s.want) {
			t.Errorf("%s: payload %q message %q, want %q", s.name, r.Payload, r.Message, s.want)
		}
	}
	if len(p.state) != 3 { // anchor/330000/8, anchor/330000/16, latest/330000
		t.Errorf("world state has %d keys, want 3: %q", len(p.state), p.state)
	}
}

// TestServe runs the real shim in process behind the service's gRPC
// server and drives it as a peer would.
func TestServe(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, lis, config{ccid: "creditx-anchor_1.0:abc"}, slog.New(slog.DiscardHandler)) }()
	p := dialPeer(t, ctx, lis.Addr().String(), "creditx-anchor_1.0:abc")
	p.runSteps(t)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop after cancel")
	}
}

func TestConfigErrors(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	for _, tc := range []struct {
		env  func(string) string
		want string
	}{
		{env(), "CHAINCODE_ID is required"},
		{env("CHAINCODE_ID", "x:1"), "CHAINCODE_SERVER_ADDRESS is required"},
		{env("CHAINCODE_ID", "x:1", "CHAINCODE_SERVER_ADDRESS", ":0"), "CHAINCODE_TLS_CERT and CHAINCODE_TLS_KEY are required"},
		{env("CHAINCODE_ID", "x:1", "CHAINCODE_SERVER_ADDRESS", ":0", "CHAINCODE_TLS_CERT", "/nonexistent", "CHAINCODE_TLS_KEY", "/nonexistent"), "CHAINCODE_TLS_CERT/CHAINCODE_TLS_KEY"},
	} {
		if _, err := loadConfig(tc.env); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("loadConfig: %v, want %q", err, tc.want)
		}
	}
	if c, err := loadConfig(env("CHAINCODE_ID", "x:1", "CHAINCODE_SERVER_ADDRESS", ":0", "CHAINCODE_TLS_DISABLED", "true")); err != nil || c.tls != nil {
		t.Errorf("TLS disabled: %+v %v", c, err)
	}
}

// TestProcess starts the real binary, transacts through it as a peer, and
// stops it with SIGINT: it must exit 0.
func TestProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "creditx-anchorcc")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "CHAINCODE_ID=creditx-anchor_1.0:def", "CHAINCODE_SERVER_ADDRESS=127.0.0.1:0", "CHAINCODE_TLS_DISABLED=true")
	stderr, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stderr)
	addrRe := regexp.MustCompile(`addr=(\S+)`)
	var addr string
	for addr == "" && lines.Scan() {
		if m := addrRe.FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatal("the service never said where it listens")
	}
	go io.Copy(io.Discard, stderr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dialPeer(t, ctx, addr, "creditx-anchor_1.0:def").runSteps(t)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("exit after SIGINT: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit within 20s of SIGINT")
	}
}
