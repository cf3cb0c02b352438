package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testKey is an API key given in UPLINK_API_KEY.
const testKey = "test-key-0123456789abcdef"

// TestServeFirstStart runs the binary twice on one data directory: the
// first start explains what to do next, the second does not, and SIGTERM
// stops it cleanly both times.
func TestServeFirstStart(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	client := &http.Client{}

	srv := startServer(t, client, nil, "--addr", "127.0.0.1:0", "--data", data)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Errorf("listening on %q, want http://127.0.0.1:<port>", srv.URL)
	}
	out := srv.stdout.String()
	for _, want := range []string{
		"This is a new data directory",
		"uplink apikey create --name my-script --data " + data,
		srv.URL + "/upload-tokens",
		"Sign in at " + srv.URL + "/admin as admin@uplink.local with the password",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("first start: stdout has no %q:\n%s", want, out)
		}
	}
	if got, want := srv.stop(t), 0; got != want {
		t.Errorf("exit code after SIGTERM=%d, want=%d; stderr:\n%s", got, want, srv.stderr)
	}
	if _, err := os.Stat(filepath.Join(data, "uplink.db")); err != nil {
		t.Errorf("no database after the first start: %v", err)
	}

	srv = startServer(t, client, nil, "--addr", "127.0.0.1:0", "--data", data)
	if out := srv.stdout.String(); strings.Contains(out, "new data directory") || strings.Contains(out, "Sign in at") {
		t.Errorf("second start: stdout still calls the data directory new or shows a password:\n%s", out)
	}
	if got, want := srv.stop(t), 0; got != want {
		t.Errorf("exit code after SIGTERM=%d, want=%d; stderr:\n%s", got, want, srv.stderr)
	}
}

// TestServeUpload runs the binary with UPLINK_API_KEY, uploads a real
// video in one request and reads it back byte for byte.
func TestServeUpload(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	client := &http.Client{}
	srv := startServer(t, client, []string{"UPLINK_API_KEY=" + testKey}, "--addr", "127.0.0.1:0", "--data", data)
	if out := srv.stdout.String(); !strings.Contains(out, "The API key from UPLINK_API_KEY is accepted") {
		t.Errorf("first start with UPLINK_API_KEY: stdout does not say the key is accepted:\n%s", out)
	}
	if strings.Contains(srv.stdout.String()+srv.stderr.String(), testKey) {
		t.Error("uplink printed the key from UPLINK_API_KEY")
	}

	for _, tt := range []struct {
		description string
		auth        string
		want        int
	}{
		{"no credentials", "", http.StatusUnauthorized},
		{"another key", basicAuth("not-" + testKey), http.StatusUnauthorized},
		{"UPLINK_API_KEY", basicAuth(testKey), http.StatusOK},
	} {
		if got, _ := do(t, client, "GET", srv.URL+"/upload-tokens", tt.auth, nil); got != tt.want {
			t.Errorf("%s: GET /upload-tokens: status=%d, want=%d", tt.description, got, tt.want)
		}
	}

	file := filepath.Join("testdata", "vp9-opus.webm")
	id := uploadWhole(t, client, srv.URL, basicAuth(testKey), file)
	if got, want := sha256Source(t, client, srv.URL, basicAuth(testKey), id), sha256File(t, file); got != want {
		t.Errorf("GET /videos/%s/source: sha256=%s, want=%s", id, got, want)
	}

	if got, want := srv.stop(t), 0; got != want {
		t.Errorf("exit code after SIGTERM=%d, want=%d; stderr:\n%s", got, want, srv.stderr)
	}

	// The video survives a restart.
	srv = startServer(t, client, []string{"UPLINK_API_KEY=" + testKey}, "--addr", "127.0.0.1:0", "--data", data)
	if got, want := sha256Source(t, client, srv.URL, basicAuth(testKey), id), sha256File(t, file); got != want {
		t.Errorf("after a restart: GET /videos/%s/source: sha256=%s, want=%s", id, got, want)
	}
}

// TestServeTLS starts the binary with a self-signed certificate and
// checks that a client trusting it speaks HTTP/2 with it.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	pool, certFile, keyFile := selfSigned(t, dir)
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}}
	t.Cleanup(client.CloseIdleConnections)

	srv := startServer(t, client, []string{"UPLINK_API_KEY=" + testKey, "UPLINK_TLS_KEY=" + keyFile},
		"--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--tls-cert", certFile)
	if !strings.HasPrefix(srv.URL, "https://127.0.0.1:") {
		t.Fatalf("listening on %q, want https://127.0.0.1:<port>", srv.URL)
	}

	resp, err := client.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.Proto, "HTTP/2.0"; got != want {
		t.Errorf("GET /healthz over TLS: proto=%q, want=%q", got, want)
	}

	file := filepath.Join("testdata", "vp9-opus.webm")
	id := uploadWhole(t, client, srv.URL, basicAuth(testKey), file)
	if got, want := sha256Source(t, client, srv.URL, basicAuth(testKey), id), sha256File(t, file); got != want {
		t.Errorf("over HTTP/2: GET /videos/%s/source: sha256=%s, want=%s", id, got, want)
	}

	// A client that does not trust the certificate is refused.
	if _, err := (&http.Client{}).Get(srv.URL + "/healthz"); err == nil {
		t.Error("a client without the certificate connected")
	}

	if got, want := srv.stop(t), 0; got != want {
		t.Errorf("exit code after SIGTERM=%d, want=%d; stderr:\n%s", got, want, srv.stderr)
	}
}

// TestServeBadTLS checks that unreadable certificate files stop uplink
// before it says it is listening.
func TestServeBadTLS(t *testing.T) {
	dir := t.TempDir()
	_, certFile, _ := selfSigned(t, dir)
	for _, tt := range []struct {
		description string
		cert, key   string
	}{
		{"missing key file", certFile, filepath.Join(dir, "missing.pem")},
		{"key file is not PEM", certFile, certFile},
	} {
		t.Run(tt.description, func(t *testing.T) {
			stdout, stderr, code := runInProcess(t, nil, "serve", "--addr", "127.0.0.1:0",
				"--data", filepath.Join(t.TempDir(), "data"), "--tls-cert", tt.cert, "--tls-key", tt.key)
			if got, want := code, 1; got != want {
				t.Errorf("exit code=%d, want=%d", got, want)
			}
			if !strings.Contains(stderr, "--tls-cert") {
				t.Errorf("stderr=%q, want it to name --tls-cert", stderr)
			}
			if strings.Contains(stdout, listeningPrefix) {
				t.Errorf("stdout=%q, want no listening line", stdout)
			}
		})
	}
}

// TestServeInProcess runs serve through run, under the race detector
// when the tests have it, and stops it as SIGTERM does.
func TestServeInProcess(t *testing.T) {
	client := &http.Client{}
	url, stdout, stop := startInProcess(t, client, map[string]string{"UPLINK_API_KEY": testKey},
		"--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data"),
		"--public-url", "https://uplink.example/")
	if got, want := stdout.String(), "  API base URL for api.video SDKs: https://uplink.example\n"; !strings.Contains(got, want) {
		t.Errorf("stdout=%q, want it to contain %q", got, want)
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Errorf("listening on %q, want the address, not the public URL", url)
	}

	file := filepath.Join("testdata", "vp9-opus.webm")
	id := uploadWhole(t, client, url, basicAuth(testKey), file)
	if got, want := sha256Source(t, client, url, basicAuth(testKey), id), sha256File(t, file); got != want {
		t.Errorf("GET /videos/%s/source: sha256=%s, want=%s", id, got, want)
	}
	if got, want := stop(), 0; got != want {
		t.Errorf("exit code=%d, want=%d", got, want)
	}
}

func TestServeAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stdout, stderr, code := runInProcess(t, nil, "serve", "--addr", ln.Addr().String(),
		"--data", filepath.Join(t.TempDir(), "data"))
	if got, want := code, 1; got != want {
		t.Errorf("exit code=%d, want=%d", got, want)
	}
	if !strings.Contains(stderr, ln.Addr().String()) {
		t.Errorf("stderr=%q, want it to name %s", stderr, ln.Addr())
	}
	if strings.Contains(stdout, listeningPrefix) {
		t.Errorf("stdout=%q, want no listening line", stdout)
	}
}

// TestBinaryExitCodes checks the exit codes and streams of the built
// binary itself.
func TestBinaryExitCodes(t *testing.T) {
	for _, tt := range []struct {
		description string
		args        []string
		env         []string
		wantCode    int
		wantStdout  string
		wantStderr  string
	}{
		{"help", []string{"--help"}, nil, 0, "--tls-cert [$UPLINK_TLS_CERT]", ""},
		{"serve help", []string{"serve", "--help"}, nil, 0, "", "--tls-key [$UPLINK_TLS_KEY]"},
		{"no command", nil, nil, 2, "", "Usage:"},
		{"bad duration", []string{"serve", "--shutdown-timeout", "soon"}, nil, 1, "", "shutdown-timeout"},
		{"short UPLINK_API_KEY", []string{"serve"}, []string{"UPLINK_API_KEY=short"}, 1, "", "UPLINK_API_KEY"},
	} {
		t.Run(tt.description, func(t *testing.T) {
			stdout, stderr, code := runBinary(t, tt.env, tt.args...)
			if got, want := code, tt.wantCode; got != want {
				t.Errorf("exit code=%d, want=%d; stderr: %s", got, want, stderr)
			}
			if !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("stdout=%q, want it to contain %q", stdout, tt.wantStdout)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr=%q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and localhost
// into dir, and returns a pool that trusts it and the two file names.
func selfSigned(t *testing.T, dir string) (pool *x509.CertPool, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "uplink test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return pool, certFile, keyFile
}
