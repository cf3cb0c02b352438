package links

import (
	"context"
	"net"
	"strings"
	"testing"
)

// The client's errors never quote the upload token or the API key: a
// failed request's URL would show ?token= or /upload-tokens/{token}, and
// the errors reach the logs.
func TestUpstreamErrorsHideTheToken(t *testing.T) {
	// A port that was just free: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := newAPIClient("http://"+addr, "key-that-must-not-show", newTransport())
	if err != nil {
		t.Fatal(err)
	}
	const token = "toSECRETSECRETSECRET123"
	ctx := context.Background()
	for _, tt := range []struct {
		description string
		err         error
	}{
		{"DeleteToken", c.DeleteToken(ctx, token)},
		{"UploadPart", func() error {
			_, err := c.UploadPart(ctx, apiPart{Token: token, VideoID: "vi1", Filename: "a.mp4", Number: 1, Total: 1, Size: 1, Body: strings.NewReader("x")})
			return err
		}()},
	} {
		if tt.err == nil {
			t.Fatalf("%s: no error from a host that is not there", tt.description)
		}
		if msg := tt.err.Error(); strings.Contains(msg, token) || strings.Contains(msg, "key-that-must-not-show") {
			t.Errorf("%s: the error quotes a secret: %s", tt.description, msg)
		}
	}
}
