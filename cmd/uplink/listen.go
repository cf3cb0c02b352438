package main

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"

	"github.com/uplink-video/uplink/web/framing"
)

// serveHTTP serves srv on ln until srv stops, over TLS when srv.TLSConfig
// is set, with every connection guarded against request smuggling (package
// framing): a request with both Content-Length and Transfer-Encoding is
// answered 400 with "Connection: close", and nothing after it is read.
//
// The guard has to sit between TLS and net/http, because it reads the
// plaintext request heads; so TLS is set up here, as srv.ServeTLS would
// do it (HTTP/2 first, then HTTP/1.1, by ALPN), and the listener handed to
// srv.Serve is already a TLS one.
func serveHTTP(srv *http.Server, ln net.Listener, log *slog.Logger) error {
	if srv.TLSConfig != nil {
		cfg := srv.TLSConfig.Clone()
		if len(cfg.NextProtos) == 0 {
			cfg.NextProtos = []string{"h2", "http/1.1"}
		}
		// srv.Serve sets up HTTP/2 only when its TLS config offers "h2".
		srv.TLSConfig = cfg
		ln = tls.NewListener(ln, cfg)
	}
	return srv.Serve(framing.Listener(ln, srv.MaxHeaderBytes, log))
}
