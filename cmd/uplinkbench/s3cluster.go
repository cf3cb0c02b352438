package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// cluster is the uplink instances of one upload, all with their bytes in
// the same bucket prefix: one instance, reached directly, or several
// (which need a shared PostgreSQL database) behind a round-robin proxy.
type cluster struct {
	URL   string // Where clients send requests: the one instance or the proxy.
	insts []*server
	addrs []string // Each instance's listening address, to restart it on.
	args  []string // The flags of every instance but --addr and --data.
	env   []string // Their storage settings.
	proxy *rrProxy
	srv   *http.Server // The proxy's server.
}

// startCluster starts n instances of uplink serve storing their bytes in
// the bucket under prefix; for n > 1, behind a round-robin proxy on a
// free loopback port, and on the PostgreSQL database s.database.
func (s *s3bench) startCluster(ctx context.Context, n int, prefix string) (*cluster, error) {
	c := &cluster{
		args: []string{"--blobs", "s3://" + s.target.Bucket + "/" + prefix, "--s3-path-style"},
		env: []string{"AWS_ENDPOINT_URL=" + s.target.Endpoint, "AWS_REGION=" + s.target.Region,
			"AWS_ACCESS_KEY_ID=" + s.target.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s.target.SecretKey},
	}
	if n > 1 {
		c.args = append(c.args, "--database", s.database)
	}
	for range n {
		inst, err := startUplink(ctx, s.bin, "127.0.0.1:0", s.dataDir(), s.apiKey, c.env, c.args...)
		if err != nil {
			c.stop()
			return nil, err
		}
		c.insts = append(c.insts, inst)
		c.addrs = append(c.addrs, strings.TrimPrefix(inst.URL, "http://"))
	}
	if n == 1 {
		c.URL = c.insts[0].URL
		return c, nil
	}
	var targets []*url.URL
	for _, inst := range c.insts {
		u, err := url.Parse(inst.URL)
		if err != nil {
			c.stop()
			return nil, err
		}
		targets = append(targets, u)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.stop()
		return nil, err
	}
	c.proxy = newRRProxy(targets)
	c.srv = &http.Server{Handler: c.proxy}
	go c.srv.Serve(l)
	c.URL = "http://" + l.Addr().String()
	return c, nil
}

// restart starts instance i again, on the address it had, after a kill.
func (c *cluster) restart(ctx context.Context, s *s3bench, i int) error {
	inst, err := startUplink(ctx, s.bin, c.addrs[i], c.insts[i].Data, s.apiKey, c.env, c.args...)
	if err != nil {
		return err
	}
	c.insts[i] = inst
	return nil
}

// stop stops the proxy and every instance that is running.
func (c *cluster) stop() {
	if c.srv != nil {
		c.srv.Close()
	}
	var wg sync.WaitGroup
	for _, inst := range c.insts {
		if inst.cmd.ProcessState == nil {
			wg.Go(inst.Stop)
		}
	}
	wg.Wait()
}

// rrProxy is a reverse proxy that sends each request to the next of its
// backends in turn, as a load balancer with no affinity does: the parts
// of one upload land on every instance. A backend that refuses a
// connection is marked down and skipped from then on, as a balancer's
// health check would after a crash; the request that found it down gets
// a 502, and the client retries it.
type rrProxy struct {
	targets []*url.URL
	down    []atomic.Bool
	next    atomic.Uint64
	// last is the index of the backend that took the latest request.
	last atomic.Int64
	rp   *httputil.ReverseProxy
}

type backendKey struct{}

func newRRProxy(targets []*url.URL) *rrProxy {
	p := &rrProxy{targets: targets, down: make([]atomic.Bool, len(targets))}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			i := r.In.Context().Value(backendKey{}).(int)
			r.SetURL(p.targets[i])
			r.Out.Host = r.In.Host
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if isDialError(err) {
				p.down[r.Context().Value(backendKey{}).(int)].Store(true)
			}
			http.Error(w, fmt.Sprintf("proxy: %v", err), http.StatusBadGateway)
		},
	}
	return p
}

// isDialError reports whether err is a failure to connect: the backend
// is not listening.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func (p *rrProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := -1
	for range len(p.targets) {
		j := int(p.next.Add(1)-1) % len(p.targets)
		if !p.down[j].Load() {
			i = j
			break
		}
	}
	if i < 0 {
		http.Error(w, "proxy: every backend is down", http.StatusBadGateway)
		return
	}
	p.last.Store(int64(i))
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), backendKey{}, i)))
}
