package e2e_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/rs/zerolog"
)

// The bad networks of the tests: toxiproxy, run in this process, between a
// client (Chromium, or a Go client) and uplink, on loopback. toxiproxy
// moves TCP bytes and knows nothing of HTTP, as a phone's radio link or a
// hotel's wifi does not. Its own toxics (latency, bandwidth, limit_data)
// make the faults; two toxics of ours, registered below, count what the
// client sends and hold the bytes back for a stall.

// toxicNet is a toxiproxy proxy in front of an upstream address.
type toxicNet struct {
	// URL is the proxy's address as an http:// base URL.
	URL   string
	proxy *toxiproxy.Proxy
	wire  *wire
	gate  *gate
}

// newNetwork starts a proxy on a free loopback port in front of upstream
// (host:port). Every connection through it has its client-to-server bytes
// counted (see sent). The proxy stops with the test.
func newNetwork(t *testing.T, upstream string) *toxicNet {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	n := &toxicNet{
		proxy: toxiproxy.NewProxy(srv, "uplink", "127.0.0.1:0", upstream),
		wire:  &wire{},
		gate:  newGate(),
	}
	if err := n.proxy.Start(); err != nil {
		t.Fatalf("start toxiproxy in front of %s: %v", upstream, err)
	}
	t.Cleanup(n.proxy.Stop)
	t.Cleanup(n.gate.open) // Before the stop: a test that failed mid-stall.
	n.URL = "http://" + n.proxy.Listen
	// The counter comes first in the chain, so that it sees the bytes as
	// they leave the client, before any fault drops or delays them.
	n.add(t, "count", "upstream", countType, map[string]string{"id": register(n.wire)})
	return n
}

// add puts a toxic at the end of the chain of one direction ("upstream"
// is client to server), on the open connections and on every new one.
func (n *toxicNet) add(t *testing.T, name, stream, typ string, attrs any) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"name": name, "type": typ, "stream": stream, "toxicity": 1, "attributes": attrs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.proxy.Toxics.AddToxicJson(strings.NewReader(string(body))); err != nil {
		t.Fatalf("add the %s toxic %s: %v", typ, name, err)
	}
}

// remove takes a toxic away; bytes it held go on.
func (n *toxicNet) remove(t *testing.T, name string) {
	t.Helper()
	if err := n.proxy.Toxics.RemoveToxic(context.Background(), name); err != nil {
		t.Fatalf("remove the toxic %s: %v", name, err)
	}
}

// stallAt stops every byte in both directions, on the open connections
// and on new ones, without closing anything, from the moment the client
// has sent at bytes in all (see sent), until recover is called; began is
// closed when the stall begins. The client's socket buffers fill and its
// upload progress stops, as when a phone's link goes dead without a
// reset. The counting toxic starts the stall at the byte, not the test's
// polling, so that it lands where it is meant to.
func (n *toxicNet) stallAt(t *testing.T, at int64) (began <-chan struct{}, recover func()) {
	t.Helper()
	id := register(n.gate)
	n.add(t, "stall-up", "upstream", holdType, map[string]string{"id": id})
	n.add(t, "stall-down", "downstream", holdType, map[string]string{"id": id})
	ch := make(chan struct{})
	var once sync.Once
	n.wire.trigger.Store(&trigger{at: at, fire: func() {
		once.Do(func() {
			n.gate.close()
			close(ch)
		})
	}})
	return ch, n.gate.open
}

// down stops the proxy: its open connections are closed and new ones are
// refused, as when the network is gone.
func (n *toxicNet) down() { n.proxy.Stop() }

// up starts the proxy again on the same address.
func (n *toxicNet) up(t *testing.T) {
	t.Helper()
	if err := n.proxy.Start(); err != nil {
		t.Fatalf("restart toxiproxy on %s: %v", n.proxy.Listen, err)
	}
}

// sent is how many bytes the client has sent so far, on all connections.
func (n *toxicNet) sent() int64 { return n.wire.total.Load() }

// connsOver counts the connections on which the client sent at least
// limit bytes: with a limit_data toxic of limit bytes, the connections it
// cut.
func (n *toxicNet) connsOver(limit int64) int {
	n.wire.mu.Lock()
	defer n.wire.mu.Unlock()
	cut := 0
	for _, c := range n.wire.conns {
		if c.Load() >= limit {
			cut++
		}
	}
	return cut
}

// ---- the toxics of the tests

// toxiproxy builds each toxic from its registered type and its JSON
// attributes, so a toxic finds its counter or gate by an id in them.
var registry sync.Map // id (string) -> *wire or *gate

var lastID atomic.Int64

func register(v any) string {
	id := "t" + strconv.FormatInt(lastID.Add(1), 10)
	registry.Store(id, v)
	return id
}

const (
	countType = "uplink_test_count"
	holdType  = "uplink_test_hold"
)

func init() {
	toxics.Register(countType, new(countToxic))
	toxics.Register(holdType, new(holdToxic))
}

// wire counts the bytes of a proxy's connections in one direction.
type wire struct {
	total atomic.Int64
	// trigger, when set, fires once the total reaches its mark.
	trigger atomic.Pointer[trigger]
	mu      sync.Mutex
	conns   []*atomic.Int64
}

// trigger is something to do once a wire has carried at bytes.
type trigger struct {
	at   int64
	fire func()
}

func (w *wire) conn() *atomic.Int64 {
	c := new(atomic.Int64)
	w.mu.Lock()
	w.conns = append(w.conns, c)
	w.mu.Unlock()
	return c
}

// countToxic passes every byte on unchanged and counts it, in all and per
// connection.
type countToxic struct {
	ID string `json:"id"`
}

// countState is a connection's counter; toxiproxy keeps one per
// connection (toxics.StatefulToxic).
type countState struct{ n *atomic.Int64 }

func (c *countToxic) NewState() any { return &countState{} }

func (c *countToxic) Pipe(stub *toxics.ToxicStub) {
	v, _ := registry.Load(c.ID)
	w := v.(*wire)
	st := stub.State.(*countState)
	if st.n == nil {
		st.n = w.conn()
	}
	for {
		select {
		case <-stub.Interrupt:
			return
		case chunk := <-stub.Input:
			if chunk == nil {
				stub.Close()
				return
			}
			total := w.total.Add(int64(len(chunk.Data)))
			st.n.Add(int64(len(chunk.Data)))
			if tr := w.trigger.Load(); tr != nil && total >= tr.at {
				tr.fire()
			}
			if !pass(stub, chunk) {
				return
			}
		}
	}
}

// pass hands a chunk on, and reports false if the toxic was interrupted
// meanwhile (toxiproxy is adding or removing a toxic after it). It must
// listen for that: when the server has closed its side, nothing reads
// the chunk, and an interrupt that never lands would hang toxiproxy. An
// interrupted toxic still hands the chunk on, within 5 s, as toxiproxy's
// own toxics do; after that the connection is dead and the chunk with it.
func pass(stub *toxics.ToxicStub, chunk *stream.StreamChunk) bool {
	select {
	case stub.Output <- chunk:
		return true
	case <-stub.Interrupt:
		_ = stub.WriteOutput(chunk, 5*time.Second)
		return false
	}
}

// gate is open or closed; holdToxic waits while it is closed.
type gate struct {
	mu     sync.Mutex
	opened chan struct{}
}

func newGate() *gate {
	g := &gate{opened: make(chan struct{})}
	close(g.opened)
	return g
}

func (g *gate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.opened:
		g.opened = make(chan struct{})
	default:
	}
}

func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.opened:
	default:
		close(g.opened)
	}
}

func (g *gate) wait() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.opened
}

// holdToxic passes each chunk on once its gate is open, and holds it while
// the gate is closed, reading nothing more: the bytes back up into the
// socket buffers and none is lost, unlike with toxiproxy's timeout toxic,
// which drops what it holds and so corrupts a connection that recovers.
type holdToxic struct {
	ID string `json:"id"`
}

func (h *holdToxic) Pipe(stub *toxics.ToxicStub) {
	v, _ := registry.Load(h.ID)
	g := v.(*gate)
	for {
		select {
		case <-stub.Interrupt:
			return
		case chunk := <-stub.Input:
			if chunk == nil {
				stub.Close()
				return
			}
			select {
			case <-g.wait():
			case <-stub.Interrupt:
				// Toxics change only before a stall, never during one.
				_ = stub.WriteOutput(chunk, 5*time.Second)
				return
			}
			if !pass(stub, chunk) {
				return
			}
		}
	}
}
