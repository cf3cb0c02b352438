package e2e_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// gateway is an HTTP reverse proxy in front of uplink that answers chosen
// parts, once each, with a 502 page in HTML, as captive portals and load
// balancers do: a fault toxiproxy cannot make, since it knows no HTTP.
type gateway struct {
	addr string // host:port

	mu   sync.Mutex
	plan map[int]gatewayFault // by part number; deleted once used
	used int
}

// gatewayFault is how the gateway spoils a part's answer.
type gatewayFault int

const (
	// dropPart reads the part's body and answers 502 without passing the
	// part on: uplink never sees it.
	dropPart gatewayFault = iota + 1
	// loseAnswer passes the part on, and answers 502 in place of uplink's
	// answer: uplink holds the part, the browser does not know it.
	loseAnswer
)

// loseAnswerKey marks, in its context, a request whose answer the gateway
// replaces.
type loseAnswerKey struct{}

// badGatewayPage is the kind of page a load balancer answers with.
const badGatewayPage = `<html><head><title>502 Bad Gateway</title></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>
`

// newGateway serves the gateway on a loopback port, in front of target
// (an http:// URL), until the test ends.
func newGateway(t *testing.T, target string, faults map[int]gatewayFault) *gateway {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	g := &gateway{plan: faults}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = r.In.Host // uplink checks Origin against Host.
		},
		ModifyResponse: func(res *http.Response) error {
			if res.Request.Context().Value(loseAnswerKey{}) == nil {
				return nil
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			res.StatusCode = http.StatusBadGateway
			res.Status = "502 Bad Gateway"
			res.Header = http.Header{"Content-Type": {"text/html"}}
			res.Body = io.NopCloser(strings.NewReader(badGatewayPage))
			res.ContentLength = int64(len(badGatewayPage))
			return nil
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch g.take(r) {
		case dropPart:
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, badGatewayPage)
		case loseAnswer:
			rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), loseAnswerKey{}, true)))
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	g.addr = strings.TrimPrefix(srv.URL, "http://")
	return g
}

// take returns the fault to make on r, if any, and forgets it.
func (g *gateway) take(r *http.Request) gatewayFault {
	m := partPath.FindStringSubmatch(r.URL.Path)
	if m == nil || r.Method != http.MethodPut {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.plan[n]
	if f != 0 {
		delete(g.plan, n)
		g.used++
	}
	return f
}

// faults counts the 502 pages answered so far.
func (g *gateway) faults() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.used
}
