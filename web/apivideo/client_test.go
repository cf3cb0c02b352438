package apivideo_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/uplink-video/uplink/web/apivideo"
)

// TestErrorsHideTheToken: the errors of failed requests are logged, so
// they must not quote an upload token, which a *url.Error would (it holds
// the whole URL, query included).
func TestErrorsHideTheToken(t *testing.T) {
	// A port that was just free: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := apivideo.New("http://"+addr, "key-that-must-not-show", apivideo.NewTransport())
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
			_, err := c.UploadPart(ctx, apivideo.Part{Token: token, VideoID: "vi1", Filename: "a.mp4", Number: 1, Total: 1, Size: 1, Body: strings.NewReader("x")})
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
